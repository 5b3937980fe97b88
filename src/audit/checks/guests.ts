/**
 * What guests carry in the open: notes (the description) with passwords or keys in them.
 * PVE shows a guest's notes to anyone with VM.Audit on it, so a secret there is
 * readable by every auditor, and ends up in backups and exports.
 */
import { REFERENCES } from "../references.js";
import { REDACTED } from "../../redact.js";
import { cleanText, LIMITS } from "../../untrusted.js";
import {
  guestCli,
  guestLabel,
  guestObject,
  inspectedGuests,
  isOn,
  listOf,
  reachableGuests,
} from "../shared.js";
import { defineCheck, type CheckFinding } from "../types.js";
import { guestConfig } from "./firewall.js";

export const guestSecrets = defineCheck({
  id: "guest-secrets",
  code: "PVE-GST-002",
  references: [REFERENCES.qemu],
  severity: "medium",
  title: "Passwords or keys in guest notes",
  needs: "VM.Audit on /vms",
  async run(ctx) {
    const { guests: list, note } = inspectedGuests("guest-secrets", await reachableGuests(ctx, true));
    const findings: CheckFinding[] = [...note];
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

/** Tags that say a guest is production (PVE tags are free text; these are the usual ones). */
export const PRODUCTION_TAG = /^(?:prod|production|prd)$/i;

export const productionUnprotected = defineCheck({
  id: "guest-unprotected",
  code: "PVE-GST-004",
  references: [REFERENCES.qemu, REFERENCES.containers],
  severity: "medium",
  title: "Production-tagged guests without protection (one click or API call removes them)",
  needs: "VM.Audit on /vms",
  async run(ctx) {
    // Templates never run; guests on offline nodes cannot be read (node-offline names them).
    const { guests: list, note } = inspectedGuests(
      "guest-unprotected",
      (await reachableGuests(ctx)).filter((g) => listOf(g.tags).some((tag) => PRODUCTION_TAG.test(tag))),
    );
    const findings: CheckFinding[] = [...note];
    await ctx.each(list, guestObject, async (g) => {
      const config = await guestConfig(ctx, g);
      if (isOn(config["protection"])) return;
      findings.push({
        check: "guest-unprotected",
        severity: "medium",
        title: `${guestLabel(g)} is tagged production but not protected`,
        object: guestObject(g),
        evidence: `tags ${listOf(g.tags)
          .map((tag) => cleanText(tag, LIMITS.tag))
          .join(
            ";",
          )}; protection off: one destroy (a slip in the GUI, a script) removes it and its disks at once`,
        remediation: `${guestCli(g)} set ${g.vmid} --protection 1 (removing it then needs protection switched off first)`,
      });
    });
    return findings;
  },
});

export const guestChecks = [guestSecrets, productionUnprotected] as const;
