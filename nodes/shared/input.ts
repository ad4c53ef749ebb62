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
  /** Log an error without a message (no Catch node sees it). */
  error?(text: string): void;
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

/**
 * done() hands the message to Catch / Complete nodes, which clone it: a message Node-RED cannot
 * clone (thousands of levels deep, a getter that throws) makes done() throw. Called from a promise
 * that would be an unhandled rejection, which ends the Node-RED process: report it instead.
 */
function safeDone(node: InputNode, done: Done, err?: Error): void {
  try {
    done(err);
  } catch (e) {
    const text = `${err ? `${err.message}; ` : ""}the message could not be passed on: ${errorMessage(e)}`;
    try {
      node.error?.(text);
    } catch {
      // nothing more can be done for this message
    }
  }
}

export function onInput(node: InputNode, handler: Handler, opts: InputOptions = {}): void {
  node.on("input", (msg, send, done) => {
    const fail = (err: unknown): void => {
      const e = toError(err);
      if (opts.errorStatus !== false) node.status(statusError(e.message, opts.secrets?.() ?? []));
      safeDone(node, done, e);
    };
    let result: void | Promise<void>;
    try {
      result = handler(msg, send);
    } catch (err) {
      fail(err);
      return;
    }
    if (result && typeof (result as Promise<void>).then === "function") {
      (result as Promise<void>).then(() => safeDone(node, done), fail);
    } else {
      safeDone(node, done);
    }
  });
}
