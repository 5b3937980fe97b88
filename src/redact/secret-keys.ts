/**
 * Keys whose value is a secret whatever it looks like. The PVE names come from Proxmox's
 * own API schema (pve-api-flat.json): every property documented as a password, secret,
 * key material, token value or ticket; tests/redact/schema-keys.test.ts reads the schema
 * and fails when it documents one that is neither here nor reviewed as harmless there.
 */
export const PVE_SECRET_FIELDS: Readonly<Record<string, string>> = {
  cipassword: "qemu config: cloud-init password",
  sshkeys: "qemu config: cloud-init SSH public keys (who may log in)",
  "ssh-public-keys": "lxc create: SSH public keys for root",
  password: "users, storages (CIFS, PBS, ESXi), scan endpoints, notification targets",
  "confirmation-password": "the caller's password when changing another",
  keyring: "storage: Ceph client keyring (external clusters)",
  "encryption-key": "storage: PBS client-side encryption key",
  "eab-hmac-key": "ACME account: external account binding key",
  "client-key": "OpenID realm: client secret",
  secret: "notification webhook: secrets; TFA: TOTP secret",
  token: "metrics server (InfluxDB), notification target (Gotify)",
  ticket: "login and console tickets",
  CSRFPreventionToken: "login answer",
  "lock-token": "SDN configuration lock",
  keys: "users: two-factor (Yubico) key ids",
  otp: "one-time password",
  privkey: "custom certificate upload: private key",
  "tfa-secret": "user TFA secret",
  vncticket: "console websocket ticket",
  "target-endpoint": "remote migration target: holds an API token (apitoken=PVEAPIToken=...)",
  recovery: "TFA recovery codes",
};

/** Common names for secrets beyond PVE's own (configs people paste, other products' JSON). */
export const SECRET_KEY_PATTERN =
  /^(passwd|passphrase|pass|pw|pwd|apikey|api[_-]?key|private[_-]?key|credentials?|auth|authorization|psk|wpa[_-]?psk|client[_-]?secret)$|(^|[_\-.])(password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|psk|keyring)$/i;
