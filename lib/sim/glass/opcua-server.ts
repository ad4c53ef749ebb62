/**
 * The glass simulator's OPC UA view of the same line(s) (node-opcua), following the CNC server
 * (lib/sim/cnc/opcua-server.ts): Objects/Glass/<line>/<Section>/<tag> (sections Line, Furnace,
 * TinBath, Lehr, Ribbon, Alarms) with NodeIds s=Glass/<line>/<tag>, proper DataTypes, source
 * timestamps and StatusCodes, optional Objects/Glass/<line>/Labels/*, and the methods
 * InjectFailure(type, rampSeconds), ClearFailure() and StartMaintenance() on each line object.
 * Binds 127.0.0.1 by default (port 4841); PKI in a temp dir unless configured (never ~/.config).
 */
import { Namespace, UAObject } from "node-opcua";
import { OpcuaSimOptions, SimOpcuaServer, SimServerProfile, unitTagNodeId } from "../common/opcua-base";
import { GLASS_TAGS, GlassFailureType, GlassPlant, GlassTagName, isGlassFailureType } from "./model";

export type { OpcuaSimOptions };

export const DEFAULT_GLASS_OPCUA_PORT = 4841;
export const GLASS_NAMESPACE_URI = "urn:lineguard:sim:glass";

/** NodeId string of a line variable, e.g. "s=Glass/glass-01/furnace_t1" (in the simulator's namespace). */
export function glassTagNodeId(line: string, tag: string): string {
  return unitTagNodeId("Glass", line, tag);
}

const PROFILE: SimServerProfile<GlassTagName, GlassFailureType> = {
  root: "Glass",
  namespaceUri: GLASS_NAMESPACE_URI,
  productName: "LineGuard glass line simulator",
  defaultPort: DEFAULT_GLASS_OPCUA_PORT,
  defaultResourcePath: "/UA/LineGuardGlass",
  defaultPkiName: "lineguard-sim-pki-glass",
  tags: GLASS_TAGS,
  failureTypesText: "furnace-zone-drift, burner-failure, tin-bath-contamination, lehr-cooling-fault or thickness-drift",
  isFailureType: isGlassFailureType,
};

export class GlassOpcuaServer extends SimOpcuaServer<GlassTagName, GlassFailureType> {
  constructor(plant: GlassPlant, opts: OpcuaSimOptions = {}) {
    super(PROFILE, plant, opts);
  }

  /** The tags in one object per section (Line, Furnace, TinBath, Lehr, Ribbon, Alarms). */
  protected addTags(ns: Namespace, obj: UAObject, id: string): void {
    const sections = new Map<string, UAObject>();
    for (const t of GLASS_TAGS) {
      let sec = sections.get(t.section);
      if (!sec) {
        sec = ns.addObject({ componentOf: obj, browseName: t.section, nodeId: `s=Glass/${id}/${t.section}` });
        sections.set(t.section, sec);
      }
      this.addTag(ns, sec, id, t);
    }
  }
}
