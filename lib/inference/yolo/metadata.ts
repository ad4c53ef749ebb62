/**
 * Model metadata for YOLO exports: the ONNX `metadata_props` (read from the file, onnxruntime-node does
 * not expose them) and the values Ultralytics writes there: `names` as a Python dict literal
 * ("{0: 'bubble', 1: 'stone'}"), `imgsz` ("[640, 640]"), `stride`, `task`, `end2end`. Parsed without eval.
 */
import fs from "node:fs";

/** Reads a base-128 varint at `pos`; returns [value, next position]. */
function varint(buf: Uint8Array, pos: number): [number, number] {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error("truncated varint");
    const b = buf[pos++]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [value, pos];
    mul *= 128;
  }
  throw new Error("varint too long");
}

/** Walks the top-level fields of a protobuf message; calls `onField(field, start, end)` for length-delimited ones. */
function walk(
  buf: Uint8Array,
  start: number,
  end: number,
  onField: (field: number, s: number, e: number) => void,
): void {
  let pos = start;
  while (pos < end) {
    const [tag, p1] = varint(buf, pos);
    pos = p1;
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) pos = varint(buf, pos)[1];
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, p2] = varint(buf, pos);
      if (p2 + len > end) throw new Error("truncated field");
      onField(field, p2, p2 + len);
      pos = p2 + len;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  if (pos !== end) throw new Error("truncated message");
}

/** `metadata_props` (ModelProto field 14: key = 1, value = 2) of an ONNX model held in `buf`. */
export function onnxMetadataFromBuffer(buf: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const dec = new TextDecoder();
  walk(buf, 0, buf.length, (field, s, e) => {
    if (field !== 14) return;
    let key: string | undefined;
    let value = "";
    walk(buf, s, e, (f, a, b) => {
      if (f === 1) key = dec.decode(buf.subarray(a, b));
      else if (f === 2) value = dec.decode(buf.subarray(a, b));
    });
    if (key !== undefined) out[key] = value;
  });
  return out;
}

/** `metadata_props` of the ONNX file at `file`; {} when the file has none or cannot be parsed. */
export function readOnnxMetadata(file: string): Record<string, string> {
  try {
    return onnxMetadataFromBuffer(fs.readFileSync(file));
  } catch {
    return {};
  }
}

type Lit = string | number | boolean | null | Lit[] | { [k: string]: Lit };

/**
 * Parses a Python literal (dicts, lists, tuples, str, int, float, True/False/None) or JSON. Only literals:
 * anything else is an error. Used for Ultralytics metadata values.
 */
export function parsePythonLiteral(text: string): Lit {
  let i = 0;
  const s = text;
  const ws = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`${what} at position ${i} of ${JSON.stringify(s.length > 80 ? s.slice(0, 80) + "…" : s)}`);
  };
  const str = (): string => {
    const q = s[i]!;
    i++;
    let out = "";
    while (i < s.length && s[i] !== q) {
      if (s[i] === "\\") {
        const c = s[i + 1];
        i += 2;
        if (c === "n") out += "\n";
        else if (c === "t") out += "\t";
        else if (c === "r") out += "\r";
        else if (c === "x" || c === "u") {
          const n = c === "x" ? 2 : 4;
          const hex = s.slice(i, i + n);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail("bad escape");
          out += String.fromCharCode(parseInt(hex, 16));
          i += n;
        } else if (c === undefined) fail("unterminated string");
        else out += c;
      } else out += s[i++];
    }
    if (i >= s.length) fail("unterminated string");
    i++;
    return out;
  };
  const value = (): Lit => {
    ws();
    const c = s[i];
    if (c === undefined) return fail("unexpected end");
    if (c === "'" || c === '"') return str();
    if (c === "{") {
      i++;
      const obj: { [k: string]: Lit } = {};
      ws();
      while (s[i] !== "}") {
        const k = value();
        if (typeof k !== "string" && typeof k !== "number") fail("dict key must be a string or number");
        ws();
        if (s[i] !== ":") fail("expected ':'");
        i++;
        obj[String(k)] = value();
        ws();
        if (s[i] === ",") {
          i++;
          ws();
        } else if (s[i] !== "}") fail("expected ',' or '}'");
      }
      i++;
      return obj;
    }
    if (c === "[" || c === "(") {
      const close = c === "[" ? "]" : ")";
      i++;
      const arr: Lit[] = [];
      ws();
      while (s[i] !== close) {
        arr.push(value());
        ws();
        if (s[i] === ",") {
          i++;
          ws();
        } else if (s[i] !== close) fail(`expected ',' or '${close}'`);
      }
      i++;
      return arr;
    }
    const m = /^(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|True|False|None|true|false|null)/.exec(s.slice(i));
    if (!m) return fail("unexpected token");
    i += m[0].length;
    const t = m[0];
    if (t === "True" || t === "true") return true;
    if (t === "False" || t === "false") return false;
    if (t === "None" || t === "null") return null;
    return Number(t);
  };
  const v = value();
  ws();
  if (i !== s.length) fail("trailing characters");
  return v;
}

/**
 * Class names from a metadata `names` value: a dict {0: 'a', 1: 'b'} (ids 0..n-1, in any order) or a list.
 * Throws on anything else (gaps in the ids, non-string names).
 */
export function parseClassNames(text: string): string[] {
  const v = parsePythonLiteral(text.trim());
  if (Array.isArray(v)) {
    return v.map((n, k) => {
      if (typeof n !== "string") throw new Error(`class name ${k} is not a string`);
      return n;
    });
  }
  if (v && typeof v === "object") {
    const entries = Object.entries(v);
    const names: string[] = new Array<string>(entries.length);
    for (const [k, n] of entries) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0 || id >= entries.length) {
        throw new Error(`class ids must be 0..${entries.length - 1}, got ${k}`);
      }
      if (typeof n !== "string") throw new Error(`class name ${k} is not a string`);
      names[id] = n;
    }
    return names;
  }
  throw new Error("names must be a dict or a list");
}

/** Input size from a metadata `imgsz` value ("[640, 640]" = [h, w], or "640"); undefined when unusable. */
export function parseImgsz(text: string | undefined): { width: number; height: number } | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  try {
    const v = parsePythonLiteral(text.trim());
    const ok = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n > 0;
    if (ok(v)) return { width: v, height: v };
    if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1])) return { height: v[0], width: v[1] };
    if (Array.isArray(v) && v.length === 1 && ok(v[0])) return { height: v[0], width: v[0] };
  } catch {
    return undefined;
  }
  return undefined;
}

/** A metadata flag ("True", "true", "1"); undefined when absent. */
export function parseFlag(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  const t = text.trim().toLowerCase();
  if (t === "true" || t === "1") return true;
  if (t === "false" || t === "0") return false;
  return undefined;
}
