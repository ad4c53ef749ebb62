/**
 * node-red-node-test-helper, initialised against the Node-RED under test: the devDependency
 * (4.1.x) by default, or the one in LINEGUARD_NODE_RED_DIR (CI's Node 22 pass uses Node-RED 5).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import helper from "node-red-node-test-helper";
import { ServiceName, requireService } from "./integration";

const nrDir = process.env.LINEGUARD_NODE_RED_DIR;
const redPath = nrDir ? require.resolve("node-red", { paths: [path.resolve(nrDir)] }) : require.resolve("node-red");
// A fresh user dir per test process: the sinks' disk spools live under it, so one run's leftovers
// are never replayed into the next.
export const testUserDir = fs.mkdtempSync(path.join(os.tmpdir(), "lg-userdir-"));
process.on("exit", () => fs.rmSync(testUserDir, { recursive: true, force: true }));
helper.init(redPath, { userDir: testUserDir });

export { helper };

/** Node-RED version under test, e.g. "4.1.15". */
export function nodeRedVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(path.join(path.dirname(redPath), "..", "package.json")) as { version: string }).version;
}

/**
 * The usual lifecycle of a node-test suite: (optionally) require a real server, start the helper's
 * HTTP server before the suite, unload the flow after each test, stop the server after the suite.
 */
export function useHelper(service?: ServiceName): void {
  before(async function () {
    // a suite before may have pointed the user dir elsewhere (helper.settings replaces all settings)
    helper.settings({ userDir: testUserDir });
    if (service) await requireService(this, service);
    await helper.startServer();
  });
  after(async () => {
    await helper.stopServer();
  });
  afterEach(async () => {
    await helper.unload();
  });
}
