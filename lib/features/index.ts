/**
 * lib/features: rolling windows and streaming statistics for LineGuard records.
 * `featureMessage` is what the features node does to one msg.payload (one record or a batch).
 */
import { RecordPayload, RejectedRecord, parseRecords, toPayload } from "../record";
import { FeatureEngine, WindowTensor } from "./engine";

export * from "./engine";
export * from "./rolling";

export interface FeatureOutput {
  /** Records going out (with features where a window emitted), in input order. */
  records: RecordPayload[];
  /** Window tensors, one per emitted record that had a full tensor; index = position in `records`. */
  windows: Array<WindowTensor & { index: number }>;
  rejected: RejectedRecord[];
  /** msg.payload was an array. */
  batch: boolean;
  /** Records parsed (accepted or rejected). */
  total: number;
}

/**
 * Run msg.payload through the engine. Never throws. A record that is not a valid LineGuard record,
 * or has no numeric value for any tracked tag, is rejected (code "no-values" for the latter).
 */
export function featureMessage(engine: FeatureEngine, payload: unknown, topic: unknown): FeatureOutput {
  const parsed = parseRecords(payload, topic);
  const out: FeatureOutput = {
    records: [],
    windows: [],
    rejected: parsed.rejected,
    batch: parsed.batch,
    total: parsed.records.length + parsed.rejected.length,
  };
  const every = engine.opts.emit === "every";
  const inputs = Array.isArray(payload) ? payload : [payload];
  const skip = new Set(parsed.rejected.map((r) => r.index));
  let i = 0;
  for (const rec of parsed.records) {
    // index of this record in the input (rejections interleave)
    while (skip.has(i)) i++;
    const index = i++;
    if (!engine.usable(rec)) {
      const tags = engine.opts.tags;
      out.rejected.push({
        index,
        code: "no-values",
        reason: tags
          ? `record has no numeric value for any configured tag (${tags.slice(0, 8).join(", ")}${tags.length > 8 ? ", ..." : ""})`
          : "record has no numeric value",
        input: inputs[index],
      });
      continue;
    }
    const r = engine.process(rec);
    if (!r.emitted && !every) continue;
    const p = toPayload(rec);
    if (r.emitted && r.features) p.features = { ...(rec.features ?? {}), ...r.features };
    if (r.window) out.windows.push({ ...r.window, index: out.records.length });
    out.records.push(p);
  }
  out.rejected.sort((a, b) => a.index - b.index);
  return out;
}
