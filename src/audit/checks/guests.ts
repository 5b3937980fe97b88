/**
 * What guests carry in the open: notes (the description) with passwords or keys in them.
 * PVE shows a guest's notes to anyone with VM.Audit on it, so a secret there is
 * readable by every auditor, and ends up in backups and exports.
 */
import { REDACTED } from "../../redact.js";
import { guestCli, guestLabel, guestObject, inspectedGuests, reachableGuests } from "../shared.js";
import { defineCheck, type Finding } from "../types.js";
import { guestConfig } from "./firewall.js";

export const guestSecrets = defineCheck({
  id: "guest-secrets",
  severity: "medium",
  title: "Passwords or keys in guest notes",
  needs: "VM.Audit on /vms",
  async run(ctx) {
    const { guests: list, note } = inspectedGuests("guest-secrets", await reachableGuests(ctx, true));
    const findings: Finding[] = [...note];
    await ctx.each(list, guestObject, async (g) => {
      const config = await guestConfig(ctx, g);
      const notes = typeof config["description"] === "string" ? config["description"] : "";
      // The reader already masked what the redaction rules take for a secret: the marks
      // say where one was, and the audit never sees (or shows) the value itself.
      const lines = notes.split("\n");
      const hits = lines.map((line, i) => (line.includes(REDACTED) ? i + 1 : 0)).filter((n) => n > 0);
      if (hits.length === 0) return;
      findings.push({
        check: "guest-secrets",
        severity: "medium",
        title: `Notes of ${guestLabel(g)} hold what looks like a password or key`,
        object: guestObject(g),
        evidence: `notes line ${hits.slice(0, 5).join(", ")} of ${lines.length} (value not shown); anyone with VM.Audit reads it`,
        remediation: `rotate it, keep it in a password manager, and edit the notes (${guestCli(g)} set ${g.vmid} --description ...)`,
      });
    });
    return findings;
  },
});

export const guestChecks = [guestSecrets] as const;
