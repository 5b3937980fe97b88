/**
 * PBS's access configuration as the token may see it: remotes, users with their tokens,
 * the ACL, second factors and roles. PBS filters every list silently (a user sees only
 * itself without Sys.Audit on /access/users): each reader states that as a gap.
 */
import type { ModelReader } from "../../pve/model/visibility.js";
import { PBS_AUDIT_PRIVILEGES } from "../privileges.js";
import { PBS_NEEDS, pbsHolds, pbsHoldsBelow, pbsPermissions } from "./permissions.js";
import type { PbsAclEntry, PbsRemote, PbsRole, PbsTfaUser, PbsUser } from "./types.js";

/** Remotes without passwords (GET /config/remote; each needs Remote.Audit on /remote/<name>). */
export async function pbsRemotes(reader: ModelReader): Promise<PbsRemote[]> {
  const [remotes, perms] = await Promise.all([
    reader.get<PbsRemote[]>("/config/remote"),
    pbsPermissions(reader),
  ]);
  if (!pbsHoldsBelow(perms, "/remote", "Remote.Audit")) {
    reader.gap("remotes (sync sources and targets) this token cannot audit", PBS_NEEDS.remotes);
  }
  return remotes;
}

/** Users with their API tokens (GET /access/users?include_tokens=1). */
export async function pbsUsers(reader: ModelReader): Promise<PbsUser[]> {
  const [users, perms] = await Promise.all([
    reader.get<PbsUser[]>("/access/users", {}, { include_tokens: true }),
    pbsPermissions(reader),
  ]);
  if (!pbsHolds(perms, "/access/users", "Sys.Audit")) {
    reader.gap("users and API tokens other than this token's own user", PBS_NEEDS.users);
  }
  return users;
}

/** The ACL (GET /access/acl): without Sys.Audit on /access/acl PBS lists only the token's own entries. */
export async function pbsAcl(reader: ModelReader): Promise<PbsAclEntry[]> {
  const [acl, perms] = await Promise.all([reader.get<PbsAclEntry[]>("/access/acl"), pbsPermissions(reader)]);
  if (!pbsHolds(perms, "/access/acl", "Sys.Audit")) {
    reader.gap("ACL entries of other users and tokens", PBS_NEEDS.acl);
  }
  return acl;
}

/** Second factors per user (GET /access/tfa): other users' need Sys.Audit on /access/users. */
export async function pbsTfa(reader: ModelReader): Promise<PbsTfaUser[]> {
  const [tfa, perms] = await Promise.all([reader.get<PbsTfaUser[]>("/access/tfa"), pbsPermissions(reader)]);
  if (!pbsHolds(perms, "/access/users", "Sys.Audit")) {
    reader.gap("second factors (TFA) of other users", PBS_NEEDS.users);
  }
  return tfa;
}

/** The roles and their privileges (GET /access/roles, anybody). */
export function pbsRoles(reader: ModelReader): Promise<PbsRole[]> {
  return reader.get<PbsRole[]>("/access/roles");
}

/** "user@realm" of "user@realm!token". */
export const userOfAuthId = (authid: string) => authid.split("!")[0] ?? authid;

/** Whether an auth id names an API token. */
export const isTokenId = (authid: string) => authid.includes("!");

/** A user or token that never expires (expire absent or 0). */
export const neverExpires = (entry: { expire?: number }) => !entry.expire;

/**
 * PBS's built-in roles and their privileges (pbs-api-types acl.rs; PBS has no custom
 * roles). Admin holds every privilege; roles a newer PBS adds are not listed, so they
 * count as writing until added here.
 */
export const PBS_ROLE_PRIVILEGES: Readonly<Record<string, readonly string[]>> = {
  NoAccess: [],
  Audit: ["Sys.Audit", "Datastore.Audit"],
  DatastoreAdmin: [
    "Datastore.Audit",
    "Datastore.Modify",
    "Datastore.Read",
    "Datastore.Verify",
    "Datastore.Backup",
    "Datastore.Prune",
  ],
  DatastoreReader: ["Datastore.Audit", "Datastore.Verify", "Datastore.Read"],
  DatastoreBackup: ["Datastore.Backup"],
  DatastorePowerUser: ["Datastore.Prune", "Datastore.Backup"],
  DatastoreAudit: ["Datastore.Audit"],
  RemoteAudit: ["Remote.Audit"],
  RemoteAdmin: ["Remote.Audit", "Remote.Modify", "Remote.Read"],
  RemoteSyncOperator: ["Remote.Audit", "Remote.Read"],
  TapeAudit: ["Tape.Audit"],
  TapeAdmin: ["Tape.Audit", "Tape.Modify", "Tape.Read", "Tape.Write"],
  TapeOperator: ["Tape.Audit", "Tape.Read", "Tape.Write"],
  TapeReader: ["Tape.Audit", "Tape.Read"],
};

/** Whether a role's privileges only show things (all in PBS_AUDIT_PRIVILEGES; none at all counts). */
export const onlyAudits = (privileges: readonly string[]) =>
  privileges.every((p) => PBS_AUDIT_PRIVILEGES.has(p));

/**
 * The roles that change nothing: built-in roles whose privileges are all audit privileges
 * (Audit, DatastoreAudit, RemoteAudit, TapeAudit, NoAccess). Anything else, Admin and
 * unknown roles included, may write or delete somewhere.
 */
export const READ_ONLY_ROLES: ReadonlySet<string> = new Set(
  Object.entries(PBS_ROLE_PRIVILEGES)
    .filter(([, privileges]) => onlyAudits(privileges))
    .map(([role]) => role),
);

/** Roles that can administer a whole datastore (or everything) when held on "/" or "/datastore". */
export const BROAD_ROLES: ReadonlySet<string> = new Set(["Admin", "DatastoreAdmin", "RemoteAdmin"]);
