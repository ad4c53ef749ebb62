/** validate: settings shared by the runtime and the editor (types only). */
export type ValidateSchemaMode = "none" | "cnc-envelope" | "custom";
export type ValidateSchemaTarget = "record" | "payload";
export type ValidateUnknownTags = "pass" | "flag" | "reject";

/** One row of the rules list, as stored (JSON) in `rules`. */
export interface ValidateRuleRow {
  tag: string;
  required?: boolean;
  type?: "number" | "string" | "boolean";
  min?: number;
  max?: number;
  maxRate?: number;
  staleMs?: number;
  quality?: Array<"good" | "uncertain" | "bad">;
}

export interface ValidateConfig {
  name: string;
  /** JSON array of ValidateRuleRow. */
  rules: string;
  schema: ValidateSchemaMode;
  /** The custom JSON schema (schema = "custom"). */
  customSchema: string;
  schemaTarget: ValidateSchemaTarget;
  /** CNC envelope: convert into a LineGuard record. */
  convert: boolean;
  unknownTags: ValidateUnknownTags;
  /** Add soft warnings as `flags` to valid records. */
  flags: boolean;
  maxSources: number | string;
  /** End a message with an error (for Catch nodes) when a record of it was rejected. */
  errorOnReject: boolean;
  version: number;
}
