/**
 * The raw API tool's path check. A path string from a model becomes a known PVE API
 * endpoint (API_PATHS, generated from Proxmox's own schema) with every variable segment
 * checked and percent-encoded, or a PveInputError with one actionable line. It routes
 * like PVE's router (pve-common RESTHandler::find_handler): literal segments first, one
 * segment per `{var}`, except where PVE mounts a subtree with fragmentDelimiter '' and so
 * joins the rest of the path into one value: the storage content `{volume}` (volume IDs
 * hold '/': pve-manager Storage/Status.pm) and the firewall IP set `{cidr}` (10.0.0.0/24:
 * pve-firewall IPSet.pm). The schema does not record this; TAKES_THE_REST lists them.
 *
 * Refused before any matching: no leading '/', more than 1024 characters, anything but
 * printable ASCII (whitespace, control characters, look-alike letters), '?', '#', '%'
 * (no percent-encoding: pveproxy decodes %2F before routing, so an encoded path could
 * route elsewhere; we encode), '\', empty segments ('//') and '.' or '..' segments. A
 * leading /api2/json is dropped, and so is one trailing '/' (PVE's router ignores it too).
 */
import { API_PATHS } from "./api-paths.js";
import { PveInputError } from "./errors.js";
import { checkPathParam, isPathParamName, RULES } from "./formats.js";

/** A path below /api2/json that parseApiPath accepted, each segment percent-encoded. */
export type CheckedApiPath = string & { readonly __checked: unique symbol };

export interface ParsedApiPath {
  /** Ready to send: the path below /api2/json, each segment percent-encoded. */
  path: CheckedApiPath;
  /** The endpoint's template, e.g. "/nodes/{node}/qemu/{vmid}/status/start". */
  template: string;
  /** The value of each `{var}`, as given (vmid "100", volume "local:iso/debian.iso"). */
  params: Record<string, string>;
}

/** The HTTP methods of PVE's API (pveproxy answers anything else with 501). */
export type ApiMethod = "GET" | "POST" | "PUT" | "DELETE";

export const API_METHODS: readonly ApiMethod[] = ["GET", "POST", "PUT", "DELETE"];
export const MAX_API_PATH_LENGTH = 1024;

/** How many endpoints (path templates) the schema has for each method. */
export const API_ENDPOINT_COUNTS: Readonly<Record<ApiMethod, number>> = Object.freeze({
  GET: API_PATHS.GET.length,
  POST: API_PATHS.POST.length,
  PUT: API_PATHS.PUT.length,
  DELETE: API_PATHS.DELETE.length,
});
/** All method + path pairs. */
export const API_ENDPOINT_TOTAL = API_METHODS.reduce((sum, m) => sum + API_ENDPOINT_COUNTS[m], 0);

const API_PREFIX = "/api2/json";
const API_VIEWER = "https://pve.proxmox.com/pve-docs/api-viewer/";
/** What a `{var}` without a PVE format in formats.ts may hold. */
const SAFE_SEGMENT = /^[A-Za-z0-9._@!:=+,~-]+$/;
const SAFE_RULE = "may only hold letters, digits and . _ @ ! : = + , ~ -";
/** Variables that take the rest of the path (fragmentDelimiter '' in PVE's Perl sources), by template. */
const TAKES_THE_REST = new Set([
  "/nodes/{node}/storage/{storage}/content/{volume}",
  "/cluster/firewall/ipset/{name}/{cidr}",
  "/nodes/{node}/qemu/{vmid}/firewall/ipset/{name}/{cidr}",
  "/nodes/{node}/lxc/{vmid}/firewall/ipset/{name}/{cidr}",
]);

interface RouteNode {
  literals: Map<string, RouteNode>;
  variable?: { name: string; node: RouteNode; rest: boolean };
  methods: Set<ApiMethod>;
}

const newNode = (): RouteNode => ({ literals: new Map(), methods: new Set() });

function buildRoutes(): RouteNode {
  const root = newNode();
  for (const method of API_METHODS) {
    for (const template of API_PATHS[method]) {
      let node = root;
      const segments = template.slice(1).split("/");
      segments.forEach((segment, i) => {
        const name = /^\{(.+)\}$/.exec(segment)?.[1];
        if (name === undefined) {
          let next = node.literals.get(segment);
          if (!next) node.literals.set(segment, (next = newNode()));
          node = next;
          return;
        }
        node.variable ??= {
          name,
          node: newNode(),
          rest: TAKES_THE_REST.has(`/${segments.slice(0, i + 1).join("/")}`),
        };
        // PVE's router allows one variable name per level ("found changed regex match name").
        if (node.variable.name !== name)
          throw new Error(`${template}: {${name}} beside {${node.variable.name}}`);
        node = node.variable.node;
      });
      node.methods.add(method);
    }
  }
  return root;
}

const ROUTES = buildRoutes();
for (const template of TAKES_THE_REST) {
  if (!API_METHODS.some((m) => API_PATHS[m].includes(template)))
    throw new Error(`${template} is not in API_PATHS`);
}

/** Throws PveInputError (field "path") with one actionable line if `input` is not a PVE API endpoint for `method`. */
export function parseApiPath(method: ApiMethod, input: string): ParsedApiPath {
  if (!API_METHODS.includes(method)) throw new PveInputError("method", "must be GET, POST, PUT or DELETE");
  if (typeof input !== "string")
    throw new PveInputError("path", "must be a string such as /cluster/resources");
  if (input.length > MAX_API_PATH_LENGTH) {
    throw new PveInputError("path", `must be at most ${MAX_API_PATH_LENGTH} characters`);
  }
  if (!input.startsWith("/")) {
    throw new PveInputError("path", "must start with / (e.g. /nodes/pve1/qemu/100/status/current)");
  }
  checkCharacters(input);

  let rest = input;
  let offset = 0; // segments before the API path, for error positions that match the input
  if (rest === API_PREFIX || rest.startsWith(`${API_PREFIX}/`)) {
    rest = rest.slice(API_PREFIX.length) || "/";
    offset = 2;
  }
  if (rest.length > 1 && rest.endsWith("/") && !rest.endsWith("//")) rest = rest.slice(0, -1);
  const segments = rest === "/" ? [] : rest.slice(1).split("/");
  if (segments.includes("")) throw new PveInputError("path", "must not contain empty segments ('//')");
  if (segments.some((s) => s === "." || s === "..")) {
    throw new PveInputError("path", "must not contain '.' or '..' segments (write the path out in full)");
  }

  const notFound = () => notAnEndpoint(method, input, []);
  let node = ROUTES;
  const template: string[] = [];
  const encoded: string[] = [];
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const literal = node.literals.get(segment);
    if (literal) {
      node = literal;
      template.push(segment);
      encoded.push(encodeURIComponent(segment));
      continue;
    }
    const variable = node.variable;
    if (!variable) throw notFound();
    template.push(`{${variable.name}}`);
    node = variable.node;
    const taken = variable.rest ? segments.slice(i) : [segment];
    const values = taken.map((s, j) => checkSegment(variable.name, s, offset + i + j + 1));
    params[variable.name] = values.join("/");
    encoded.push(...values.map(encodeURIComponent));
    i += taken.length - 1;
  }
  if (!node.methods.has(method)) throw notAnEndpoint(method, input, [...node.methods]);
  return { path: `/${encoded.join("/")}` as CheckedApiPath, template: `/${template.join("/")}`, params };
}

/** Printable ASCII only, and none of the characters that change what a URL means. */
function checkCharacters(input: string): void {
  const bad = /[^\x21-\x7e]|[?#%\\]/.exec(input);
  if (!bad) return;
  const char = bad[0];
  const at = `(character ${bad.index + 1})`;
  let rule: string;
  if (char === "?") rule = `must not contain '?' ${at}: pass parameters in params, not in the path`;
  else if (char === "#") rule = `must not contain '#' ${at}`;
  else if (char === "%") rule = `must not contain '%' ${at}: write the path unencoded, it is encoded for you`;
  else if (char === "\\") rule = `must not contain a backslash ${at}`;
  else if (/\s/.test(char)) rule = `must not contain whitespace ${at}`;
  else if (isControl(char)) rule = `must not contain control characters ${at}`;
  else rule = `must be plain ASCII ${at}: no accented or look-alike letters`;
  throw new PveInputError("path", rule);
}

function isControl(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/** The value of `{name}` at 1-based segment `position`, checked against PVE's format where we know it. */
function checkSegment(name: string, value: string, position: number): string {
  if (isPathParamName(name)) {
    try {
      return checkPathParam(name, value);
    } catch (err) {
      if (err instanceof PveInputError) {
        throw new PveInputError("path", `segment ${position} ({${name}}) ${RULES[name]}`);
      }
      throw err;
    }
  }
  if (!SAFE_SEGMENT.test(value))
    throw new PveInputError("path", `segment ${position} ({${name}}) ${SAFE_RULE}`);
  return value;
}

function notAnEndpoint(method: ApiMethod, input: string, methods: ApiMethod[]): PveInputError {
  const others = API_METHODS.filter((m) => methods.includes(m));
  const what = `${method} ${input} is not a Proxmox VE API endpoint`;
  if (others.length > 0) {
    const list = others.length === 1 ? others[0] : `${others.slice(0, -1).join(", ")} and ${others.at(-1)}`;
    return new PveInputError("path", `${what}: that path exists for ${list} only`);
  }
  return new PveInputError("path", `${what} (see ${API_VIEWER}); check the path and method`);
}

/**
 * A CheckedApiPath is checked again where it is sent: for that method (a path parsed for
 * GET is not a POST endpoint), and against a forged brand (`"..." as CheckedApiPath`).
 */
export function assertCheckedPath(method: ApiMethod, path: CheckedApiPath): void {
  let decoded: string;
  try {
    decoded = String(path)
      .split("/")
      .map((segment) => decodeURIComponent(segment))
      .join("/");
  } catch {
    throw new PveInputError("path", "is not a path that parseApiPath returned");
  }
  if (parseApiPath(method, decoded).path !== path) {
    throw new PveInputError("path", "is not a path that parseApiPath returned");
  }
}
