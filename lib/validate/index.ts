/** lib/validate: rules (range, rate, staleness, quality) + JSON schema (ajv) + the CNC envelope. */
export * from "./rules";
export * from "./schema";
export * from "./envelope";
export * from "./lru";
export * from "./validator";
