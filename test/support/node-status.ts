/**
 * Reading what a node did in a node-red-node-test-helper run: its statuses (the helper spies on
 * the Node prototype, so calls are read from the spy and filtered by node) and the messages a helper
 * node received.
 */
export interface Status {
  fill?: string;
  shape?: string;
  text?: string;
}

/** Every status the node set so far, including those set in its constructor. */
export function statusesOf(node: any): Status[] {
  const spy = node.status as { getCalls?: () => Array<{ thisValue: unknown; args: unknown[] }> };
  if (!spy.getCalls) return [];
  return spy
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => (typeof c.args[0] === "string" ? { text: c.args[0] } : (c.args[0] as Status)));
}

export function lastStatus(node: any): Status | undefined {
  const all = statusesOf(node);
  return all[all.length - 1];
}

/** Collect the messages a helper node receives. */
export function collect(node: any): any[] {
  const out: any[] = [];
  node.on("input", (msg: any) => out.push(msg));
  return out;
}
