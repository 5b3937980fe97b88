/**
 * Containers share the host's kernel: what isolates them is the user namespace of an
 * unprivileged container, AppArmor, the device cgroup and the capabilities LXC drops.
 * A container is privileged unless its config says unprivileged: 1 (PVE's default for
 * the key is 0); in a privileged one, root is root on the host. Templates never run and
 * are left out. Raw lxc.* keys in the config can switch the rest off.
 */
import { REFERENCES } from "../references.js";
import { guestLabel, guestObject, inspectedGuests, isOn, reachableGuests, type Guest } from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";
import { guestConfig } from "./firewall.js";

const NEEDS = "VM.Audit on /vms";

/** The running-capable containers this token sees, each with its config. */
async function containers(
  ctx: AuditContext,
  check: string,
): Promise<{ found: { ct: Guest; config: Record<string, unknown> }[]; note: CheckFinding[] }> {
  const { guests, note } = inspectedGuests(
    check,
    (await reachableGuests(ctx)).filter((g) => g.type === "lxc"),
  );
  const found: { ct: Guest; config: Record<string, unknown> }[] = [];
  await ctx.each(guests, guestObject, async (ct) => {
    found.push({ ct, config: await guestConfig(ctx, ct) });
  });
  found.sort((a, b) => a.ct.vmid - b.ct.vmid);
  return { found, note };
}

const isPrivileged = (config: Record<string, unknown>) => !isOn(config["unprivileged"]);

/** "nesting=1,keyctl=1" -> the features switched on. */
function featuresOn(config: Record<string, unknown>): string[] {
  const features = typeof config["features"] === "string" ? config["features"] : "";
  return features
    .split(",")
    .map((part) => part.split("="))
    .filter(([, value]) => value === "1")
    .map(([name]) => name!.trim());
}

export const privilegedContainer = defineCheck({
  id: "ct-privileged",
  code: "PVE-CTR-001",
  references: [REFERENCES.containers],
  severity: "high",
  title: "Privileged containers (root in the container is root on the host)",
  needs: NEEDS,
  async run(ctx) {
    const { found, note } = await containers(ctx, "ct-privileged");
    return [
      ...note,
      ...found
        .filter(({ config }) => isPrivileged(config))
        .map(({ ct, config }) => ({
          check: "ct-privileged",
          severity: "high" as const,
          title: `${guestLabel(ct)} is a privileged container`,
          object: guestObject(ct),
          evidence:
            config["unprivileged"] === undefined
              ? "its config has no unprivileged key, and PVE's default is 0: privileged"
              : `unprivileged: ${String(config["unprivileged"])}`,
          remediation: `recreate it unprivileged: back it up, then pct restore ${ct.vmid} <backup> --unprivileged 1 (file owners shift by 100000; check bind mounts)`,
        })),
    ];
  },
});

export const privilegedContainerFeatures = defineCheck({
  id: "ct-privileged-features",
  code: "PVE-CTR-002",
  references: [REFERENCES.containers],
  severity: "high",
  title: "Nesting or keyctl switched on in a privileged container",
  needs: NEEDS,
  async run(ctx) {
    const { found, note } = await containers(ctx, "ct-privileged-features");
    const findings: CheckFinding[] = [...note];
    for (const { ct, config } of found) {
      const risky = featuresOn(config).filter((f) => f === "nesting" || f === "keyctl");
      if (!isPrivileged(config) || risky.length === 0) continue;
      findings.push({
        check: "ct-privileged-features",
        severity: "high",
        title: `${guestLabel(ct)} is privileged and has ${risky.join(" and ")} on`,
        object: guestObject(ct),
        evidence: `features: ${risky.map((f) => `${f}=1`).join(",")} without unprivileged: 1: the host's /proc, /sys and keyrings are exposed to the container's root`,
        remediation: `make it unprivileged first (pct restore ${ct.vmid} <backup> --unprivileged 1), or switch them off: pct set ${ct.vmid} --features ${risky.map((f) => `${f}=0`).join(",")}`,
      });
    }
    return findings;
  },
});

/** Raw LXC keys that switch isolation off, and what each one means. */
function weakenings(raw: unknown): string[] {
  if (!Array.isArray(raw)) return [];
  const found: string[] = [];
  for (const entry of raw) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string") continue;
    const key = entry[0].trim();
    const value = typeof entry[1] === "string" ? entry[1].trim() : "";
    if (key === "lxc.apparmor.profile" && value === "unconfined") {
      found.push("lxc.apparmor.profile: unconfined (AppArmor off)");
    } else if (/^lxc\.cgroup2?\.devices\.allow$/.test(key) && /^a(?:\s|$)/.test(value)) {
      found.push(`${key}: ${value} (every device of the host)`);
    } else if (key === "lxc.cap.drop" && value === "") {
      found.push("lxc.cap.drop: (empty: no capability dropped)");
    }
  }
  return found;
}

export const containerRawKeys = defineCheck({
  id: "ct-raw-lxc",
  code: "PVE-CTR-003",
  references: [REFERENCES.containers],
  severity: "high",
  title: "Raw lxc.* keys that switch AppArmor off, allow every device or drop no capability",
  needs: NEEDS,
  async run(ctx) {
    const { found, note } = await containers(ctx, "ct-raw-lxc");
    const findings: CheckFinding[] = [...note];
    for (const { ct, config } of found) {
      const weak = weakenings(config["lxc"]);
      if (weak.length === 0) continue;
      findings.push({
        check: "ct-raw-lxc",
        severity: isPrivileged(config) ? "critical" : "high",
        title: `${guestLabel(ct)} has raw LXC keys that weaken its isolation`,
        object: guestObject(ct),
        evidence: weak.join("; "),
        remediation: `remove them from /etc/pve/lxc/${ct.vmid}.conf (allow only the devices it needs, e.g. lxc.cgroup2.devices.allow: c 10:200 rwm for /dev/net/tun), then restart it`,
      });
    }
    return findings;
  },
});

export const containerChecks = [privilegedContainer, privilegedContainerFeatures, containerRawKeys] as const;
