// Smoke test with the MCP Inspector CLI (run by .ci/run after `npm test`, which builds
// dist/): lists the tools and calls get_nodes on the demo cluster, over stdio
// (`node dist/cli.js --demo`) and over HTTP (`node dist/cli.js serve --http --demo`,
// with the bearer header), and checks that without the header the HTTP call is refused.
// Inspector v1 exits 0 even when a tool answers isError: true, so the JSON it prints
// is checked here. Prints PASS/FAIL per check; exits 1 on any failure.
//
// Version 1.0.3 is pinned: its --cli runs on Node 20 (it declares node >=22.7.5 and
// npm warns EBADENGINE); v2 needs Node >=22.19.
import { join } from "node:path";
import { assertBuilt, CLI, randomToken, run, startHttpServer, tempDir } from "./lib/http-server.mjs";

export const INSPECTOR = "@modelcontextprotocol/inspector@1.0.3";

let failures = 0;
function report(ok, what, detail = "") {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failures += 1;
}

/** `npx inspector --cli <target...> <options...>`: the parsed JSON result, or an error string. */
async function inspect(target, options, env) {
  const r = await run("npx", ["-y", INSPECTOR, "--cli", ...target, ...options], { env, timeoutMs: 180_000 });
  const shown = () => `exit ${r.timedOut ? "timeout" : (r.signal ?? r.code)}\n${r.stdout}\n${r.stderr}`;
  if (r.code !== 0) return { error: shown(), run: r };
  try {
    return { result: JSON.parse(r.stdout), run: r };
  } catch {
    return { error: `stdout is not JSON: ${shown()}`, run: r };
  }
}

/** tools/list must include get_nodes; tools/call get_nodes must not be isError and must list nodes. */
async function check(label, target, extra, env) {
  const list = await inspect(target, [...extra, "--method", "tools/list"], env);
  if (list.error) {
    report(false, `${label} tools/list`, list.error);
  } else {
    const names = Array.isArray(list.result.tools) ? list.result.tools.map((t) => t.name) : [];
    report(
      names.includes("get_nodes"),
      `${label} tools/list`,
      `${names.length} tools, get_nodes ${names.includes("get_nodes") ? "listed" : `MISSING (${JSON.stringify(list.result).slice(0, 2000)})`}`,
    );
  }
  const call = await inspect(target, [...extra, "--method", "tools/call", "--tool-name", "get_nodes"], env);
  if (call.error) {
    report(false, `${label} tools/call get_nodes`, call.error);
    return;
  }
  const result = call.result;
  const nodes = result.structuredContent?.nodes;
  const text = Array.isArray(result.content)
    ? result.content.find((c) => c.type === "text")?.text
    : undefined;
  const ok = result.isError !== true && Array.isArray(nodes) && nodes.length > 0 && typeof text === "string";
  report(
    ok,
    `${label} tools/call get_nodes`,
    ok
      ? `isError absent, ${nodes.length} nodes (${nodes.map((n) => n.node).join(", ")})`
      : `unexpected result ${JSON.stringify(result).slice(0, 2000)}`,
  );
}

async function main() {
  assertBuilt();
  const { dir, remove } = tempDir("proxmox-mcp-inspector-");
  // The Inspector passes PATH, HOME... to the stdio server; -e adds the rest. npx itself
  // runs with our environment (its cache, the registry settings).
  const stdioEnv = ["-e", `HOME=${dir}`, "-e", `PROXMOX_AUDIT_LOG=${join(dir, "audit.jsonl")}`];
  let server;
  try {
    // Fetch the package once, so a slow download does not count against a check.
    const warm = await run("npx", ["-y", INSPECTOR, "--help"], { timeoutMs: 300_000 });
    if (warm.code !== 0) throw new Error(`npx ${INSPECTOR} failed:\n${warm.stdout}\n${warm.stderr}`);

    await check("stdio", [...stdioEnv, process.execPath, CLI, "--demo"], []);

    const token = randomToken();
    server = await startHttpServer({ token, env: { MCP_HTTP_RATE_LIMIT: "100000" } });
    console.log(`server: ${server.url} (pid ${server.pid})`);
    const http = [server.url, "--transport", "http"];
    await check("http", http, ["--header", `Authorization: Bearer ${token}`]);

    // Without the header (and with a wrong token) the Inspector cannot even connect.
    for (const [label, header] of [
      ["no token", []],
      ["wrong token", ["--header", `Authorization: Bearer ${randomToken()}`]],
    ]) {
      const refused = await inspect(http, [...header, "--method", "tools/list"]);
      const said401 = /401|Unauthorized/i.test(`${refused.run.stdout}${refused.run.stderr}`);
      report(
        refused.run.code !== 0 && said401,
        `http with ${label} is refused`,
        `exit ${refused.run.code}${said401 ? ", 401" : `, no 401 in the output: ${refused.run.stdout}${refused.run.stderr}`}`,
      );
    }
  } finally {
    if (server) {
      await server.stop();
      if (failures > 0) console.log(`--- server stderr ---\n${server.stderr()}---`);
    }
    remove();
  }
  console.log(failures === 0 ? "inspector: all checks passed" : `inspector: ${failures} FAILED`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((err) => {
  console.error(`inspector: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
