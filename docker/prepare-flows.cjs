// First start of the LineGuard container: the reference flows (flows/cnc-line.json, flows/glass-line.json,
// copied into the image) become /data/flows.json, unless the user dir already has a flow file (the
// user's edits win) or LINEGUARD_RESET_FLOWS=1. As scripts/start.mjs does, with two changes for the
// stack's InfluxDB 2: the InfluxDB config node speaks the v2 API with org ${LINEGUARD_INFLUX_ORG}, and
// every influxdb out node writes to the bucket ${LINEGUARD_INFLUX_BUCKET}. The token is a credential:
// the credentials file holds the reference ${LINEGUARD_INFLUX_TOKEN} (Node-RED substitutes it and
// encrypts the file with credentialSecret on its next save); no secret is written to disk here.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const userDir = process.env.LINEGUARD_USER_DIR || "/data";
const flowsDir = process.env.LINEGUARD_FLOWS_DIR || path.join(__dirname, "flows");
const lines = (process.env.LINEGUARD_LINES || "cnc,glass")
  .split(",")
  .map((l) => l.trim())
  .filter((l) => l === "cnc" || l === "glass");
const influxVersion = process.env.LINEGUARD_INFLUX_VERSION || "2";

const flowFile = path.join(userDir, "flows.json");
const credFile = path.join(userDir, "flows_cred.json");
if (fs.existsSync(flowFile) && process.env.LINEGUARD_RESET_FLOWS !== "1") {
  process.stdout.write(`[lineguard] keeping the existing flow file ${flowFile}\n`);
  process.exit(0);
}
const flow = [];
const seen = new Set();
for (const line of lines) {
  for (const n of JSON.parse(fs.readFileSync(path.join(flowsDir, `${line}-line.json`), "utf8"))) {
    if (seen.has(n.id)) continue;
    seen.add(n.id);
    if (influxVersion === "2" && n.type === "influxdb-config") {
      n.version = "2";
      n.org = "${LINEGUARD_INFLUX_ORG}";
    }
    if (influxVersion === "2" && n.type === "influxdb-out" && !n.bucket) n.bucket = "${LINEGUARD_INFLUX_BUCKET}";
    flow.push(n);
  }
}
fs.mkdirSync(userDir, { recursive: true });
fs.writeFileSync(flowFile, JSON.stringify(flow, null, 4));
const creds = {};
for (const n of flow) if (n.type === "influxdb-config") creds[n.id] = { token: "${LINEGUARD_INFLUX_TOKEN}" };
fs.writeFileSync(credFile, JSON.stringify(creds, null, 2));
process.stdout.write(`[lineguard] flow file ${flowFile} from the reference flows (${lines.join(", ")})\n`);
