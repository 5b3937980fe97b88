/** The subset of Proxmox's API schema dialect the simulator needs (see pve-reference §1). */
export interface PropSchema {
  type?: "string" | "integer" | "number" | "boolean" | "array" | "object" | "null";
  optional?: number;
  /** A named format (pve-node, pve-vmid, ...) or "property-string" for inline sub-schemas. */
  format?: string;
  pattern?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  items?: PropSchema;
  default?: unknown;
}

/** `["perm", path, privs, "any", 1, "require_param", p]`, `["and", ...]`, `["or", ...]`, ... */
export type PermCheck = readonly unknown[];

export interface PermissionSpec {
  user?: "all" | "world";
  check?: PermCheck;
}

export interface ApiMethodSchema {
  parameters: Record<string, PropSchema>;
  additionalProperties: number;
  /** null = no permissions object = root@pam only. */
  permissions: PermissionSpec | null;
  proxyto: string | null;
  protected: number;
  allowtoken: number;
  /** PVE 8.4 permissions where they differ from PVE 9. */
  permissionsPve8?: PermissionSpec | null;
  absentInPve8?: number;
}
