/**
 * node-red-node-test-helper, initialised against the Node-RED under test: the devDependency
 * (4.1.x) by default, or the one in LINEGUARD_NODE_RED_DIR (CI's Node 22 pass uses Node-RED 5).
 */
import path from "node:path";
import helper from "node-red-node-test-helper";
import { ServiceName, requireService } from "./integration";

const nrDir = process.env.LINEGUARD_NODE_RED_DIR;
const redPath = nrDir ? require.resolve("node-red", { paths: [path.resolve(nrDir)] }) : require.resolve("node-red");
helper.init(redPath);

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
