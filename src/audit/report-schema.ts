/**
 * The shapes of the audit's report as data: security_audit's output schema uses the
 * finding, `proxmox-mcp audit --format json` prints the whole report, and its JSON Schema
 * (docs/audit-report.schema.json, generated from this by tests/docs/audit-report-schema.test.ts)
 * is what a script that reads it can rely on.
 */
import { z } from "zod";
import { SEVERITIES, type Severity } from "./types.js";

export const severitySchema = z.enum(SEVERITIES as [Severity, ...Severity[]]);

export const findingSchema = z.object({
  code: z.string().describe("the check's stable code, e.g. PVE-ACC-003 (docs/checks.md)"),
  check: z.string().describe("the check's id, e.g. token-expiry"),
  severity: severitySchema,
  title: z.string(),
  object: z.string().describe("the exact object: a token id, a user, VM 103, a node, an ACL entry..."),
  evidence: z.string().describe("what was seen"),
  remediation: z.string().describe("what to do: a pveum, pvesh, qm or pct line, or a GUI path"),
});

const waiverSchema = z.object({
  code: z.string(),
  object: z.string(),
  reason: z.string(),
  expires: z.string().describe("YYYY-MM-DD: the waiver holds through that day (UTC)"),
});

const noteAbout = z.enum(["storage", "backups"]).describe("the part it is about: storage usage or backups");

const inventorySchema = z
  .object({
    storages: z
      .array(
        z.object({
          storage: z.string(),
          node: z.string().nullable().describe("the node of a node-local storage; null for a shared one"),
          type: z.string().describe("PVE's storage type: dir, lvmthin, zfspool, nfs..."),
          shared: z.boolean(),
          used: z
            .number()
            .nullable()
            .describe("bytes; null when PVE reports no usage (node offline, inactive)"),
          total: z.number().nullable(),
          content: z.array(z.string()),
        }),
      )
      .describe("fullest first; a node-local storage once per node"),
    storagesOmitted: z.number().int().nonnegative().describe("storages past the cap, not listed"),
    backupJobs: z
      .array(
        z.object({
          id: z.string(),
          enabled: z.boolean(),
          comment: z.string(),
          schedule: z.string(),
          storage: z.string(),
        }),
      )
      .nullable()
      .describe("null when the token may not read the backup jobs"),
    guests: z
      .array(
        z.object({
          vmid: z.number().int(),
          type: z.enum(["qemu", "lxc"]),
          name: z.string(),
          node: z.string(),
          tags: z.array(z.string()),
          template: z.boolean(),
          state: z
            .enum(["covered", "partial", "disabled", "excluded", "none", "unknown"])
            .describe(
              "covered; partial: some disks left out; disabled: only in disabled jobs; excluded: left out of an enabled all-guests job; none: in no job; unknown: jobs not visible",
            ),
          jobs: z.array(z.string()).describe("the enabled backup jobs that include it"),
          disabledJobs: z.array(z.string()),
          excludedBy: z.array(z.string()),
          backupsVisible: z
            .boolean()
            .describe("false when PVE hides its backup volumes from this token: lastBackup says nothing"),
          lastBackup: z
            .object({ time: z.number().describe("epoch seconds"), storage: z.string() })
            .nullable(),
        }),
      )
      .describe("least covered first, then by vmid; capped (guestsTotal says how many there are)"),
    guestsTotal: z.number().int().nonnegative(),
    notVisible: z
      .array(z.object({ about: noteAbout, what: z.string(), needs: z.string() }))
      .describe("what this token could not see, and the privilege that would show it"),
    notes: z
      .array(z.object({ about: noteAbout, what: z.string() }))
      .describe("other limits of what was read (offline nodes, caps)"),
  })
  .describe("storage fill and backup coverage as this token sees them (what the HTML report draws)");

export const reportSchema = z.object({
  generatedAt: z.string().describe("ISO 8601 time of the audit"),
  cluster: z.string().nullable().describe("the cluster's name, null when not visible"),
  checksRun: z.number().int().nonnegative(),
  findings: z
    .array(findingSchema)
    .describe("most severe first; those titled 'Could not check ...' say what the token could not see"),
  errors: z
    .array(z.object({ check: z.string(), message: z.string() }))
    .describe("checks that failed (network, 5xx): their results are incomplete"),
  waived: z
    .array(findingSchema.extend({ waiver: waiverSchema.pick({ reason: true, expires: true }) }))
    .describe("findings a waiver accepts, until it expires"),
  unusedWaivers: z.array(waiverSchema).describe("waivers that matched no finding of this run"),
  inventory: inventorySchema.optional(),
});
