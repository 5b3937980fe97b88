import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The layers of src/: the read model (src/pve/model/) is what the tools and the audit
 * share, so neither imports the other; start-up code (token-check.ts) sits above both;
 * the configuration does not reach into the SSH client; src/pve/ imports nothing above
 * it; tools and checks read PVE through a run's reader, never the client itself. The patterns match import specifiers ("../../tools/x.js"); tests/architecture.test.ts
 * checks the same rules on the resolved import graph, dynamic import() included (this
 * rule does not see those), and that src/ has no import cycle.
 */
const UP = "^(\\.\\./)+";
const restrict = (message, ...regexes) => regexes.map((regex) => ({ regex, message }));
const NO_TOKEN_CHECK = restrict(
  "start-up code (token-check.ts) is above the tools and the audit; shared pieces belong in src/pve/",
  `${UP}token-check\\.js$`,
);
const NO_CLIENT = restrict(
  "tools and checks read PVE through the run's reader (pve/model/reader.ts): one request per GET per run, gaps kept",
  `${UP}pve/client\\.js$`,
);
const layers = (...patterns) => ({ "no-restricted-imports": ["error", { patterns: patterns.flat() }] });

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly" },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["error", "warn"] }],
    },
  },
  {
    files: ["bench/**", "scripts/**"],
    rules: { "no-console": "off" },
  },
  {
    files: ["src/audit/**/*.ts"],
    rules: layers(
      NO_TOKEN_CHECK,
      NO_CLIENT,
      restrict(
        "the audit does not import the tools: what both need belongs in src/pve/model/",
        `${UP}tools/`,
      ),
    ),
  },
  {
    files: ["src/tools/**/*.ts"],
    rules: layers(
      NO_TOKEN_CHECK,
      NO_CLIENT,
      restrict("the tools do not import the audit: what both need belongs in src/pve/model/", `${UP}audit/`),
    ),
  },
  {
    // The security_audit tool runs the audit, so it alone may use the audit's entry and
    // the pieces of the report it answers with; nothing else of the audit.
    files: ["src/tools/security-audit.ts"],
    rules: layers(
      NO_TOKEN_CHECK,
      NO_CLIENT,
      restrict(
        "security_audit uses the audit through index.ts (and format, report-schema, waivers) only",
        "^\\.\\./audit/(?!(index|format|report-schema|waivers)\\.js$)",
        "^(\\.\\./){2,}audit/",
      ),
    ),
  },
  {
    files: ["src/config/**/*.ts"],
    rules: layers(restrict("the configuration does not import the SSH client", `${UP}ssh/`)),
  },
  {
    files: ["src/pve/**/*.ts"],
    rules: layers(
      restrict(
        "the PVE client and read model import nothing above them (tools, audit, commands, server)",
        `${UP}(tools|audit|commands)/`,
        `${UP}server\\.js$`,
      ),
    ),
  },
);
