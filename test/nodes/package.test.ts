/**
 * The pack as a user gets it: `npm start` (scripts/start.mjs) runs the real Node-RED under test with
 * the package linked into a fresh user dir; every node of package.json must load without error, its
 * generated editor file and help must be served, and the example flows must be listed.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { nodeRedVersion } from "../support/helper";

const root = path.resolve(__dirname, "..", "..", "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require(path.join(root, "package.json")) as { "node-red": { nodes: Record<string, string> } };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

describe("package in a real Node-RED (npm start)", function () {
  this.timeout(90000);
  let child: ChildProcess | undefined;
  let base = "";
  let output = "";
  let userDir = "";

  before(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "lineguard-start-"));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [path.join(root, "scripts", "start.mjs")], {
      env: { ...process.env, LINEGUARD_USER_DIR: userDir, LINEGUARD_PORT: String(port), LINEGUARD_NO_SIM: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 60000;
    while (!/editor:\s+http/.test(output)) {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}):\n${output}`);
      if (Date.now() > deadline) throw new Error(`Node-RED did not start within 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child!.once("exit", r));
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("runs the Node-RED under test", async () => {
    const res = await fetch(`${base}/settings`);
    const settings = (await res.json()) as { version: string };
    // A Node-RED run from a git checkout-like layout reports "-git" after its version.
    assert.equal(settings.version.replace(/-git$/, ""), nodeRedVersion());
  });

  it("loads every node of package.json without error", async () => {
    const res = await fetch(`${base}/nodes`, { headers: { Accept: "application/json" } });
    assert.equal(res.status, 200);
    const sets = (await res.json()) as Array<{
      module: string;
      name: string;
      types: string[];
      enabled: boolean;
      err?: string;
    }>;
    const ours = sets.filter((s) => s.module === "node-red-contrib-lineguard");
    for (const name of Object.keys(pkg["node-red"].nodes)) {
      const set = ours.find((s) => s.name === name);
      assert.ok(set, `node set ${name} not registered:\n${output}`);
      assert.equal(set.err, undefined, `node set ${name} failed to load: ${set.err}`);
      assert.ok(set.enabled);
    }
    assert.doesNotMatch(output, /\[error\]/i, output);
  });

  it("serves each node's generated editor file with help", async () => {
    const res = await fetch(`${base}/nodes`, { headers: { Accept: "text/html" } });
    const html = await res.text();
    for (const name of Object.keys(pkg["node-red"].nodes)) {
      assert.match(html, new RegExp(`data-template-name="${name}"`), `no edit template for ${name}`);
      assert.match(html, new RegExp(`registerType\\(\\s*"${name}"`), `no editor script for ${name}`);
    }
    // Help and messages come through the locale endpoint of each node set.
    for (const name of Object.keys(pkg["node-red"].nodes)) {
      const loc = await fetch(`${base}/locales/node-red-contrib-lineguard/${name}?lng=en-US`);
      assert.equal(loc.status, 200, `no messages for ${name}`);
      const msgs = (await loc.json()) as Record<string, unknown>;
      assert.ok(msgs[name], `messages of ${name} lack the "${name}" key`);
      assert.ok(msgs.lineguard, `messages of ${name} lack the shared "lineguard" vocabulary`);
    }
    for (const name of Object.keys(pkg["node-red"].nodes)) {
      assert.match(html, new RegExp(`data-help-name="${name}"`), `no help for ${name}`);
    }
  });

  it("lists the example flows in Import > Examples", async () => {
    const res = await fetch(`${base}/library/examples/flows/node-red-contrib-lineguard`);
    assert.equal(res.status, 200);
    const list = (await res.json()) as Array<{ fn?: string }>;
    const files = fs.readdirSync(path.join(root, "examples")).filter((f) => f.endsWith(".json"));
    assert.ok(files.length > 0);
    assert.deepEqual(list.map((e) => `${e.fn}.json`).sort(), files.sort());
    for (const f of files) {
      const flow = await fetch(`${base}/library/examples/flows/node-red-contrib-lineguard/${f.replace(/\.json$/, "")}`);
      assert.equal(flow.status, 200);
      assert.ok(Array.isArray(await flow.json()), `${f} is not a flow`);
    }
  });
});
