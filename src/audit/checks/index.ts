/**
 * Every audit check, in report order of their groups: access, firewall, nodes, health,
 * storage, backups, guests, containers; then the Proxmox Backup Server's (service "pbs":
 * they run only when the audit has a PBS source).
 */
import type { AuditCheck } from "../types.js";
import { accessChecks } from "./access.js";
import { backupChecks } from "./backup.js";
import { containerChecks } from "./containers.js";
import { firewallChecks } from "./firewall.js";
import { guestChecks } from "./guests.js";
import { healthChecks } from "./health.js";
import { nodeChecks } from "./nodes.js";
import { pbsChecks } from "./pbs.js";
import { pbsAccessChecks } from "./pbs-access.js";
import { repositoryChecks } from "./repositories.js";
import { storageChecks } from "./storage.js";

export const AUDIT_CHECKS: readonly AuditCheck[] = [
  ...accessChecks,
  ...firewallChecks,
  ...nodeChecks,
  ...repositoryChecks,
  ...healthChecks,
  ...storageChecks,
  ...backupChecks,
  ...guestChecks,
  ...containerChecks,
  ...pbsChecks,
  ...pbsAccessChecks,
];
