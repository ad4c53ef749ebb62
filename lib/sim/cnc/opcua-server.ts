/**
 * The CNC simulator's OPC UA server (node-opcua): Objects/CNC/<id>/<tag> variables with proper
 * DataTypes, source timestamps and StatusCodes, optional Objects/CNC/<id>/Labels/*, and the methods
 * InjectFailure(type, rampSeconds), ClearFailure() and StartMaintenance() on each machine object.
 * Binds 127.0.0.1 by default; PKI lives in a temp dir unless configured (never ~/.config).
 */
import { DataType, Namespace, UAObject } from "node-opcua";
import { OpcuaSimOptions, SimOpcuaServer, SimServerProfile, unitTagNodeId } from "../common/opcua-base";
import { CncFleet, FailureType, TAGS, TagName, isFailureType } from "./model";

export type { OpcuaSimOptions };

export const DEFAULT_OPCUA_PORT = 4840;
export const SIM_NAMESPACE_URI = "urn:lineguard:sim:cnc";

/** NodeId string of a machine variable, e.g. "CNC/cnc-01/spindle_load" (in the simulator's namespace). */
export function tagNodeId(machine: string, tag: string): string {
  return unitTagNodeId("CNC", machine, tag);
}

const PROFILE: SimServerProfile<TagName, FailureType> = {
  root: "CNC",
  namespaceUri: SIM_NAMESPACE_URI,
  productName: "LineGuard CNC simulator",
  defaultPort: DEFAULT_OPCUA_PORT,
  defaultResourcePath: "/UA/LineGuardSim",
  defaultPkiName: "lineguard-sim-pki",
  tags: TAGS,
  failureTypesText: "bearing-wear, tool-wear, spindle-overheat, coolant-loss or axis-misalignment",
  isFailureType,
};

export class CncOpcuaServer extends SimOpcuaServer<TagName, FailureType> {
  constructor(
    private readonly fleet: CncFleet,
    opts: OpcuaSimOptions = {},
  ) {
    super(PROFILE, fleet, opts);
  }

  /** The tags and the vendor, directly under Objects/CNC/<id>. */
  protected addTags(ns: Namespace, obj: UAObject, id: string): void {
    for (const t of TAGS) this.addTag(ns, obj, id, t);
    ns.addVariable({
      componentOf: obj,
      browseName: "Vendor",
      nodeId: tagNodeId(id, "Vendor"),
      dataType: "String",
      value: { dataType: DataType.String, value: this.fleet.get(id).vendor },
    });
  }
}
