#!/usr/bin/env node
// npm start: Node-RED with the LineGuard pack loaded, in a user dir of its own (.lineguard-user/ by
// default). The pack is linked into <userDir>/node_modules, so Node-RED loads it like an installed
// package. Stops cleanly on Ctrl-C / SIGTERM.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const userDir = path.resolve(process.env.LINEGUARD_USER_DIR || path.join(root, ".lineguard-user"));
const host = process.env.LINEGUARD_HOST || "127.0.0.1";
const port = Number(process.env.LINEGUARD_PORT || 1880);

function log(msg) {
  process.stdout.write(`[lineguard] ${msg}\n`);
}

if (!fs.existsSync(path.join(root, "dist", "nodes"))) {
  log("building (dist/ is missing)");
  await new Promise((resolve, reject) => {
    const b = spawn(process.execPath, [path.join(root, "scripts", "build.mjs")], { stdio: "inherit" });
    b.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`build failed (${code})`))));
  });
}

fs.mkdirSync(path.join(userDir, "node_modules"), { recursive: true });
const link = path.join(userDir, "node_modules", "node-red-contrib-lineguard");
let linked = false;
try {
  linked = fs.realpathSync(link) === fs.realpathSync(root);
} catch {
  linked = false;
}
if (!linked) {
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, "dir");
}

// LINEGUARD_NODE_RED_DIR: a folder whose node_modules holds another Node-RED (CI's Node-RED 5 pass).
const nrFrom = process.env.LINEGUARD_NODE_RED_DIR ? [path.resolve(process.env.LINEGUARD_NODE_RED_DIR)] : [root];
const redJs = path.join(path.dirname(require.resolve("node-red/package.json", { paths: nrFrom })), "red.js");
const child = spawn(
  process.execPath,
  [
    redJs,
    "--userDir",
    userDir,
    "--settings",
    path.join(root, "scripts", "node-red-settings.cjs"),
    "--port",
    String(port),
  ],
  { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, LINEGUARD_USER_DIR: userDir } },
);
let announced = false;
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  if (!announced && /Started flows|Server now running/.test(String(chunk))) {
    announced = true;
    log(`editor:    http://${host}:${port}/`);
  }
});

const stop = (sig) => {
  log(`stopping (${sig})`);
  child.kill("SIGTERM");
  setTimeout(() => child.kill("SIGKILL"), 10000).unref();
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
