/**
 * Where an admin reads up on a finding: the chapters of the Proxmox VE administration
 * guide (pve-docs) and wiki pages that explain each setting a check looks at.
 */
const GUIDE = "https://pve.proxmox.com/pve-docs";

export const REFERENCES = {
  userManagement: `${GUIDE}/chapter-pveum.html`,
  apiTokens: `${GUIDE}/chapter-pveum.html#pveum_tokens`,
  tfa: `${GUIDE}/chapter-pveum.html#pveum_tfa_auth`,
  realms: `${GUIDE}/chapter-pveum.html#pveum_authentication_realms`,
  pamRealm: `${GUIDE}/chapter-pveum.html#user-realms-pam`,
  ldapRealm: `${GUIDE}/chapter-pveum.html#user-realms-ldap`,
  permissions: `${GUIDE}/chapter-pveum.html#pveum_permission_management`,
  firewall: `${GUIDE}/chapter-pve-firewall.html`,
  backup: `${GUIDE}/chapter-vzdump.html`,
  notifications: `${GUIDE}/chapter-notifications.html`,
  pbsStorage: `${GUIDE}/chapter-pvesm.html#storage_pbs`,
  repositories: `${GUIDE}/chapter-sysadmin.html#sysadmin_package_repositories`,
  updates: `${GUIDE}/chapter-sysadmin.html`,
  packageRepositoriesWiki: "https://pve.proxmox.com/wiki/Package_Repositories",
  kernelPin: `${GUIDE}/chapter-sysboot.html#sysboot_kernel_pin`,
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
  storageDirectory: `${GUIDE}/chapter-pvesm.html#storage_directory`,
  zfs: `${GUIDE}/chapter-sysadmin.html#chapter_zfs`,
  lvm: `${GUIDE}/chapter-sysadmin.html#chapter_lvm`,
  qdevice: `${GUIDE}/chapter-pvecm.html#_corosync_external_vote_support`,
} as const;
