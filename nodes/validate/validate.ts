/**
 * validate: checks LineGuard records (or CNC collector envelopes) against per-tag rules and an
 * optional JSON schema. Thin glue: the logic is lib/validate.
 *
 * Output 1: the valid records (a batch in -> its valid part out as one batch), each with `flags`
 *           (soft warnings) when there are any; msg.topic unchanged.
 * Output 2: the rejected inputs, msg.payload = [input, ...], msg.rejected = [{ index, code, reason, tag? }];
 *           and stale events: msg.payload = [{ source, tag, lastTs, lastSeen, staleMs }],
 *           msg.rejected = [{ index, code: "stale", reason, tag, source, lastTs }], msg.stale = true.
 * done() when every record was valid; done(err) naming the rejections (unless switched off).
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from "node-red";
import { LineGuardError, errorMessage } from "../../lib/errors";
import { StaleEvent, Validator, staleRejections, summarise } from "../../lib/validate";
import { rejectionCounts } from "../../lib/metrics";
import { Send, onInput } from "../shared/input";
import { metricsRoute, nodeMetrics } from "../shared/metrics";
import { StatusThrottle, statusError, statusOk, coalesced } from "../shared/status";
import { buildValidator, validateConfig } from "./config";
import type { ValidateConfig } from "./types";

export = function (RED: NodeAPI): void {
  metricsRoute(RED);

  function ValidateNode(this: Node, def: NodeDef & Partial<ValidateConfig>): void {
    RED.nodes.createNode(this, def);
    setup(this, def);
  }

  function setup(node: Node, def: NodeDef & Partial<ValidateConfig>): void {
    const cfg = validateConfig(def);
    let validator: Validator;
    try {
      validator = buildValidator(cfg);
    } catch (err) {
      const text = RED._("validate.errors.badConfig", { error: errorMessage(err) });
      node.status(statusError(RED._("validate.status.badConfig")));
      node.error(text);
      onInput(node, () => {
        throw new Error(text);
      });
      return;
    }
    const v = validator;
    const errorOnReject = cfg.errorOnReject !== false && String(cfg.errorOnReject) !== "false";
    const status = new StatusThrottle(node, 500);
    const metrics = nodeMetrics(RED, node, "validate");
    let closing = false;
    let lastProblem: string | undefined;

    function render(): void {
      if (closing) return;
      const c = v.counters;
      const text = RED._("validate.status.counts", { in: c.in, valid: c.valid, rejected: c.rejected, stale: c.stale });
      if (lastProblem !== undefined) status.set(statusError(`${text} · ${lastProblem}`));
      else status.set(statusOk(text));
    }
    // Per-message redraws at most every 250 ms.
    const renderSoon = coalesced(render, 250);

    function emitStale(events: StaleEvent[]): void {
      if (events.length === 0 || closing) return;
      const sources = new Set(events.map((e) => e.source));
      const msg: NodeMessage = { payload: events };
      if (sources.size === 1) msg.topic = events[0]!.source;
      (msg as NodeMessage & { rejected: unknown; stale: boolean }).rejected = staleRejections(events);
      (msg as NodeMessage & { stale: boolean }).stale = true;
      node.send([null, msg]);
      renderSoon();
    }

    const every = v.staleCheckInterval();
    const staleTimer =
      every === undefined
        ? undefined
        : setInterval(() => {
            try {
              emitStale(v.checkStale());
            } catch (err) {
              node.error(RED._("validate.errors.stale", { error: errorMessage(err) }));
            }
          }, every);

    function handle(msg: NodeMessageInFlow, send: Send): void {
      const r = v.validate(msg.payload, msg.topic);
      let out2: NodeMessage | null = null;
      if (r.rejected.length > 0) {
        // Not cloned here: Node-RED clones it on send when output 1 goes too, and a deep clone of
        // an input it cannot clone (10k-deep objects, throwing getters) would lose the reasons.
        out2 = { ...msg, payload: r.rejectedInputs } as NodeMessage;
        (out2 as NodeMessage & { rejected: unknown }).rejected = r.rejected;
      }
      let out1: NodeMessage | null = null;
      const good: unknown[] = r.passed.length > 0 ? r.passed : r.valid;
      if (good.length > 0) {
        msg.payload = r.batch ? good : good[0];
        out1 = msg;
      }
      if (out1 || out2) send([out1, out2]);
      metrics.recordsIn(r.total);
      metrics.recordsOut(good.length);
      for (const [code, n] of rejectionCounts(r.total, good.length, r.rejected)) metrics.rejected(n, code);
      if (r.rejected.length > 0) {
        const summary = summarise(r);
        lastProblem = summary;
        renderSoon();
        if (errorOnReject) throw new LineGuardError("rejected", summary);
      } else {
        lastProblem = undefined;
        renderSoon();
      }
    }

    onInput(node, handle, { errorStatus: false });
    render();

    node.on("close", (_removed: boolean, done: () => void) => {
      closing = true;
      if (staleTimer) clearInterval(staleTimer);
      renderSoon.cancel();
      status.stop();
      v.reset();
      done();
    });
  }

  RED.nodes.registerType("validate", ValidateNode);
};
