// The README's install routes, run as a user would from this checkout (run by .ci/run
// after `npm test`; needs the npm registry only to fetch the pinned Claude Code CLI):
//
// 1. tarball: `npm pack` (prepack builds dist/ if the sources changed), `npm install -g`
//    of the .tgz into a temporary prefix with --offline (the package has no runtime
//    dependencies), then `proxmox-mcp doctor` and an MCP tools/list + get_version over
//    stdio, then `claude mcp add proxmox -- proxmox-mcp` and `claude mcp list` -> Connected;
// 2. plugin: `claude plugin validate --strict` of the marketplace and of the plugin,
//    `claude plugin marketplace add <checkout>`, `claude plugin install`, and
//    `claude mcp list` -> the plugin's server Connected; and, as a control, not connected
//    without PROXMOX_* in the environment (the plugin carries no configuration).
//
// The server talks to a simulator started for the check, configured through PROXMOX_*
// exactly as a real cluster would be (its read-only auditor token). Every Claude Code
// run gets a fresh HOME, CLAUDE_CONFIG_DIR, XDG_* and TMPDIR under one temporary
// directory, removed at the end: the real ~/.claude is never read or written.
//
// Claude Code 2.1.332 is pinned; it declares node >=22 (npm warns EBADENGINE on Node 20)
// but is a native binary, which runs whatever Node is installed. Prints PASS/FAIL per
// step and exits 1 on any failure.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { run, simulatorEnv, startSimulator, tempDir } from "./lib/http-server.mjs";

export const CLAUDE_CODE = "@anthropic-ai/claude-code@2.1.332";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const MARKETPLACE = JSON.parse(readFileSync(join(ROOT, ".claude-plugin/marketplace.json"), "utf8"));
const PLUGIN = MARKETPLACE.plugins[0];

let failures = 0;
function report(ok, what, detail = "") {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failures += 1;
  return ok;
}

const shown = (r) =>
  `exit ${r.timedOut ? "timeout" : (r.signal ?? r.code)}\n${r.stdout.trim()}\n${r.stderr.trim()}`.trim();

/** A fresh home for one Claude Code route: everything Claude Code writes goes below it. */
function makeHome(base, name) {
  const home = join(base, name);
  const project = join(home, "project");
  for (const dir of ["tmp", "project"]) mkdirSync(join(home, dir), { recursive: true });
  return { home, project };
}

/** Only what the route needs: no variable of the machine (a real PROXMOX_* or Claude setting) leaks in. */
function isolatedEnv(home, binDir, extra = {}) {
  return {
    PATH: [binDir, dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, ".claude"),
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_CACHE_HOME: join(home, ".cache"),
    XDG_DATA_HOME: join(home, ".local/share"),
    XDG_STATE_HOME: join(home, ".local/state"),
    TMPDIR: join(home, "tmp"),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    ...extra,
  };
}

/** The `claude mcp list` line of server `name`, and whether it says Connected. */
function listed(stdout, name) {
  const line = stdout.split("\n").find((l) => l.startsWith(`${name}: `));
  return { line: line ?? `(no line for ${name})`, connected: line !== undefined && /✔ Connected/.test(line) };
}

async function packAndInstall(dir) {
  const pack = await run("npm", ["pack", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    timeoutMs: 300_000,
  });
  if (!report(pack.code === 0, "npm pack", pack.code === 0 ? "" : shown(pack))) return undefined;
  const [packed] = JSON.parse(pack.stdout);
  const paths = packed.files.map((f) => f.path);
  const unwanted = paths.filter((p) => /\.map$|^(src|tests|scripts|bench|plugins)\/|\.build-stamp$/.test(p));
  const licenses = paths.filter((p) => p.endsWith(".LEGAL.txt"));
  report(
    paths.includes("dist/cli.js") && unwanted.length === 0 && licenses.length > 0,
    "tarball contents",
    `${packed.filename}: ${paths.length} files, ${Math.round(packed.size / 1024)} kB, ` +
      `${licenses.length} bundled-license files, ${unwanted.length ? `UNWANTED ${unwanted.join(", ")}` : "no source maps, sources or tests"}`,
  );

  const prefix = join(dir, "prefix");
  const install = await run(
    "npm",
    ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", join(dir, packed.filename)],
    { cwd: dir, timeoutMs: 300_000 },
  );
  const bin = join(prefix, "bin", "proxmox-mcp");
  const installed = install.code === 0 && existsSync(bin);
  report(installed, "npm install -g --offline <tgz>", installed ? bin : shown(install));
  return installed ? join(prefix, "bin") : undefined;
}

/** The installed server over stdio, as an MCP client: tools/list, then get_version answered by the simulator. */
async function checkStdio(binDir, env) {
  const client = new Client({ name: "install-check", version: "1" });
  const transport = new StdioClientTransport({
    command: join(binDir, "proxmox-mcp"),
    env,
    cwd: env.HOME,
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk) => (stderr += chunk.toString("utf8")));
  try {
    await client.connect(transport);
    const names = (await client.listTools()).tools.map((t) => t.name);
    const version = await client.callTool({ name: "get_version", arguments: {} });
    const text = version.content?.[0]?.text ?? "";
    report(
      names.includes("security_audit") && version.isError !== true && /Proxmox VE/.test(text),
      "proxmox-mcp over stdio",
      `${names.length} tools; get_version: ${text.split("\n")[0]}`,
    );
  } catch (err) {
    report(false, "proxmox-mcp over stdio", `${err instanceof Error ? err.message : String(err)}\n${stderr}`);
  } finally {
    await client.close();
  }
}

async function main() {
  const { dir, remove } = tempDir("proxmox-mcp-install-");
  let simulator;
  try {
    const binDir = await packAndInstall(dir);
    if (!binDir) return;

    simulator = await startSimulator();
    const cluster = simulatorEnv(simulator.info);
    console.log(`simulator: ${simulator.info.url} (pid ${simulator.pid})`);

    const tarball = makeHome(dir, "tarball");
    const tarballEnv = isolatedEnv(tarball.home, binDir, cluster);
    const doctor = await run("proxmox-mcp", ["doctor"], { env: tarballEnv, cwd: tarball.project });
    report(doctor.code === 0, "proxmox-mcp doctor", doctor.code === 0 ? "exit 0" : shown(doctor));
    await checkStdio(binDir, tarballEnv);

    // Fetched with the machine's own npm settings and cache, then run directly.
    const fetched = await run("npx", ["-y", "-p", CLAUDE_CODE, "-c", "command -v claude"], {
      timeoutMs: 600_000,
    });
    const claude = fetched.stdout.trim().split("\n").pop();
    if (!report(fetched.code === 0 && existsSync(claude), `fetch ${CLAUDE_CODE}`, claude || shown(fetched)))
      return;
    const version = await run(claude, ["--version"], { env: tarballEnv });
    console.log(`claude: ${version.stdout.trim()}`);

    const claudeIn = (route, env, args) => run(claude, args, { env, cwd: route.project, timeoutMs: 120_000 });

    // Route 1: the tarball's proxmox-mcp on PATH, the token in the environment.
    const add = await claudeIn(tarball, tarballEnv, ["mcp", "add", "proxmox", "--", "proxmox-mcp"]);
    report(add.code === 0, "claude mcp add proxmox -- proxmox-mcp", add.code === 0 ? "" : shown(add));
    const tarballList = await claudeIn(tarball, tarballEnv, ["mcp", "list"]);
    const server = listed(tarballList.stdout, "proxmox");
    report(
      server.connected,
      "tarball route: claude mcp list",
      server.connected ? server.line : shown(tarballList),
    );

    // Route 2: the plugin of this checkout's marketplace.
    const plugin = makeHome(dir, "plugin");
    const pluginEnv = isolatedEnv(plugin.home, binDir, cluster);
    for (const target of [ROOT, join(ROOT, PLUGIN.source)]) {
      const validate = await claudeIn(plugin, pluginEnv, ["plugin", "validate", "--strict", target]);
      const verdict =
        /✔ Validation passed.*|✘ Validation failed.*/.exec(validate.stdout)?.[0] ?? "no verdict";
      report(
        validate.code === 0,
        `claude plugin validate --strict ${target}`,
        validate.code === 0 ? verdict : shown(validate),
      );
    }
    const id = `${PLUGIN.name}@${MARKETPLACE.name}`;
    for (const args of [
      ["plugin", "marketplace", "add", ROOT],
      ["plugin", "install", id],
    ]) {
      const step = await claudeIn(plugin, pluginEnv, args);
      report(step.code === 0, `claude ${args.join(" ")}`, step.code === 0 ? "" : shown(step));
    }
    const pluginServer = `plugin:${PLUGIN.name}:proxmox`;
    const pluginList = await claudeIn(plugin, pluginEnv, ["mcp", "list"]);
    const fromPlugin = listed(pluginList.stdout, pluginServer);
    report(
      fromPlugin.connected,
      "plugin route: claude mcp list",
      fromPlugin.connected ? fromPlugin.line : shown(pluginList),
    );
    const bare = await claudeIn(plugin, isolatedEnv(plugin.home, binDir), ["mcp", "list"]);
    const unconfigured = listed(bare.stdout, pluginServer);
    report(
      bare.code === 0 && !unconfigured.connected && unconfigured.line.startsWith(pluginServer),
      "plugin route without PROXMOX_* in the environment is not connected",
      unconfigured.line,
    );
  } finally {
    if (simulator) await simulator.stop();
    remove();
  }
}

main()
  .catch((err) => report(false, "install check", err instanceof Error ? err.stack : String(err)))
  .finally(() => {
    console.log(failures === 0 ? "install-check: all checks passed" : `install-check: ${failures} FAILED`);
    process.exitCode = failures === 0 ? 0 : 1;
  });
