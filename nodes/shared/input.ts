/**
 * The input handler every LineGuard node uses (convention 3): the handler is `(msg, send)` and may
 * be async; every path ends in done() or done(err), a failure also shows a red status, and Catch
 * nodes see it. Nothing a message contains can crash Node-RED through here.
 */
import type { NodeMessage, NodeMessageInFlow, NodeStatus } from "node-red";
import { errorMessage } from "../../lib/errors";
import { statusError } from "./status";

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
export type Done = (err?: Error) => void;

export interface InputNode {
  on(event: "input", listener: (msg: NodeMessageInFlow, send: Send, done: Done) => void): unknown;
  status(s: NodeStatus | string): void;
}

export type Handler = (msg: NodeMessageInFlow, send: Send) => void | Promise<void>;

export interface InputOptions {
  /** Secrets to redact from the status text. */
  secrets?: () => readonly string[];
  /** Show errors on the status (default true). */
  errorStatus?: boolean;
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}

export function onInput(node: InputNode, handler: Handler, opts: InputOptions = {}): void {
  node.on("input", (msg, send, done) => {
    const fail = (err: unknown): void => {
      const e = toError(err);
      if (opts.errorStatus !== false) node.status(statusError(e.message, opts.secrets?.() ?? []));
      done(e);
    };
    let result: void | Promise<void>;
    try {
      result = handler(msg, send);
    } catch (err) {
      fail(err);
      return;
    }
    if (result && typeof (result as Promise<void>).then === "function") {
      (result as Promise<void>).then(() => done(), fail);
    } else {
      done();
    }
  });
}
