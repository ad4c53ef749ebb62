/** opcua-in: settings shared by the runtime and the editor (types only). */
export type OpcuaDeadband = "none" | "absolute" | "percent";
export type OpcuaOutputMode = "change" | "group";
export type OpcuaSourceRule = "parent" | "fixed";

export interface OpcuaInConfig {
  name: string;
  /** id of the opcua-endpoint config node */
  endpoint: string;
  /** Node ids to monitor, one per line. */
  nodeIds: string;
  /** A folder/object node id whose variables are monitored (browsed recursively at deploy). */
  folder: string;
  /** Levels below the folder to browse. */
  maxDepth: number | string;
  /** Cap on the variables taken from the folder. */
  maxVariables: number | string;
  samplingInterval: number | string;
  publishingInterval: number | string;
  queueSize: number | string;
  deadband: OpcuaDeadband;
  deadbandValue: number | string;
  /** One record per value change, or one record per source per window. */
  output: OpcuaOutputMode;
  groupWindow: number | string;
  /** Source id: the variable's parent object browse name, or a fixed topic. */
  sourceRule: OpcuaSourceRule;
  source: string;
  version: number;
}
