// Building blocks of scripts/extract-api-schema.mjs, shared with tests/simulator/contract.test.ts.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";

/** Proxmox's PVE 9.1 flat schema and the PVE 8.4 schema flattened the same way. */
export function loadSchemas(sharedPveApiDir) {
  const flat9 = JSON.parse(readFileSync(join(sharedPveApiDir, "pve-api-flat.json"), "utf8"));
  const js = gunzipSync(readFileSync(join(sharedPveApiDir, "pve8/apidata-pve8.4.js.gz"))).toString();
  const flat8 = flatten(JSON.parse(js.slice(js.indexOf("["), js.lastIndexOf("]") + 1)));
  return { flat9, flat8 };
}

function flatten(tree, acc = {}) {
  for (const node of tree) {
    if (node.info) acc[node.path] = node.info;
    if (node.children) flatten(node.children, acc);
  }
  return acc;
}

const KEEP = [
  "type",
  "optional",
  "format",
  "pattern",
  "enum",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "items",
  "default",
];

function slimProp(p) {
  const out = {};
  for (const k of KEEP) {
    if (p[k] === undefined) continue;
    if (k === "format" && typeof p[k] === "object") out.format = "property-string";
    else if (k === "items") out.items = slimProp(p.items);
    else out[k] = p[k];
  }
  return out;
}

function withoutDescription(permissions) {
  if (!permissions) return null;
  const { description: _d, ...rest } = permissions;
  return rest;
}

/** The embedded schema entries for the given "METHOD /path" keys. */
export function buildApiSchema({ flat9, flat8 }, keys) {
  const out = {};
  for (const key of [...keys].sort()) {
    const [method, path] = key.split(" ");
    const info = flat9[path]?.[method];
    if (!info) throw new Error(`${key} is not in Proxmox's PVE 9 API schema`);
    const props = info.parameters?.properties ?? {};
    const entry = {
      parameters: Object.fromEntries(
        Object.keys(props)
          .sort()
          .map((k) => [k, slimProp(props[k])]),
      ),
      additionalProperties: info.parameters?.additionalProperties ? 1 : 0,
      permissions: withoutDescription(info.permissions),
      proxyto: info.proxyto ?? null,
      protected: info.protected ? 1 : 0,
      allowtoken: info.allowtoken === 0 ? 0 : 1,
    };
    const info8 = flat8[path]?.[method];
    if (!info8) entry.absentInPve8 = 1;
    else if (JSON.stringify(withoutDescription(info8.permissions)) !== JSON.stringify(entry.permissions)) {
      entry.permissionsPve8 = withoutDescription(info8.permissions);
    }
    out[key] = entry;
  }
  return out;
}
