/**
 * validate: defaults, migrations and validation of the node's settings. No Node-RED import.
 */
import { Validator, ValidatorOptions } from "../../lib/validate";
import { Migration, fillDefaults, migrate } from "../shared/migrate";
import type { ValidateConfig } from "./types";

export const VALIDATE_VERSION = 1;

export const VALIDATE_DEFAULTS: Omit<ValidateConfig, "version"> = {
  name: "",
  rules: "[]",
  schema: "none",
  customSchema: "",
  schemaTarget: "record",
  convert: true,
  unknownTags: "pass",
  flags: true,
  maxSources: 1000,
  errorOnReject: true,
};

export const VALIDATE_MIGRATIONS: Record<number, Migration> = {
  // 0 -> 1: configs saved before versioning: every missing setting takes its default.
  0: (c) => fillDefaults(c, VALIDATE_DEFAULTS),
};

export function validateConfig(def: object): ValidateConfig {
  return migrate<ValidateConfig>(def, VALIDATE_VERSION, VALIDATE_MIGRATIONS);
}

function oneOf<T extends string>(v: unknown, list: readonly T[], name: string): T {
  if (typeof v === "string" && (list as readonly string[]).includes(v)) return v as T;
  throw new Error(`${name} must be one of ${list.join(", ")}, got "${String(v)}"`);
}

function bool(v: unknown, name: string): boolean {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new Error(`${name} must be true or false`);
}

/** Validated validator options; throws an Error saying what is wrong (rules, schema, limits). */
export function validateOptions(cfg: ValidateConfig): ValidatorOptions {
  const maxSources = Number(cfg.maxSources);
  if (!Number.isInteger(maxSources) || maxSources < 1 || maxSources > 1_000_000) {
    throw new Error(`max sources must be a whole number from 1 to 1000000, got "${String(cfg.maxSources)}"`);
  }
  const schema = oneOf(cfg.schema, ["none", "cnc-envelope", "custom"] as const, "schema");
  return {
    rules: typeof cfg.rules === "string" ? cfg.rules : JSON.stringify(cfg.rules ?? []),
    schema,
    customSchema: cfg.customSchema,
    schemaTarget: oneOf(cfg.schemaTarget, ["record", "payload"] as const, "schema applies to"),
    convert: bool(cfg.convert, "convert"),
    unknownTags: oneOf(cfg.unknownTags, ["pass", "flag", "reject"] as const, "unknown tags"),
    flags: bool(cfg.flags, "flags"),
    maxSources,
  };
}

/** Build the validator of a (migrated) config; throws at deploy on bad rules or a bad schema. */
export function buildValidator(cfg: ValidateConfig, now?: () => number): Validator {
  const opts = validateOptions(cfg);
  return new Validator(now ? { ...opts, now } : opts);
}
