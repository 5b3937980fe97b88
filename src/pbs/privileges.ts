/**
 * PBS's privileges that only show things (pbs-api-types acl.rs): the roles Audit,
 * DatastoreAudit, RemoteAudit and TapeAudit hold nothing else. Datastore.Read is left out
 * on purpose: it reads the backups' contents, which an audit never needs.
 */
export const PBS_AUDIT_PRIVILEGES: ReadonlySet<string> = new Set([
  "Sys.Audit",
  "Datastore.Audit",
  "Remote.Audit",
  "Tape.Audit",
]);

/** "path: A, B" for each path of a PBS permission map (GET /access/permissions) that holds more than audit privileges. */
export function beyondAudit(permissions: Record<string, Record<string, unknown>>): string[] {
  return Object.entries(permissions)
    .map(
      ([path, held]) =>
        [
          path,
          Object.keys(held)
            .filter((p) => !PBS_AUDIT_PRIVILEGES.has(p))
            .sort(),
        ] as const,
    )
    .filter(([, extra]) => extra.length > 0)
    .map(([path, extra]) => `${path}: ${extra.join(", ")}`);
}
