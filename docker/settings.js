// Node-RED settings of the LineGuard docker image (docker/Dockerfile, docker/docker-compose.yml).
// Everything comes from the environment (docker/.env through the compose file); nothing secret is in
// this file. The user dir is /data (a named volume): flows, encrypted credentials, the OPC UA client
// PKI (lineguard-pki/), context. The sinks' disk spool is LINEGUARD_SPOOL_DIR (/spool, its own volume).
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS settings file, as Node-RED loads it */
"use strict";
const path = require("node:path");

const env = process.env;

function required(name) {
  const v = env[name];
  if (v === undefined || v.trim() === "") {
    throw new Error(`${name} is not set: copy docker/.env.example to docker/.env and fill it in (docs/deploy.md)`);
  }
  return v;
}

// The reference flows read these in their configuration fields (${NAME}); defaults are the compose
// services' names, so an unset variable never stays a literal "${NAME}" in a node.
const flowDefaults = {
  LINEGUARD_OPCUA_URL: "opc.tcp://sim-cnc:4840",
  LINEGUARD_MQTT_URL: "mqtt://mosquitto:1883",
  LINEGUARD_SIM_URL: "http://sim-cnc:8089",
  LINEGUARD_MODBUS_HOST: "sim-glass",
  LINEGUARD_MODBUS_PORT: "5020",
  LINEGUARD_GLASS_OPCUA_URL: "opc.tcp://sim-glass:4841/UA/LineGuardGlass",
  LINEGUARD_GLASS_SIM_URL: "http://sim-glass:8090",
  LINEGUARD_CAMERA_URL: "http://sim-glass:8091/stream.mjpg",
  LINEGUARD_KAFKA_BROKERS: "kafka:9092",
  LINEGUARD_INFLUX_URL: "http://influxdb:8086",
  LINEGUARD_INFLUX_ORG: "lineguard",
  LINEGUARD_INFLUX_BUCKET: "lineguard",
  LINEGUARD_INFLUX_DB: "lineguard",
  LINEGUARD_INFLUX_TOKEN: "",
};
// A bucket-scoped write token (docs/deploy.md) replaces the operator token for the sinks.
if ((env.LINEGUARD_INFLUX_WRITE_TOKEN || "").trim() !== "")
  env.LINEGUARD_INFLUX_TOKEN = env.LINEGUARD_INFLUX_WRITE_TOKEN.trim();
for (const [name, value] of Object.entries(flowDefaults)) {
  if (env[name] === undefined || env[name] === "") env[name] = value;
}

// Editor login: a bcrypt hash given as such, or made here (at container start) from the password.
function adminPasswordHash() {
  const given = (env.NODE_RED_ADMIN_PASSWORD_HASH || "").trim();
  if (given !== "") return given;
  const password = required("NODE_RED_ADMIN_PASSWORD");
  if (password.length < 8) throw new Error("NODE_RED_ADMIN_PASSWORD must have at least 8 characters");
  // bcryptjs is a dependency of Node-RED (installed next to it in /opt/lineguard/node_modules).
  const bcrypt = require(
    require.resolve("bcryptjs", { paths: [path.dirname(require.resolve("node-red/package.json"))] }),
  );
  return bcrypt.hashSync(password, 10);
}

const metricsToken = (env.LINEGUARD_METRICS_TOKEN || "").trim();

module.exports = {
  uiHost: "0.0.0.0",
  uiPort: Number(env.PORT || 1880),
  userDir: "/data",
  flowFile: "flows.json",
  flowFilePretty: true,
  // Credentials (tokens, passwords) are encrypted with this key in /data/flows_cred.json.
  credentialSecret: required("NODE_RED_CREDENTIAL_SECRET"),
  adminAuth: {
    type: "credentials",
    users: [
      {
        username: env.NODE_RED_ADMIN_USER || "admin",
        password: adminPasswordHash(),
        permissions: "*",
      },
    ],
    // Prometheus: GET /lineguard/metrics with "Authorization: Bearer $LINEGUARD_METRICS_TOKEN" (docs/metrics.md).
    tokens: function (token) {
      return Promise.resolve(
        metricsToken !== "" && token === metricsToken
          ? { username: "prometheus", permissions: "lineguard.metrics.read" }
          : null,
      );
    },
  },
  httpAdminRoot: "/",
  httpNodeRoot: "/",
  diagnostics: { enabled: false },
  runtimeState: { enabled: false },
  telemetry: { enabled: false },
  // The image is immutable: no palette installs at runtime (rebuild the image to add nodes).
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  editorTheme: {
    page: { title: "LineGuard" },
    header: { title: "LineGuard" },
    projects: { enabled: false },
    tours: false,
  },
  logging: { console: { level: env.LINEGUARD_LOG_LEVEL || "info", metrics: false, audit: false } },
  contextStorage: { default: { module: "memory" } },
  lineguard: {
    userDir: "/data",
    spoolDir: env.LINEGUARD_SPOOL_DIR || "/spool",
  },
};
