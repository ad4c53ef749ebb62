/**
 * features: rolling-window statistics per source and tag, added to LineGuard records.
 * Thin glue: windows and statistics live in lib/features.
 *
 * Output 1: the records at which a window emitted (or every accepted record, when configured),
 *           each with `features` = { tag: { mean, std, ... }, __ratios?: { "a/b": v } }; one record in
 *           -> one record out, a batch in -> a batch out; msg.window = the window tensor(s) when on.
 * Output 2: the rejected inputs: msg.payload = [input, ...], msg.rejected = [{ index, code, reason }].
 * done() when every record was accepted; done(err) naming the rejections.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { LineGuardError, errorMessage } from "../../lib/errors";
import { FeatureEngine, featureMessage } from "../../lib/features";
import { summariseRejections } from "../../lib/record";
import { rejectionCounts } from "../../lib/metrics";
import { Send, onInput } from "../shared/input";
import { metricsRoute, nodeMetrics } from "../shared/metrics";
import { StatusThrottle, statusError, statusOk, coalesced } from "../shared/status";
import { featuresConfig, featuresOptions } from "./config";
import type { FeaturesConfig } from "./types";

export = function (RED: NodeAPI): void {
  metricsRoute(RED);

  function FeaturesNode(this: Node, def: NodeDef & Partial<FeaturesConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<FeaturesConfig>): void {
    const cfg = featuresConfig(def);
    let engine: FeatureEngine;
    try {
      engine = new FeatureEngine(featuresOptions(cfg));
    } catch (err) {
      const text = RED._("features.errors.badConfig", { error: errorMessage(err) });
      node.status(statusError(RED._("features.status.badConfig")));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }
    const e = engine;
    const status = new StatusThrottle(node, 500);
    const metrics = nodeMetrics(RED, node, "features");
    let closing = false;
    let rejectedTotal = 0;
    let lastProblem: string | undefined;

    function render(): void {
      if (closing) return;
      const c = e.counters;
      const text = RED._("features.status.counts", {
        records: c.records,
        emitted: c.emitted,
        sources: e.sourceCount,
        rejected: rejectedTotal,
      });
      if (lastProblem !== undefined) status.set(statusError(`${text} · ${lastProblem}`));
      else status.set(statusOk(text));
    }
    // Per-message redraws at most every 250 ms.
    const renderSoon = coalesced(render, 250);

    function handle(msg: NodeMessageInFlow, send: Send): void {
      const r = featureMessage(e, msg.payload, msg.topic);
      let out1: NodeMessage | null = null;
      if (r.records.length > 0) {
        out1 = msg as NodeMessage;
        out1.payload = r.batch ? r.records : r.records[0];
        if (r.windows.length > 0) out1.window = r.batch ? r.windows : r.windows[0];
        else delete out1.window;
      }
      let out2: NodeMessage | null = null;
      if (r.rejected.length > 0) {
        rejectedTotal += r.rejected.length;
        // the rejected inputs are not part of output 1, so they are not copied
        out2 = {
          ...(out1 ? { _msgid: msg._msgid } : msg),
          topic: msg.topic,
          payload: r.rejected.map((x) => x.input),
          rejected: r.rejected.map(({ index, code, reason }) => ({ index, code, reason })),
        } as NodeMessage;
      }
      if (out1 || out2) send([out1, out2]);
      metrics.recordsIn(r.total);
      metrics.recordsOut(r.records.length);
      for (const [code, n] of rejectionCounts(r.total, r.total - r.rejected.length, r.rejected)) {
        metrics.rejected(n, code);
      }
      if (r.rejected.length > 0) {
        const summary = summariseRejections(r.rejected, r.total);
        lastProblem = RED._("lineguard.status.rejected", { count: rejectedTotal });
        render();
        throw new LineGuardError("rejected", summary);
      }
      lastProblem = undefined;
      renderSoon();
    }

    onInput(node, handle, { errorStatus: false });
    render();

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      renderSoon.cancel();
      status.stop();
      e.clear();
      done();
    });
  }

  RED.nodes.registerType("features", FeaturesNode);
};
