// Build step: records the server's answers to the opening of a stdio connection into
// dist/opening/<variant>.json, from which dist/cli.js answers it before loading the
// server (src/transports/stdio-opening.ts). Runs after tsc, on its output.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { recordOpening } from "../dist/transports/stdio-opening-record.js";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const directory = new URL("../dist/opening/", import.meta.url);
rmSync(directory, { recursive: true, force: true });
mkdirSync(directory, { recursive: true });
for (const [variant, recorded] of Object.entries(await recordOpening(version))) {
  const temporary = new URL(`${variant}.json.tmp`, directory);
  writeFileSync(temporary, JSON.stringify(recorded));
  renameSync(temporary, new URL(`${variant}.json`, directory));
}
