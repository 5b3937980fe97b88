// Benchmark (not a test): the redactor on a 1 MB vzdump task log (as text, and as PVE's
// [{n, t}] lines the way PveReader sees it) with a few secrets planted, and on a
// /cluster/resources answer of 2,000 guests. Prints the median and worst of N runs.
// Run with `npm run build && node bench/redact.mjs` (options: --runs N).
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { redact, redactText } from "../dist/redact.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const runs = Number(values.runs);

const LINES = [
  "INFO: starting new backup job: vzdump 101 --mode snapshot --storage pbs01 --compress zstd",
  "INFO: Starting Backup of VM 101 (qemu)",
  "INFO: Backup started at 2026-12-03 01:00:02",
  "INFO: status = running",
  "INFO: include disk 'scsi0' 'local-lvm:vm-101-disk-0' 32G",
  "INFO: creating Proxmox Backup Server archive 'vm/101/2026-12-03T01:00:02Z'",
  "INFO:  12% (3.8 GiB of 32.0 GiB) in 30s, read: 130.2 MiB/s, write: 98.4 MiB/s",
  "INFO: transferred 32.00 GiB in 245 seconds (133.7 MiB/s)",
  "ERROR: Backup of VM 102 failed - job failed with err -5 - Input/output error",
];
const SECRETS = [
  "hook: curl -u backup:Winter2026!x https://nas.lab/ping",
  "root pw: Falcon77#abc",
  "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
];
const lines = [];
let size = 0;
for (let i = 0; size < 1_000_000; i++) {
  const t = i % 5000 === 4999 ? SECRETS[((i / 5000) % SECRETS.length) | 0] : LINES[i % LINES.length];
  lines.push({ n: i + 1, t });
  size += t.length + 1;
}
const text = lines.map((l) => l.t).join("\n");
const resources = Array.from({ length: 2000 }, (_, i) => ({
  id: `qemu/${100 + i}`,
  type: "qemu",
  vmid: 100 + i,
  name: `guest-${i}`,
  node: `pve${i % 16}`,
  status: i % 7 ? "running" : "stopped",
  tags: "prod;web",
  maxmem: 8589934592,
  mem: 2147483648,
  maxdisk: 34359738368,
  cpu: 0.04,
  uptime: 86400,
  template: 0,
}));

function measure(label, fn) {
  fn(); // warm up (regex compilation, the rule set's first load)
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  console.log(`${label}: median ${median.toFixed(1)} ms, worst ${times.at(-1).toFixed(1)} ms (${runs} runs)`);
}

console.log(
  `task log: ${(text.length / 1e6).toFixed(2)} MB, ${lines.length} lines, ${SECRETS.length} kinds of secret planted`,
);
measure("redactText(1 MB task log)", () => redactText(text));
measure("redact([{n, t}] 1 MB task log, as PveReader does)", () => redact(lines));
measure("redact(/cluster/resources, 2,000 guests)", () => redact(resources));
const out = redactText(text);
const left = SECRETS.filter((s) => out.includes(s)).length;
console.log(`planted secret lines left intact: ${left} of ${SECRETS.length}`);
