// Node-RED settings for `npm start` (the embedded default). Everything comes from environment
// variables with loopback defaults; see README "Configuration".
const path = require("node:path");

const env = process.env;

// Defaults of the environment variables the reference flows (flows/cnc-line.json, flows/glass-line.json) use in its
// configuration fields (${NAME}); scripts/start.mjs sets the simulator ones from its ports. An unset
// variable would stay as the literal "${NAME}" in the node, so every one gets a value here.
const opcuaPort = env.LINEGUARD_OPCUA_PORT || "4840";
const mqttPort = env.LINEGUARD_MQTT_PORT || "1883";
const simHttpPort = env.LINEGUARD_SIM_HTTP_PORT || "8089";
const glassOpcuaPort = env.LINEGUARD_GLASS_OPCUA_PORT || "4841";
const glassHttpPort = env.LINEGUARD_GLASS_SIM_HTTP_PORT || "8090";
const cameraPort = env.LINEGUARD_CAMERA_PORT || "8091";
const flowDefaults = {
  LINEGUARD_OPCUA_URL: `opc.tcp://127.0.0.1:${opcuaPort}`,
  LINEGUARD_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
  LINEGUARD_SIM_URL: `http://127.0.0.1:${simHttpPort}`,
  // Glass line (flows/glass-line.json): Modbus PLCs, OPC UA view, simulator API and camera.
  LINEGUARD_MODBUS_HOST: "127.0.0.1",
  LINEGUARD_MODBUS_PORT: "5020",
  LINEGUARD_GLASS_OPCUA_URL: `opc.tcp://127.0.0.1:${glassOpcuaPort}/UA/LineGuardGlass`,
  LINEGUARD_GLASS_SIM_URL: `http://127.0.0.1:${glassHttpPort}`,
  LINEGUARD_CAMERA_URL: `http://127.0.0.1:${cameraPort}/stream.mjpg`,
  LINEGUARD_KAFKA_BROKERS: "127.0.0.1:9092",
  LINEGUARD_INFLUX_URL: "http://127.0.0.1:8086",
  LINEGUARD_INFLUX_DB: "lineguard",
  // InfluxDB credential (2.x API token, or "user:password" for 1.8; empty = no authentication).
  LINEGUARD_INFLUX_TOKEN: "",
};
for (const [name, value] of Object.entries(flowDefaults)) {
  if (env[name] === undefined || env[name] === "") env[name] = value;
}

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
