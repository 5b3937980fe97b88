/**
 * Snapshots (GET /admin/datastore/{store}/snapshots?ns=…) and what tools and checks judge
 * of them: encryption mode, verification state, age, the newest snapshot of each backup
 * group, and the key that joins a backup group to a PVE guest.
 */
import { readOrGap, type ModelReader } from "../../pve/model/visibility.js";
import { cleanText, LIMITS } from "../../untrusted.js";
import { pbsNamespaces } from "./datastores.js";
import { PBS_NEEDS, pbsHolds, pbsPermissions, datastoreAclPath } from "./permissions.js";
import type { PbsBackupType, PbsSnapshot, PbsStoredSnapshot } from "./types.js";

export interface SnapshotFilter {
  "backup-type"?: PbsBackupType;
  "backup-id"?: string;
}

const nsText = (store: string, ns: string) =>
  `${cleanText(store, LIMITS.name)}${ns ? `:${cleanText(ns, 256)}` : ""}`;

/**
 * The snapshots of one namespace ("" = root) of a store, with store and ns attached;
 * undefined with a gap when PBS refused. With Datastore.Backup but not Datastore.Audit PBS
 * lists only the token's own groups: a gap.
 */
export async function pbsSnapshots(
  reader: ModelReader,
  store: string,
  ns = "",
  filter: SnapshotFilter = {},
): Promise<PbsStoredSnapshot[] | undefined> {
  const where = nsText(store, ns);
  const needs = PBS_NEEDS.datastore(cleanText(store, LIMITS.name), ns ? cleanText(ns, 256) : "");
  const query = { ns: ns || undefined, ...filter };
  const [list, perms] = await Promise.all([
    readOrGap<PbsSnapshot[]>(
      reader,
      "/admin/datastore/{store}/snapshots",
      { store },
      `snapshots in ${where}`,
      needs,
      query,
    ),
    pbsPermissions(reader),
  ]);
  if (!list) return undefined;
  if (!pbsHolds(perms, datastoreAclPath(store, ns), "Datastore.Audit")) {
    reader.gap(`snapshots of other owners in ${where} (PBS lists only this token's own)`, needs);
  }
  return list.map((s) => ({ ...s, store, ns }));
}

/**
 * Every snapshot of a store the token may see, over all its visible namespaces (or only
 * `ns` and those below it when given; none when the store does not list `ns`). Namespaces
 * PBS refuses become gaps.
 */
export async function pbsStoreSnapshots(
  reader: ModelReader,
  store: string,
  options: { ns?: string; filter?: SnapshotFilter } = {},
): Promise<PbsStoredSnapshot[] | undefined> {
  const namespaces = await pbsNamespaces(reader, store);
  if (!namespaces) return undefined;
  const base = options.ns ?? "";
  // A namespace the store does not list (absent, or without any privilege of the token) is not read.
  const wanted = namespaces
    .map((n) => n.ns)
    .filter((ns) => base === "" || ns === base || ns.startsWith(`${base}/`))
    .sort();
  const lists = await Promise.all(wanted.map((ns) => pbsSnapshots(reader, store, ns, options.filter)));
  return lists.flatMap((l) => l ?? []);
}

/** Every snapshot of every store the token sees (`stores` from pbsDatastores). */
export async function pbsAllSnapshots(
  reader: ModelReader,
  stores: readonly string[],
  filter: SnapshotFilter = {},
): Promise<PbsStoredSnapshot[]> {
  const lists = await Promise.all(stores.map((store) => pbsStoreSnapshots(reader, store, { filter })));
  return lists.flatMap((l) => l ?? []);
}

/** The manifest: PBS lists it as sign-only when the snapshot is signed, whatever the data's mode. */
const MANIFEST = "index.json.blob";

export type EncryptionMode = "encrypt" | "sign-only" | "none" | "mixed";

/**
 * How a snapshot's data is protected: `encrypt` when every data file is encrypted,
 * `sign-only` or `none` likewise, `mixed` otherwise. The manifest (index.json.blob: signed
 * when the data is encrypted) and files PBS lists without a mode (client.log.blob) do not
 * count; a snapshot without any file with a mode counts as `none`.
 */
export function encryptionMode(snapshot: Pick<PbsSnapshot, "files">): EncryptionMode {
  const modes = new Set(
    (snapshot.files ?? [])
      .filter((f) => f.filename !== MANIFEST && f["crypt-mode"] !== undefined)
      .map((f) => f["crypt-mode"]),
  );
  if (modes.size === 0) return "none";
  if (modes.size > 1) return "mixed";
  return [...modes][0] as EncryptionMode;
}

export type VerificationState = "ok" | "failed" | "none";

/** The last verification's outcome, or "none" when never verified. */
export function verificationState(snapshot: Pick<PbsSnapshot, "verification">): VerificationState {
  const state = snapshot.verification?.state;
  return state === "ok" || state === "failed" ? state : "none";
}

/** Seconds since the snapshot was taken (never negative). */
export function snapshotAge(snapshot: Pick<PbsSnapshot, "backup-time">, now: number): number {
  return Math.max(0, now - snapshot["backup-time"]);
}

/** "vm/100": a backup group within its namespace. */
export function groupKey(snapshot: Pick<PbsSnapshot, "backup-type" | "backup-id">): string {
  return `${snapshot["backup-type"]}/${snapshot["backup-id"]}`;
}

/** "pbs-main:prod/vm/100" ("pbs-main:vm/100" in the root): a backup group anywhere. */
export function groupPath(
  snapshot: Pick<PbsStoredSnapshot, "store" | "ns" | "backup-type" | "backup-id">,
): string {
  return `${snapshot.store}:${snapshot.ns ? `${snapshot.ns}/` : ""}${groupKey(snapshot)}`;
}

/** PBS's snapshot name: "vm/100/2026-11-19T02:00:04Z". */
export function snapshotName(
  snapshot: Pick<PbsSnapshot, "backup-type" | "backup-id" | "backup-time">,
): string {
  const time = new Date(snapshot["backup-time"] * 1000).toISOString().replace(".000Z", "Z");
  return `${groupKey(snapshot)}/${time}`;
}

/** The newest snapshot of each backup group (store, namespace, type and id), keyed by groupPath. */
export function newestPerGroup<S extends PbsStoredSnapshot>(snapshots: readonly S[]): Map<string, S> {
  const newest = new Map<string, S>();
  for (const s of snapshots) {
    const key = groupPath(s);
    const seen = newest.get(key);
    if (!seen || s["backup-time"] > seen["backup-time"]) newest.set(key, s);
  }
  return newest;
}

/** Newest first; ties by group path, so an answer does not depend on PBS's unsorted order. */
export function byNewest(a: PbsStoredSnapshot, b: PbsStoredSnapshot): number {
  return (
    b["backup-time"] - a["backup-time"] ||
    (groupPath(a) < groupPath(b) ? -1 : groupPath(a) > groupPath(b) ? 1 : 0)
  );
}

/**
 * The key joining a backup group to a PVE guest: "vm/<vmid>" for a QEMU guest, "ct/<vmid>"
 * for a container (PVE's vzdump names the groups so); undefined for a host backup or an id
 * that is not a VMID.
 */
export function guestKeyOfGroup(group: Pick<PbsSnapshot, "backup-type" | "backup-id">): string | undefined {
  if (group["backup-type"] === "host" || !/^[1-9]\d{2,8}$/.test(group["backup-id"])) return undefined;
  return `${group["backup-type"]}/${group["backup-id"]}`;
}

/** The same key for a PVE guest as /cluster/resources lists it (type qemu or lxc). */
export function guestKeyOfPve(guest: { type?: string; vmid?: number }): string | undefined {
  if (guest.vmid === undefined) return undefined;
  if (guest.type === "qemu") return `vm/${guest.vmid}`;
  if (guest.type === "lxc") return `ct/${guest.vmid}`;
  return undefined;
}

/** What a list of snapshots adds up to. */
export interface SnapshotSummary {
  count: number;
  /** Sum of the sizes PBS lists (bytes; deduplicated storage is smaller). */
  totalSize: number;
  neverVerified: number;
  failedVerification: number;
  /** Data files not (all) encrypted: mode none, sign-only or mixed. */
  unencrypted: number;
  protected: number;
  /** backup-time of the newest and the oldest. */
  newest?: number;
  oldest?: number;
}

export function summarizeSnapshots(snapshots: readonly PbsSnapshot[]): SnapshotSummary {
  const summary: SnapshotSummary = {
    count: snapshots.length,
    totalSize: 0,
    neverVerified: 0,
    failedVerification: 0,
    unencrypted: 0,
    protected: 0,
  };
  for (const s of snapshots) {
    summary.totalSize += s.size ?? 0;
    const verification = verificationState(s);
    if (verification === "none") summary.neverVerified++;
    if (verification === "failed") summary.failedVerification++;
    if (encryptionMode(s) !== "encrypt") summary.unencrypted++;
    if (s.protected) summary.protected++;
    const time = s["backup-time"];
    if (summary.newest === undefined || time > summary.newest) summary.newest = time;
    if (summary.oldest === undefined || time < summary.oldest) summary.oldest = time;
  }
  return summary;
}
