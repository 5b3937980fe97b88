/**
 * Where an admin reads up on a finding: the chapters of the Proxmox VE administration
 * guide (pve-docs), wiki pages that explain each setting a check looks at, and for the
 * PBS checks the Proxmox Backup Server documentation (Sphinx: a label `a_b` is `#a-b`).
 */
const GUIDE = "https://pve.proxmox.com/pve-docs";
const PBS_DOCS = "https://pbs.proxmox.com/docs";

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
  pbsVerification: `${PBS_DOCS}/maintenance.html#maintenance-verification`,
  pbsPruning: `${PBS_DOCS}/maintenance.html#maintenance-pruning`,
  pbsPruneJobs: `${PBS_DOCS}/maintenance.html#maintenance-prune-jobs`,
  pbsGc: `${PBS_DOCS}/maintenance.html#maintenance-gc`,
  pbsDatastores: `${PBS_DOCS}/storage.html#datastore-intro`,
  pbsRemotes: `${PBS_DOCS}/managing-remotes.html#backup-remote`,
  pbsSyncJobs: `${PBS_DOCS}/managing-remotes.html#syncjobs`,
  pbsUsers: `${PBS_DOCS}/user-management.html#user-mgmt`,
  pbsTokens: `${PBS_DOCS}/user-management.html#user-tokens`,
  pbsAcl: `${PBS_DOCS}/user-management.html#user-acl`,
  pbsTfa: `${PBS_DOCS}/user-management.html#user-tfa`,
  pbsEncryption: `${PBS_DOCS}/backup-client.html#client-encryption`,
} as const;
