/**
 * Deterministic large-cluster generator for benchmarks and paging tests:
 * `scaleScenario(32, 10_000)` gives 32 healthy nodes and 10,000 guests.
 * Same arguments -> identical output (seeded PRNG, relative times only).
 */
import type { ScenarioInput } from "../scenario.js";
import { agentInterfaces, cliTokens, DEBIAN_13_OSINFO, serviceAcl, serviceUsers } from "./demo.js";

type GuestInput = NonNullable<ScenarioInput["guests"]>[number];
type NodeInput = ScenarioInput["nodes"][number];
type TaskInput = NonNullable<ScenarioInput["tasks"]>[number];

export const MAX_SCALE_NODES = 64;
export const MAX_SCALE_GUESTS = 100_000;

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

const NODE_MEMORY = 512 * GiB;
const HOST_MEMORY_OVERHEAD = 6 * GiB;
const FIRST_VMID = 100;

const POOLS = [
  { poolid: "prod", comment: "Production" },
  { poolid: "staging", comment: "Staging" },
  { poolid: "dev", comment: "Development" },
  { poolid: "infra", comment: "Infrastructure services" },
];
const TAGS = ["prod", "web", "db", "cache", "batch", "k8s"];
const CPU_CHOICES = [1, 2, 4, 8];
const MEMORY_MIB_CHOICES = [1024, 2048, 4096, 8192, 16384];
const DISK_GIB_CHOICES = [8, 16, 32, 64, 128];

/** mulberry32: a tiny, fast, seedable PRNG returning floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertCount(label: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`scale scenario: ${label} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
}

/** Proxmox-OUI MAC derived from the vmid (unique for vmids below 2^24). */
function macFor(vmid: number): string {
  const hex = vmid.toString(16).toUpperCase().padStart(6, "0");
  return `BC:24:11:${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}`;
}

function ipFor(vmid: number): string {
  return `10.${(vmid >> 16) & 255}.${(vmid >> 8) & 255}.${vmid & 255}`;
}

export function scaleScenario(nodeCount: number, guestCount: number): ScenarioInput {
  assertCount("node count", nodeCount, MAX_SCALE_NODES);
  assertCount("guest count", guestCount, MAX_SCALE_GUESTS);

  const random = mulberry32(nodeCount * 100_003 + guestCount);
  const between = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  const nodeNames = Array.from({ length: nodeCount }, (_, i) => `node${String(i + 1).padStart(2, "0")}`);
  const nodeUptimes = nodeNames.map(() => between(20, 90) * 86400 + between(0, 86399));
  const runningMemory = new Map<string, number>(nodeNames.map((name) => [name, 0]));

  const guests: GuestInput[] = [];
  const volumes: NonNullable<NonNullable<ScenarioInput["storages"]>[number]["volumes"]> = [];
  let provisionedDisk = 0;

  for (let i = 0; i < guestCount; i++) {
    const vmid = FIRST_VMID + i;
    const node = nodeNames[i % nodeCount]!;
    const type = random() < 0.7 ? "qemu" : "lxc";
    const running = random() < 0.8;
    const cpus = pick(CPU_CHOICES);
    const memoryMiB = pick(MEMORY_MIB_CHOICES);
    const diskGiB = pick(DISK_GIB_CHOICES);
    const pool = random() < 0.5 ? pick(POOLS).poolid : undefined;
    const tags = random() < 0.4 ? pick(TAGS) : undefined;
    const maxmem = memoryMiB * MiB;
    const maxdisk = diskGiB * GiB;
    const mac = macFor(vmid);
    const volid = `ceph-rbd:vm-${vmid}-disk-0`;

    const guest: GuestInput = {
      vmid,
      type,
      node,
      name: `${type === "qemu" ? "vm" : "ct"}-${String(vmid).padStart(4, "0")}`,
      status: running ? "running" : "stopped",
      cpus,
      maxmem,
      maxdisk,
      ...(pool ? { pool } : {}),
      ...(tags ? { tags } : {}),
      config:
        type === "qemu"
          ? {
              agent: "1",
              boot: "order=scsi0;net0",
              cores: cpus,
              cpu: "x86-64-v2-AES",
              memory: String(memoryMiB),
              net0: `virtio=${mac},bridge=vmbr0,firewall=1`,
              ostype: "l26",
              scsi0: `${volid},iothread=1,size=${diskGiB}G`,
              scsihw: "virtio-scsi-single",
              sockets: 1,
            }
          : {
              arch: "amd64",
              cores: cpus,
              memory: memoryMiB,
              net0: `name=eth0,bridge=vmbr0,firewall=1,hwaddr=${mac},ip=dhcp,type=veth`,
              ostype: "debian",
              rootfs: `${volid},size=${diskGiB}G`,
              swap: 512,
              unprivileged: 1,
            },
    };
    if (type === "lxc") guest.maxswap = 512 * MiB;
    if (running) {
      const netin = between(1, 50_000) * MiB;
      const netout = between(1, 20_000) * MiB;
      guest.mem = Math.floor(maxmem * (0.2 + random() * 0.7));
      guest.cpu = Math.round(random() * 0.3 * 10_000) / 10_000;
      guest.uptime = between(3600, nodeUptimes[i % nodeCount]!);
      guest.netin = netin;
      guest.netout = netout;
      guest.diskread = between(1, 100_000) * MiB;
      guest.diskwrite = between(1, 200_000) * MiB;
      guest.pid = 10_000 + i;
      if (type === "lxc") guest.disk = Math.floor(maxdisk * (0.1 + random() * 0.6));
      if (type === "qemu") {
        guest.agent = {
          osinfo: DEBIAN_13_OSINFO,
          interfaces: agentInterfaces(mac, ipFor(vmid), netin, netout),
        };
      }
      runningMemory.set(node, runningMemory.get(node)! + guest.mem);
    }
    guests.push(guest);
    volumes.push({
      volid,
      content: type === "qemu" ? "images" : "rootdir",
      format: "raw",
      size: maxdisk,
      vmid,
    });
    provisionedDisk += maxdisk;
  }

  const nodes: NodeInput[] = nodeNames.map((name, i) => ({
    name,
    nodeid: i + 1,
    ip: `198.18.0.${10 + i}`,
    uptime: nodeUptimes[i]!,
    cpuModel: "AMD EPYC 7543P 32-Core Processor",
    sockets: 1,
    cores: 32,
    cpus: 64,
    mhz: "2800.000",
    cpu: Math.round(random() * 0.5 * 10_000) / 10_000,
    memTotal: NODE_MEMORY,
    memUsed: Math.min(runningMemory.get(name)! + HOST_MEMORY_OVERHEAD, Math.floor(NODE_MEMORY * 0.97)),
    rootfsTotal: 100 * GiB,
    rootfsUsed: between(8, 20) * GiB,
    certificates: { nodeNotAfter: `now+${between(300, 700)}d` },
  }));

  const cephUsed = Math.floor(provisionedDisk * 0.4);
  const tasks: TaskInput[] = nodeNames.slice(0, 4).map((node, k) => ({
    node,
    pid: 200_000 + k * 977,
    pstart: (nodeUptimes[k]! - 20 * 3600) * 100,
    starttime: `now-${20 - k}h`,
    endtime: `now-${(20 - k) * 60 - 25}m`,
    type: "vzdump",
    user: "root@pam",
    status: k === 3 ? "job errors" : "OK",
    // As PVE::VZDump::Common::command_line prints the job: every option, in Perl's hash order.
    log: [
      "INFO: starting new backup job: vzdump --all 1 --prune-backups 'keep-last=3' --mode snapshot --storage local --notes-template '{{guestname}}' --compress zstd --quiet 1",
      k === 3 ? "TASK ERROR: job errors" : "TASK OK",
    ],
  }));
  tasks.push({
    node: nodeNames[0]!,
    pid: 210_001,
    pstart: (nodeUptimes[0]! - 2 * 3600) * 100,
    starttime: "now-2h",
    endtime: "now-2h",
    type: guests[0]!.type === "qemu" ? "qmstart" : "vzstart",
    id: String(FIRST_VMID),
    user: "mcp@pve!ops",
    status: "OK",
    log: ["TASK OK"],
  });

  return {
    clusterName: "scale",
    clusterConfigVersion: nodeCount,
    localNode: nodeNames[0]!,
    nodes,
    storages: [
      {
        storage: "ceph-rbd",
        type: "rbd",
        content: "images,rootdir",
        shared: 1,
        config: { pool: "vm-pool", krbd: 0 },
        total: Math.max(cephUsed * 2, 10 * TiB),
        used: cephUsed,
        volumes,
      },
      {
        storage: "local",
        type: "dir",
        content: "backup,iso,vztmpl",
        config: { path: "/var/lib/vz" },
        total: 100 * GiB,
        used: 12 * GiB,
      },
      {
        storage: "local-lvm",
        type: "lvmthin",
        content: "images,rootdir",
        config: { vgname: "pve", thinpool: "data" },
        total: 800 * GiB,
        used: 40 * GiB,
      },
    ],
    guests,
    pools: structuredClone(POOLS),
    users: structuredClone(serviceUsers),
    acl: structuredClone(serviceAcl),
    tasks,
    backupJobs: [
      {
        id: "backup-scale-nightly",
        schedule: "21:00",
        storage: "local",
        mode: "snapshot",
        compress: "zstd",
        all: 1,
        "notes-template": "{{guestname}}",
        "prune-backups": "keep-last=3",
      },
    ],
    tokens: cliTokens,
  };
}
