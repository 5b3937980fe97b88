/**
 * Locates the reference data in ../shared/pve-api (Proxmox's schema, roles, ACL test
 * vectors, fixtures). Tests that need it skip with a clear message when it is absent,
 * so a fresh clone without ../shared still passes.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const SHARED_PVE_API = process.env["PVE_API_DIR"] ?? join(repoRoot, "../shared/pve-api");
export const HAVE_SHARED = existsSync(join(SHARED_PVE_API, "pve-api-flat.json"));
export const SKIP_REASON = `reference data not found at ${SHARED_PVE_API} (../shared/pve-api beside the checkout, or set PVE_API_DIR): skipped`;

if (!HAVE_SHARED) console.warn(SKIP_REASON);

export function readShared<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(join(SHARED_PVE_API, relative), "utf8")) as T;
}
