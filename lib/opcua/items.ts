/**
 * Which variables a subscription monitors, and under which source id and tag name: listed node
 * ids (described one by one) plus the variables under a folder (browsed recursively, capped).
 */
import type { ClientSession } from "node-opcua";
import { errorMessage } from "../errors";
import { browseVariables, describeNode } from "./browse";

export interface MonitoredVariable {
  nodeId: string;
  /** Record tag: the variable's browse name. */
  tag: string;
  /** Record source id. */
  source: string;
  dataType?: string;
}

export interface SourceRule {
  rule: "parent" | "fixed";
  /** The fixed source id. */
  source: string;
}

export interface ResolveResult {
  items: MonitoredVariable[];
  errors: { nodeId: string; reason: string }[];
  truncated: boolean;
}

/** Source id by rule: the parent's browse name, or the fixed id. */
export function sourceOf(rule: SourceRule, parent: string): string {
  return rule.rule === "fixed" ? rule.source : parent;
}

/**
 * Make tags unique per source: a second variable with the same browse name under the same source
 * gets "<browseName>@<nodeId>" (and it keeps that name across reconnects: the order is stable).
 */
export function uniqueTags(items: MonitoredVariable[]): MonitoredVariable[] {
  const seen = new Set<string>();
  return items.map((it) => {
    const key = `${it.source}\u0000${it.tag}`;
    if (!seen.has(key)) {
      seen.add(key);
      return it;
    }
    return { ...it, tag: `${it.tag}@${it.nodeId}` };
  });
}

export async function resolveVariables(
  session: ClientSession,
  opts: { nodeIds: string[]; folder?: string; maxDepth: number; maxVariables: number; source: SourceRule },
): Promise<ResolveResult> {
  const items: MonitoredVariable[] = [];
  const errors: ResolveResult["errors"] = [];
  const seen = new Set<string>();
  for (const id of opts.nodeIds) {
    try {
      const d = await describeNode(session, id);
      const nodeId = id.trim();
      if (seen.has(nodeId)) continue;
      seen.add(nodeId);
      const v: MonitoredVariable = { nodeId, tag: d.browseName, source: sourceOf(opts.source, d.parent) };
      if (d.dataType) v.dataType = d.dataType;
      items.push(v);
    } catch (err) {
      errors.push({ nodeId: id, reason: errorMessage(err) });
    }
  }
  let truncated = false;
  if (opts.folder) {
    const left = Math.max(0, opts.maxVariables - items.length);
    const r = await browseVariables(session, opts.folder, { maxDepth: opts.maxDepth, maxVariables: left });
    truncated = r.truncated;
    for (const v of r.variables) {
      if (seen.has(v.nodeId)) continue;
      seen.add(v.nodeId);
      const m: MonitoredVariable = { nodeId: v.nodeId, tag: v.browseName, source: sourceOf(opts.source, v.parent) };
      if (v.dataType) m.dataType = v.dataType;
      items.push(m);
    }
  }
  return { items: uniqueTags(items), errors, truncated };
}
