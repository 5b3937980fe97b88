/**
 * Datastores: the list (GET /admin/datastore), their configuration (/config/datastore),
 * usage with PBS's fill estimate (/status/datastore-usage), GC state (/admin/gc) and
 * namespaces. PBS leaves out silently what the token may not see; each reader states that
 * as a gap.
 */
import { PveApiError } from "../../pve/errors.js";
import { isOn } from "../../pve/model/values.js";
import { readOrGap, type ModelReader } from "../../pve/model/visibility.js";
import { cleanText, LIMITS } from "../../untrusted.js";
import { PBS_NEEDS, pbsHolds, pbsHoldsBelow, pbsPermissions } from "./permissions.js";
import type {
  PbsDatastoreConfig,
  PbsDatastoreListItem,
  PbsDatastoreUsage,
  PbsGcJobStatus,
  PbsNamespace,
} from "./types.js";

/** A store name for gap texts (PBS's names are SAFE_IDs; one it did not make is capped). */
const storeName = (store: string) => cleanText(store, LIMITS.name);

/**
 * The datastores the token sees (GET /admin/datastore): PBS lists a store when the token
 * holds Datastore.Audit or Datastore.Backup on it or any privilege on a namespace below;
 * without Datastore.Audit propagating from /datastore others may be hidden (a gap).
 */
export async function pbsDatastores(reader: ModelReader): Promise<PbsDatastoreListItem[]> {
  const [list, perms] = await Promise.all([
    reader.get<PbsDatastoreListItem[]>("/admin/datastore"),
    pbsPermissions(reader),
  ]);
  if (!pbsHoldsBelow(perms, "/datastore", ["Datastore.Audit", "Datastore.Backup"])) {
    reader.gap("datastores this token holds no privilege on (PBS leaves them out)", PBS_NEEDS.datastores);
  }
  return list;
}

/** datastore.cfg of the stores the token may audit (GET /config/datastore, filtered by Datastore.Audit). */
export async function pbsDatastoreConfigs(reader: ModelReader): Promise<PbsDatastoreConfig[]> {
  const [configs, perms] = await Promise.all([
    reader.get<PbsDatastoreConfig[]>("/config/datastore"),
    pbsPermissions(reader),
  ]);
  if (!pbsHoldsBelow(perms, "/datastore", "Datastore.Audit")) {
    reader.gap(
      "configuration (GC schedule, verify-new) of datastores this token cannot audit",
      PBS_NEEDS.datastores,
    );
  }
  return configs;
}

/**
 * Usage of each listed store (GET /status/datastore-usage). A store the token holds only
 * namespace privileges on comes without total/used: a gap for that store.
 */
export async function pbsDatastoreUsage(reader: ModelReader): Promise<PbsDatastoreUsage[]> {
  const usage = await reader.get<PbsDatastoreUsage[]>("/status/datastore-usage");
  for (const u of usage) {
    if (u.total === undefined && u.error === undefined) {
      reader.gap(`usage of datastore ${storeName(u.store)}`, PBS_NEEDS.datastore(storeName(u.store)));
    }
  }
  return usage;
}

/**
 * GC state of every listed store (GET /admin/gc): the last run's counters, state, end
 * time, schedule and next run.
 */
export async function pbsGcStatuses(reader: ModelReader): Promise<PbsGcJobStatus[]> {
  return reader.get<PbsGcJobStatus[]>("/admin/gc");
}

/** GC state of one store (GET /admin/datastore/{store}/gc, Datastore.Audit), or undefined with a gap. */
export function pbsGcStatus(reader: ModelReader, store: string): Promise<PbsGcJobStatus | undefined> {
  return readOrGap<PbsGcJobStatus>(
    reader,
    "/admin/datastore/{store}/gc",
    { store },
    `garbage collection status of datastore ${storeName(store)}`,
    PBS_NEEDS.datastore(storeName(store)),
  );
}

/**
 * The namespaces of a store the token may see, the root ("") included (GET
 * …/{store}/namespace); undefined with a gap when PBS refused the whole store. Namespaces
 * without any privilege of the token are left out: a gap unless Datastore.Audit propagates
 * from the store.
 */
export async function pbsNamespaces(reader: ModelReader, store: string): Promise<PbsNamespace[] | undefined> {
  const name = storeName(store);
  const [list, perms] = await Promise.all([
    readOrGap<PbsNamespace[]>(
      reader,
      "/admin/datastore/{store}/namespace",
      { store },
      `namespaces of datastore ${name}`,
      PBS_NEEDS.datastore(name),
    ),
    pbsPermissions(reader),
  ]);
  if (list && !pbsHoldsBelow(perms, `/datastore/${store}`, ["Datastore.Audit", "Datastore.Backup"])) {
    reader.gap(`namespaces of datastore ${name} this token holds no privilege on`, PBS_NEEDS.datastore(name));
  }
  return list;
}

/** Whether the token may audit the store (its config, usage, GC and every owner's snapshots). */
export async function pbsMayAudit(reader: ModelReader, store: string, ns = ""): Promise<boolean> {
  const perms = await pbsPermissions(reader);
  return pbsHolds(perms, ns ? `/datastore/${store}/${ns}` : `/datastore/${store}`, "Datastore.Audit");
}

/** Whether the store verifies every new snapshot right after its backup (datastore.cfg verify-new, default off). */
export function verifyNewOn(config: Pick<PbsDatastoreConfig, "verify-new">): boolean {
  return isOn(config["verify-new"]);
}

/** Percent used (one decimal), or undefined without both numbers. */
export function usedPercent(u: Pick<PbsDatastoreUsage, "total" | "used">): number | undefined {
  if (u.total === undefined || u.used === undefined || u.total <= 0) return undefined;
  return Math.round((u.used / u.total) * 1000) / 10;
}

/**
 * PBS's estimate of when the store is full, as epoch seconds, or undefined when there is
 * none. PBS fits a line through the month's usage (status.rs): a flat or shrinking trend
 * gives a date in the past (0 for flat, "set to past for gui to detect"), and PBS's GUI
 * shows any estimate at or before now as "Never"; with fewer than 7 samples the field is
 * absent. So only a date after `nowSeconds` is an estimate, never "full now".
 */
export function estimatedFull(
  u: Pick<PbsDatastoreUsage, "estimated-full-date">,
  nowSeconds: number,
): number | undefined {
  const date = u["estimated-full-date"];
  return typeof date === "number" && Number.isFinite(date) && date > nowSeconds ? date : undefined;
}

/** Whether a read failed because PBS does not know the object (400 "no such datastore", ENOENT). */
export function isNotFound(err: unknown): boolean {
  return (
    err instanceof PveApiError &&
    err.status === 400 &&
    /no such|ENOENT|not found|No such file/i.test(err.pveMessage)
  );
}
