/**
 * Parses PVE's user.cfg text (the format of Proxmox's ACL test vectors) into the
 * simulator's AccessConfig: user:, group:, role:, acl:, pool:, token: lines.
 */
import type { AccessConfig } from "../../src/simulator/acl.js";

export function parseUserCfg(text: string): AccessConfig {
  const config: AccessConfig = { users: [], tokens: [], groups: [], roles: {}, acl: [], pools: [] };
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const [kind, ...f] = line.split(":");
    const field = (i: number) => f[i] ?? "";
    switch (kind) {
      case "user":
        config.users.push({ userid: field(0) });
        break;
      case "token":
        // An empty privsep field means "no privilege separation" (0).
        config.tokens.push({ tokenid: field(0), privsep: field(2) === "1" });
        break;
      case "group":
        config.groups.push({ groupid: field(0), users: field(1).split(",").filter(Boolean) });
        break;
      case "role":
        config.roles[field(0)] = field(1).split(",").filter(Boolean);
        break;
      case "acl":
        for (const ugid of field(2).split(",").filter(Boolean)) {
          for (const roleid of field(3).split(",").filter(Boolean)) {
            config.acl.push({ path: field(1), ugid, roleid, propagate: field(0) === "1" });
          }
        }
        break;
      case "pool":
        config.pools.push({
          poolid: field(0),
          vms: field(2).split(",").filter(Boolean),
          storage: field(3)
            .split(/[\s,]+/)
            .filter(Boolean),
        });
        break;
      default:
        throw new Error(`unknown user.cfg line: ${line}`);
    }
  }
  return config;
}
