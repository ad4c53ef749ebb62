/**
 * JSON Schema (ajv) applied to msg.payload before record parsing: compiled once at deploy; a bad
 * schema is a deploy-time error with a clear message. No Node-RED import.
 */
import Ajv, { ErrorObject, ValidateFunction } from "ajv";

export type SchemaCheck = (data: unknown) => string | undefined;

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return "does not match the schema";
  return errors
    .slice(0, 3)
    .map((e) => `${e.instancePath === "" ? "payload" : `payload${e.instancePath}`} ${e.message ?? "is invalid"}`)
    .join("; ");
}

/**
 * Compile a schema (an object or a JSON string). Throws an Error saying what is wrong with it.
 * The returned check never throws: it returns undefined when the data is valid, else the reason.
 */
export function compileSchema(schema: unknown): SchemaCheck {
  let s = schema;
  if (typeof s === "string") {
    if (s.trim() === "") throw new Error("the JSON schema is empty");
    try {
      s = JSON.parse(s) as unknown;
    } catch (err) {
      throw new Error(`the JSON schema is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof s !== "boolean" && (s === null || typeof s !== "object" || Array.isArray(s))) {
    throw new Error("the JSON schema must be an object");
  }
  const ajv = new Ajv({
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
    allErrors: false,
    logger: false,
  });
  let fn: ValidateFunction;
  try {
    fn = ajv.compile(s as object);
  } catch (err) {
    throw new Error(`invalid JSON schema: ${(err as Error).message}`);
  }
  return (data: unknown) => {
    try {
      return fn(data) ? undefined : describeErrors(fn.errors);
    } catch (err) {
      return `could not be checked against the schema (${(err as Error).name})`;
    }
  };
}
