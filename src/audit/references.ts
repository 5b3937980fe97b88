/**
 * Where an admin reads up on a finding: the chapters of the Proxmox VE administration
 * guide (pve-docs) and wiki pages that explain each setting a check looks at.
 */
const GUIDE = "https://pve.proxmox.com/pve-docs";

export const REFERENCES = {
  userManagement: `${GUIDE}/chapter-pveum.html`,
  apiTokens: `${GUIDE}/chapter-pveum.html#pveum_tokens`,
  tfa: `${GUIDE}/chapter-pveum.html#pveum_tfa_auth`,
  permissions: `${GUIDE}/chapter-pveum.html#pveum_permission_management`,
  firewall: `${GUIDE}/chapter-pve-firewall.html`,
  backup: `${GUIDE}/chapter-vzdump.html`,
  repositories: `${GUIDE}/chapter-sysadmin.html#sysadmin_package_repositories`,
  updates: `${GUIDE}/chapter-sysadmin.html`,
  lifecycle: "https://pve.proxmox.com/wiki/FAQ",
  certificates: `${GUIDE}/chapter-sysadmin.html#sysadmin_certificate_management`,
  diskHealth: `${GUIDE}/chapter-sysadmin.html#disk_health_monitoring`,
  fail2ban: "https://pve.proxmox.com/wiki/Fail2ban",
  cluster: `${GUIDE}/chapter-pvecm.html`,
  ha: `${GUIDE}/chapter-ha-manager.html`,
  storage: `${GUIDE}/chapter-pvesm.html`,
  replication: `${GUIDE}/chapter-pvesr.html`,
  qemu: `${GUIDE}/chapter-qm.html`,
  containers: `${GUIDE}/chapter-pct.html`,
} as const;
