// Minimal types for node-red-node-test-helper 0.3.x (the package ships none).
declare module "node-red-node-test-helper" {
  import type { EventEmitter } from "node:events";
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type AnyNode = any;
  type NodeInit = (RED: AnyNode) => void | Promise<void>;
  interface TestHelper extends EventEmitter {
    init(runtimePath?: string, userSettings?: Record<string, unknown>): void;
    settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
    load(
      testNode: NodeInit | NodeInit[],
      testFlow: object[],
      testCredentials?: Record<string, Record<string, unknown>>,
    ): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): AnyNode;
    clearFlows(): Promise<void>;
    setFlows(flow: object[], type?: string, credentials?: Record<string, Record<string, unknown>>): Promise<void>;
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
    url(): string;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    request(): any;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    log(): any;
  }
  const helper: TestHelper;
  export = helper;
}
