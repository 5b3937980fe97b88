/**
 * Containers share the host's kernel: what isolates them is the user namespace of an
 * unprivileged container, AppArmor, the device cgroup and the capabilities LXC drops.
 * A container is privileged unless its config says unprivileged: 1 (PVE's default for
 * the key is 0; true, yes and on count as 1); in a privileged one, root is root on the
 * host. Templates never run and are left out. Raw lxc.* keys in the config can switch
 * the rest off.
 */
import { REFERENCES } from "../references.js";
import { guestLabel, guestObject, inspectedGuests, isOn, reachableGuests, type Guest } from "../shared.js";
import { defineCheck, type AuditContext, type CheckFinding } from "../types.js";
import { guestConfig } from "./firewall.js";

const NEEDS = "VM.Audit on /vms";

/** The containers this token sees on online nodes (templates left out), each with its config. */
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

/** "nesting=1,mount=nfs;cifs" -> the boolean features switched on. */
function featuresOn(config: Record<string, unknown>): string[] {
  const features = typeof config["features"] === "string" ? config["features"] : "";
  return features
    .split(",")
    .map((part) => part.split("="))
    .filter(([, value]) => isOn(value))
    .map(([name]) => name!.trim());
}

/** Making a privileged container unprivileged means restoring a backup of it. */
const recreateUnprivileged = (vmid: number) =>
  `back it up, restore it to a new VMID unprivileged (pct restore <new id> <backup> --unprivileged 1; file owners shift by 100000, check bind mounts), test it, then remove ${vmid}`;

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
          remediation: recreateUnprivileged(ct.vmid),
        })),
    ];
  },
});

export const privilegedContainerFeatures = defineCheck({
  id: "ct-privileged-features",
  code: "PVE-CTR-002",
  references: [REFERENCES.containers],
  severity: "high",
  title: "Nesting switched on in a privileged container",
  needs: NEEDS,
  async run(ctx) {
    const { found, note } = await containers(ctx, "ct-privileged-features");
    const findings: CheckFinding[] = [...note];
    for (const { ct, config } of found) {
      // keyctl only matters to unprivileged containers: PVE applies it to them alone.
      if (!isPrivileged(config) || !featuresOn(config).includes("nesting")) continue;
      findings.push({
        check: "ct-privileged-features",
        severity: "high",
        title: `${guestLabel(ct)} is privileged and has nesting on`,
        object: guestObject(ct),
        evidence:
          "features: nesting=1 without unprivileged: 1: the host's procfs and sysfs are exposed to the container's root",
        remediation: `${recreateUnprivileged(ct.vmid)}; or, as root@pam, drop nesting=1 from its features (pct set ${ct.vmid} --features <the other features>)`,
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
    } else if (/^lxc\.cgroup2?\.devices\.allow$/.test(key) && /^(?:a(?:\s|$)|[bc]\s+\*:\*)/.test(value)) {
      found.push(
        `${key}: ${value} (${value.startsWith("b") ? "every block device" : value.startsWith("c") ? "every character device" : "every device"} of the host)`,
      );
    } else if (key === "lxc.cap.drop" && value === "") {
      found.push("lxc.cap.drop: (empty: no capability dropped)");
    } else if (key === "lxc.mount.auto" && /\b(?:proc|sys):rw\b/.test(value)) {
      found.push(`lxc.mount.auto: ${value} (the host's /proc or /sys writable)`);
    } else if (key === "lxc.seccomp.profile" && value === "") {
      found.push("lxc.seccomp.profile: (empty: no seccomp filter)");
    }
  }
  return found;
}

export const containerRawKeys = defineCheck({
  id: "ct-raw-lxc",
  code: "PVE-CTR-003",
  references: [REFERENCES.containers],
  severity: "high",
  title:
    "Raw lxc.* keys that switch isolation off (AppArmor, all devices, capabilities, seccomp, /proc or /sys)",
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
