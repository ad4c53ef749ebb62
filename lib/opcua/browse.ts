/**
 * Browse helpers: the children of a node, and the variables under a folder (recursive, capped).
 */
import {
  AttributeIds,
  BrowseDirection,
  DataType,
  NodeClass,
  NodeClassMask,
  type ClientSession,
  type NodeId,
  type ReferenceDescription,
  resolveNodeId,
} from "node-opcua";

export interface BrowseEntry {
  nodeId: string;
  browseName: string;
  displayName: string;
  nodeClass: string;
  /** Built-in data type name of a variable (e.g. "Double"), or the data type node id. */
  dataType?: string;
}

export interface VariableEntry extends BrowseEntry {
  /** Browse names from the start folder's child down to this variable's parent. */
  path: string[];
  /** Browse name of the variable's parent object (the default source id). */
  parent: string;
}

/** Parse a node id string, with a clear error. */
export function parseNodeId(text: unknown): NodeId {
  if (typeof text !== "string" || text.trim() === "") throw new Error("empty node id");
  try {
    return resolveNodeId(text.trim());
  } catch {
    throw new Error(`"${String(text).slice(0, 100)}" is not a valid node id (e.g. ns=1;s=CNC/cnc-01/spindle_load)`);
  }
}

/** Split a list of node ids (one per line, or separated by commas outside quotes). */
export function parseNodeIdList(text: unknown): string[] {
  if (Array.isArray(text)) return text.map((t) => String(t).trim()).filter((t) => t !== "");
  if (typeof text !== "string") return [];
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function browseName(r: ReferenceDescription): string {
  return r.browseName?.name ?? r.displayName?.text ?? r.nodeId.toString();
}

function dataTypeName(v: unknown): string | undefined {
  const n = v as NodeId | undefined;
  if (!n || typeof n !== "object") return undefined;
  if (n.namespace === 0 && typeof n.value === "number" && DataType[n.value] !== undefined) return DataType[n.value];
  return n.toString();
}

async function readDataTypes(session: ClientSession, ids: NodeId[]): Promise<(string | undefined)[]> {
  if (ids.length === 0) return [];
  const dvs = await session.read(ids.map((nodeId) => ({ nodeId, attributeId: AttributeIds.DataType })));
  return dvs.map((dv) => (dv.statusCode.isGood() ? dataTypeName(dv.value.value) : undefined));
}

/** All forward hierarchical references of a node (following continuation points), with data types of variables. */
export async function browseChildren(session: ClientSession, nodeId: string, maxCount = 5000): Promise<BrowseEntry[]> {
  const id = parseNodeId(nodeId);
  const refs: ReferenceDescription[] = [];
  let res = await session.browse({
    nodeId: id,
    browseDirection: BrowseDirection.Forward,
    referenceTypeId: "HierarchicalReferences",
    includeSubtypes: true,
    nodeClassMask: NodeClassMask.Object | NodeClassMask.Variable,
    resultMask: 63,
  });
  if (res.statusCode.isNotGood()) throw new Error(`browse ${nodeId} failed: ${res.statusCode.name}`);
  refs.push(...(res.references ?? []));
  while (res.continuationPoint && res.continuationPoint.length > 0 && refs.length < maxCount) {
    res = await session.browseNext(res.continuationPoint, false);
    refs.push(...(res.references ?? []));
  }
  if (res.continuationPoint && res.continuationPoint.length > 0) {
    await session.browseNext(res.continuationPoint, true).catch(() => undefined);
  }
  const kept = refs.slice(0, maxCount);
  const varIdx = kept.map((r, i) => (r.nodeClass === NodeClass.Variable ? i : -1)).filter((i) => i >= 0);
  const types = await readDataTypes(
    session,
    varIdx.map((i) => kept[i]!.nodeId),
  );
  const out: BrowseEntry[] = kept.map((r) => ({
    nodeId: r.nodeId.toString(),
    browseName: browseName(r),
    displayName: r.displayName?.text ?? browseName(r),
    nodeClass: NodeClass[r.nodeClass] ?? String(r.nodeClass),
  }));
  varIdx.forEach((i, k) => {
    const t = types[k];
    if (t !== undefined) out[i]!.dataType = t;
  });
  return out;
}

export interface BrowseLimits {
  /** Folder/object levels below the start node (default 5). */
  maxDepth?: number;
  /** Stop after this many variables (default 2000). */
  maxVariables?: number;
  /** Descend into variables' own children (properties)? Default false. */
  includeProperties?: boolean;
}

/**
 * Variables under `folder`, breadth-first, at most `maxDepth` levels deep and `maxVariables` in all.
 * Variables' children (properties such as EURange) are not collected.
 */
export async function browseVariables(
  session: ClientSession,
  folder: string,
  limits: BrowseLimits = {},
): Promise<{ variables: VariableEntry[]; truncated: boolean }> {
  const maxDepth = limits.maxDepth ?? 5;
  const maxVariables = limits.maxVariables ?? 2000;
  const start = parseNodeId(folder).toString();
  const seen = new Set<string>([start]);
  let level: { nodeId: string; path: string[]; name: string }[] = [{ nodeId: start, path: [], name: "" }];
  const variables: VariableEntry[] = [];
  let truncated = false;
  for (let depth = 0; depth < maxDepth && level.length > 0; depth++) {
    const next: typeof level = [];
    for (const parent of level) {
      const children = await browseChildren(session, parent.nodeId);
      for (const c of children) {
        if (seen.has(c.nodeId)) continue;
        seen.add(c.nodeId);
        if (c.nodeClass === "Variable") {
          if (variables.length >= maxVariables) {
            truncated = true;
            continue;
          }
          variables.push({ ...c, path: parent.path, parent: parent.name || c.browseName });
        } else if (c.nodeClass === "Object") {
          next.push({ nodeId: c.nodeId, path: [...parent.path, c.browseName], name: c.browseName });
        }
      }
    }
    level = next;
    if (variables.length >= maxVariables && next.length > 0) truncated = true;
  }
  if (level.length > 0) truncated = true;
  return { variables, truncated };
}

/** Browse name of a node and of its parent (for node ids listed directly), via inverse references. */
export async function describeNode(
  session: ClientSession,
  nodeId: string,
): Promise<{ browseName: string; parent: string; dataType?: string }> {
  const id = parseNodeId(nodeId);
  const [bn, dt] = await session.read([
    { nodeId: id, attributeId: AttributeIds.BrowseName },
    { nodeId: id, attributeId: AttributeIds.DataType },
  ]);
  if (!bn || bn.statusCode.isNotGood()) {
    throw new Error(`node ${nodeId} does not exist on the server (${bn?.statusCode.name ?? "no answer"})`);
  }
  const browseNameText = (bn.value.value as { name?: string } | null)?.name ?? nodeId;
  const inv = await session.browse({
    nodeId: id,
    browseDirection: BrowseDirection.Inverse,
    referenceTypeId: "HierarchicalReferences",
    includeSubtypes: true,
    nodeClassMask: 0,
    resultMask: 63,
  });
  const parentRef = inv.references?.[0];
  const out: { browseName: string; parent: string; dataType?: string } = {
    browseName: browseNameText,
    parent: parentRef ? browseName(parentRef) : browseNameText,
  };
  const t = dt && dt.statusCode.isGood() ? dataTypeName(dt.value.value) : undefined;
  if (t) out.dataType = t;
  return out;
}
