#!/usr/bin/env python3
"""
Extracts the GET endpoints the PBS simulator serves from PBS's own sources into
api-definitions.ts (committed; the tests compare the simulator's routes against it).

  fetch github:proxmox/proxmox-backup   (a bare git dir)
  python3 src/simulator/pbs/extract-api-definitions.py <git-dir> > src/simulator/pbs/api-definitions.ts
  npx prettier --write src/simulator/pbs/api-definitions.ts

For each path below, the Router wiring (path -> handler) was read by hand from the
Router/SubdirMap definitions in src/api2/**/*.rs and is checked here: the handler must be
named in the file (`API_METHOD_<NAME>` or `&api_function_name`). The parameters (name,
type/schema, optional, enum of inline types) and the permission are taken mechanically
from the `#[api(...)]` block in front of the handler `fn`.
"""
import json
import re
import subprocess
import sys

GIT = sys.argv[1]
REV = sys.argv[2] if len(sys.argv) > 2 else "HEAD"

# path -> (file below src/api2, handler fn)
ROUTES = [
    ("/version", "version.rs", "get_version"),
    ("/ping", "ping.rs", "ping"),
    ("/nodes", "node/mod.rs", "list_nodes"),
    ("/nodes/{node}/status", "node/status.rs", "get_status"),
    ("/nodes/{node}/subscription", "node/subscription.rs", "get_subscription"),
    ("/nodes/{node}/apt/repositories", "node/apt.rs", "get_repositories"),
    ("/nodes/{node}/tasks", "node/tasks.rs", "list_tasks"),
    ("/nodes/{node}/tasks/{upid}/status", "node/tasks.rs", "get_task_status"),
    ("/nodes/{node}/tasks/{upid}/log", "node/tasks.rs", "read_task_log"),
    ("/status/datastore-usage", "status.rs", "datastore_status"),
    ("/admin/datastore", "admin/datastore.rs", "get_datastore_list"),
    ("/admin/datastore/{store}/status", "admin/datastore.rs", "status"),
    ("/admin/datastore/{store}/groups", "admin/datastore.rs", "list_groups"),
    ("/admin/datastore/{store}/snapshots", "admin/datastore.rs", "list_snapshots"),
    ("/admin/datastore/{store}/gc", "admin/datastore.rs", "garbage_collection_status"),
    ("/admin/datastore/{store}/namespace", "admin/namespace.rs", "list_namespaces"),
    ("/admin/gc", "admin/gc.rs", "list_all_gc_jobs"),
    ("/admin/verify", "admin/verify.rs", "list_verification_jobs"),
    ("/admin/prune", "admin/prune.rs", "list_prune_jobs"),
    ("/admin/sync", "admin/sync.rs", "list_sync_jobs"),
    ("/config/datastore", "config/datastore.rs", "list_datastores"),
    ("/config/datastore/{name}", "config/datastore.rs", "read_datastore"),
    ("/config/verify", "config/verify.rs", "list_verification_jobs"),
    ("/config/prune", "config/prune.rs", "list_prune_jobs"),
    ("/config/sync", "config/sync.rs", "list_sync_jobs"),
    ("/config/remote", "config/remote.rs", "list_remotes"),
    ("/config/remote/{name}", "config/remote.rs", "read_remote"),
    ("/access/users", "access/user.rs", "list_users"),
    ("/access/acl", "access/acl.rs", "read_acl"),
    ("/access/tfa", "access/tfa.rs", "list_tfa"),
    ("/access/permissions", "access/mod.rs", "list_permissions"),
    ("/access/roles", "access/role.rs", "list_roles"),
    ("/access/domains", "access/domain.rs", "list_domains"),
]


def show(path):
    return subprocess.run(
        ["git", "-C", GIT, "show", f"{REV}:{path}"], check=True, capture_output=True, text=True
    ).stdout


def api_block(src, fn):
    m = re.search(r"^(?:pub(?:\(crate\))? )?(?:async )?fn " + fn + r"\s*[(<]", src, re.M)
    if not m:
        raise SystemExit(f"fn {fn} not found")
    start = src.rfind("#[api", 0, m.start())
    prev_fn = max(src.rfind("\nfn ", 0, m.start()), src.rfind(" fn ", 0, m.start()))
    if start < 0 or start < prev_fn:
        # A hand-built ApiMethod: `ApiMethod::new(&ApiHandler::Sync(&fn), &ObjectSchema::new(.., &[]))
        # .access(None, &Permission::X)`.
        a = re.search(
            r"ApiHandler::\w+\(&" + fn + r"\)([\s\S]*?)\.access\(\s*(?:None|Some\([^)]*\))\s*,\s*(&Permission::\w+(?:\([^)]*\))?)\s*,?\s*\)",
            src,
        )
        if not a:
            raise SystemExit(f"no #[api] for {fn}")
        props = "".join(
            f'"{n}": {{ schema: {sch}, optional: {o} }}, '
            for n, o, sch in re.findall(r'\(\s*"([^"]+)"\s*,\s*(true|false)\s*,\s*&(\w+)\s*\)', a.group(1))
        )
        return "input: { properties: { " + props + "} }, access: { permission: " + a.group(2) + " }"
    if src.startswith("#[api]", start):
        return ""
    i = start + len("#[api")
    depth = 0
    for j in range(i, len(src)):
        c = src[j]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return src[i + 1 : j]
    raise SystemExit("unbalanced #[api]")


def strip_comments(s):
    return re.sub(r"//[^\n]*", "", s)


def parse_obj(s, i):
    """Parses `{ key: value, ... }` starting at s[i] == '{'; returns (dict, next index)."""
    assert s[i] == "{", s[i : i + 40]
    i += 1
    out = {}
    while True:
        while i < len(s) and s[i] in " \t\r\n,":
            i += 1
        if s[i] == "}":
            return out, i + 1
        m = re.compile(r'"([^"]+)"|([A-Za-z_][A-Za-z0-9_-]*)').match(s, i)
        key = m.group(1) or m.group(2)
        i = m.end()
        while s[i] in " \t\r\n":
            i += 1
        assert s[i] == ":", (key, s[i : i + 40])
        i += 1
        while s[i] in " \t\r\n":
            i += 1
        if s[i] == "{":
            val, i = parse_obj(s, i)
        else:
            j, depth, in_str = i, 0, False
            while j < len(s):
                c = s[j]
                if in_str:
                    if c == "\\":
                        j += 1
                    elif c == '"':
                        in_str = False
                elif c == '"':
                    in_str = True
                elif c in "([{":
                    depth += 1
                elif c in ")]}":
                    if depth == 0:
                        break
                    depth -= 1
                elif c == "," and depth == 0:
                    break
                j += 1
            val = re.sub(r"\s+", " ", s[i:j].strip())
            i = j
        out[key] = val


def top(block):
    return parse_obj("{" + strip_comments(block) + "}", 0)[0]


def norm_perm(p):
    p = p.replace("&", "").replace(" ", "")
    return p


defs = {}
for path, file, fn in ROUTES:
    src = show(f"src/api2/{file}")
    if f"API_METHOD_{fn.upper()}" not in src and f"&{fn}" not in src and f"::{fn}" not in src:
        raise SystemExit(f"{fn} is not wired into a router in {file}")
    api = top(api_block(src, fn))
    props = {}
    inp = api.get("input", {})
    for name, p in (inp.get("properties", {}) if isinstance(inp, dict) else {}).items():
        if not isinstance(p, dict):
            p = {"schema": p}
        entry = {"optional": p.get("optional") == "true" or "default" in p}
        if "schema" in p:
            entry["schema"] = p["schema"]
        if "type" in p:
            entry["type"] = p["type"]
        for k in ("default", "minimum", "maximum"):
            if k in p:
                entry[k] = p[k]
        props[name] = entry
    access = api.get("access", {})
    perm = access.get("permission") if isinstance(access, dict) else None
    defs[path] = {
        "file": f"src/api2/{file}",
        "handler": fn,
        "parameters": props,
        "permission": norm_perm(perm) if perm else "Superuser (default)",
    }

commit = subprocess.run(["git", "-C", GIT, "rev-parse", REV], capture_output=True, text=True).stdout.strip()
print("/**")
print(" * GET endpoints of PBS as its sources declare them (generated; do not edit by hand).")
print(f" * Source: github.com/proxmox/proxmox-backup at {commit}.")
print(" * Generated by src/simulator/pbs/extract-api-definitions.py (see its header). Parameters:")
print(" * name -> {optional, type | schema}; permission: the `access.permission` expression with `&`")
print(" * and spaces removed.")
print(" */")
print("export interface PbsApiParameter {")
print("  optional: boolean;")
print("  type?: string;")
print("  schema?: string;")
print("  default?: string;")
print("  minimum?: string;")
print("  maximum?: string;")
print("}")
print("export interface PbsApiDefinition {")
print("  file: string;")
print("  handler: string;")
print("  parameters: Record<string, PbsApiParameter>;")
print("  permission: string;")
print("}")
print(f'export const PBS_API_SOURCE_COMMIT = "{commit}";')
print("export const PBS_API_DEFINITIONS: Record<string, PbsApiDefinition> = " + json.dumps(defs, indent=2) + ";")
