/**
 * Sqreen's wire serialization: Python's `json.dumps` with its defaults (`", "` and `": "`
 * separators, no trailing newline, `ensure_ascii=True`, keys in insertion order). The relay
 * verifies signatures over raw bytes, so a simulator that serialized like `JSON.stringify` would
 * never exercise the "re-serializing changes the bytes" trap real deliveries set.
 */

/**
 * A number Python holds as a `float` even though it is integral (`1.0`, `52.0`): JavaScript has
 * one number type, so this marks the values `json.dumps` would write with a `.0`.
 */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** Marks `value` as a Python float: `pyFloat(4)` serializes as `4.0`. */
export function pyFloat(value: number): PyFloat {
  return new PyFloat(value);
}

/** A value the serializer accepts: JSON values, plus `PyFloat` for integral floats. */
export type WireValue =
  | string
  | number
  | boolean
  | null
  | PyFloat
  | WireValue[]
  | { [key: string]: WireValue };

/** Python's `ESCAPE_DCT`: the short escapes; every other control character becomes `\u00XX`. */
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/**
 * A string as `ensure_ascii=True` writes it: printable ASCII (space to `~`) as is, everything else
 * as `\uXXXX` with lower-case hex. JavaScript strings are UTF-16 already, so a character outside
 * the BMP comes out as its surrogate pair, exactly like Python.
 */
export function pythonJsonString(value: string): string {
  let out = '"';
  for (let index = 0; index < value.length; index++) {
    const char = value[index] as string;
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const code = value.charCodeAt(index);
    out += code >= 0x20 && code <= 0x7e ? char : `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

/**
 * `repr(float)`: the shortest digits that round-trip (JavaScript finds the same ones), written
 * in fixed notation for exponents -4 to 15 and in `1e-05` / `1e+16` notation outside, always with
 * a fractional part in fixed notation (`1.0`).
 */
export function pythonFloatRepr(value: number): string {
  if (!Number.isFinite(value)) {
    // json.dumps would write NaN/Infinity, which is not JSON; Sqreen never sends them.
    throw new RangeError(`Cannot serialize ${value} as JSON`);
  }
  const sign = value < 0 || Object.is(value, -0) ? "-" : "";
  const [mantissa = "0", exponentText = "0"] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const exponentSign = exponent < 0 ? "-" : "+";
    return `${sign}${digits[0]}${fraction}e${exponentSign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
  const integerPart = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
  const fractionPart = digits.slice(exponent + 1) || "0";
  return `${sign}${integerPart}.${fractionPart}`;
}

function serializeNumber(value: number): string {
  // JSON.parse cannot tell 1 from 1.0; an integral number is taken for a Python int, whose
  // repr has every digit (BigInt avoids JavaScript's 1e+21 notation).
  if (Number.isInteger(value)) return BigInt(value).toString();
  return pythonFloatRepr(value);
}

/**
 * Serializes `value` byte-for-byte like Python's `json.dumps(value)` with default arguments.
 * Object keys keep insertion order (beware: JavaScript moves integer-like keys first); properties
 * whose value is `undefined` are left out, as `JSON.stringify` does.
 */
export function pythonJsonDumps(value: WireValue): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "string") return pythonJsonString(value);
  if (typeof value === "number") return serializeNumber(value);
  if (value instanceof PyFloat) return pythonFloatRepr(value.value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  const members: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    if (member === undefined) continue;
    members.push(`${pythonJsonString(key)}: ${pythonJsonDumps(member)}`);
  }
  return `{${members.join(", ")}}`;
}

/** The exact request body Sqreen sends for `notifications`: UTF-8 of `json.dumps`, all ASCII. */
export function sqreenWireBytes(notifications: readonly WireValue[]): Buffer {
  return Buffer.from(pythonJsonDumps([...notifications]), "utf8");
}
