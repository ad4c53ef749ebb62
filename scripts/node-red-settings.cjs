// Node-RED settings for `npm start` (the embedded default). Everything comes from environment
// variables with loopback defaults; see README "Configuration".
const path = require("node:path");

const env = process.env;
module.exports = {
  uiHost: env.LINEGUARD_HOST || "127.0.0.1",
  uiPort: Number(env.LINEGUARD_PORT || 1880),
  flowFile: env.LINEGUARD_FLOW_FILE || "flows.json",
  flowFilePretty: true,
  // Credentials (passwords, tokens, keys) are encrypted with this key in flows_cred.json.
  credentialSecret: env.LINEGUARD_CREDENTIAL_SECRET || "lineguard-local-development-only",
  httpAdminRoot: "/",
  httpNodeRoot: "/",
  diagnostics: { enabled: false },
  runtimeState: { enabled: false },
  telemetry: { enabled: false },
  externalModules: { autoInstall: false, palette: { allowInstall: true } },
  logging: { console: { level: env.LINEGUARD_LOG_LEVEL || "info", metrics: false, audit: false } },
  editorTheme: {
    page: { title: "LineGuard" },
    header: { title: "LineGuard" },
    projects: { enabled: false },
    tours: false,
  },
  contextStorage: { default: { module: "memory" } },
  lineguard: { userDir: env.LINEGUARD_USER_DIR || path.resolve(__dirname, "..", ".lineguard-user") },
};
