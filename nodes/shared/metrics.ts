/**
 * Node glue for the Prometheus metrics (lib/metrics.ts): a node's metrics handle, closed with the node,
 * and the scrape endpoint GET /lineguard/metrics on the Node-RED admin app (under httpAdminRoot),
 * guarded by the permission "lineguard.metrics.read" (a read-only admin user has it). docs/metrics.md.
 */
import type { Request, Response } from "express";
import type { Node, NodeAPI } from "node-red";
import { LineGuardMetrics, NodeMetrics, lineguardMetrics } from "../../lib/metrics";

export const METRICS_PATH = "/lineguard/metrics";
export const METRICS_PERMISSION = "lineguard.metrics.read";

type RouteRED = Pick<NodeAPI, "httpAdmin"> & { auth?: Partial<NodeAPI["auth"]> };

/** Admin apps that already serve the route (one registration per Node-RED instance). */
const served = new WeakSet<object>();

/**
 * Serve GET /lineguard/metrics on RED.httpAdmin, once per admin app (node modules call this when they
 * load, nodeMetrics() again, so the endpoint is there before the first node starts).
 */
export function metricsRoute(RED: RouteRED, metrics: LineGuardMetrics = lineguardMetrics): void {
  const app = RED.httpAdmin as unknown as object | undefined;
  if (!app || typeof (app as { get?: unknown }).get !== "function" || served.has(app)) return;
  served.add(app);
  const handler = (_req: Request, res: Response): void => {
    metrics.text().then(
      (text) => {
        // end(), not send(): express would rewrite the content type's parameters.
        res.status(200);
        res.setHeader("Content-Type", metrics.contentType);
        res.setHeader("Cache-Control", "no-store");
        res.end(text);
      },
      (err: unknown) => {
        res
          .status(500)
          .type("text/plain")
          .send(`metrics failed: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  };
  const guard = RED.auth?.needsPermission?.(METRICS_PERMISSION);
  if (guard) RED.httpAdmin.get(METRICS_PATH, guard, handler);
  else RED.httpAdmin.get(METRICS_PATH, handler);
}

/** The metrics handle of a node (labels: id, type, name); closed on the node's "close" event. */
export function nodeMetrics(RED: NodeAPI, node: Node, type: string): NodeMetrics {
  metricsRoute(RED);
  const m = lineguardMetrics.forNode({ id: node.id, type, name: typeof node.name === "string" ? node.name : "" });
  node.on("close", () => m.close());
  return m;
}
