/**
 * The answer docs/PROTOCOL.md's table gives a request, computed without the relay's code: HMAC with
 * node:crypto, UTF-8 with isUtf8 (node:buffer), JSON with JSON.parse, and the envelope rules written out
 * again here. The property test compares the handler against this.
 *
 * Decisions where docs/PROTOCOL.md is silent, shared with the implementation on purpose:
 * - the route and method are checked (404, 405), then the size (413), then the signature; a
 *   request both misrouted and oversized may get either answer (the API Gateway adapter refuses an
 *   obviously oversized body before anything else, the core checks the route first);
 * - the signature header name is case-insensitive, its value is trimmed, and upper-case hex is
 *   accepted (hex is case-insensitive); anything but one 64-hex value (e.g. two comma-joined,
 *   as API Gateway joins a repeated header) is malformed;
 * - a leading UTF-8 byte order mark is ignored (RFC 8259 lets a parser do so);
 * - the content type is not checked: Sqreen's is fixed, and the signature already proves origin;
 * - nesting deeper than 64 levels (the batch array is level 1) is 422;
 * - a notification up to 192 KiB once serialized for the queue (U+FFFE/U+FFFF escaped) always
 *   travels, one over 256 KiB never does (413); in between it is accepted exactly when its queue
 *   message and the Alert route makes of it fit in 256 KiB, which this oracle does not compute:
 *   either answer is allowed there, and test/unit/ingest/travel.test.ts checks what was accepted.
 */
import { isUtf8 } from "node:buffer";
import { createHmac } from "node:crypto";

export const WEBHOOK_PATH = "/v1/webhook";
export const MAX_ITEMS = 1000;
export const MAX_DEPTH = 64;
/** A notification up to this size always travels. */
export const ALWAYS_ACCEPTED_BYTES = 192 * 1024;
/** SQS's and SNS's message limit: a notification over it can never travel. */
export const MESSAGE_LIMIT_BYTES = 256 * 1024;

export interface OracleRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

export interface Expected {
  status: number;
  /** Also acceptable, where the order of two checks is left open. */
  alternative?: number;
  /** Why, for failure messages. */
  rule: string;
  /** Notifications enqueued (only for 200). */
  accepted: number;
}

const reject = (status: number, rule: string): Expected => ({ status, rule, accepted: 0 });

/** docs/PROTOCOL.md's answer for `request` when `keys` are the valid signing keys. */
export function expectedAnswer(
  request: OracleRequest,
  keys: readonly string[],
  maxBodyBytes: number,
): Expected {
  const oversized = request.body.length > maxBodyBytes;
  const misrouted = (status: number, rule: string): Expected =>
    oversized ? { ...reject(status, rule), alternative: 413 } : reject(status, rule);
  if (request.path !== WEBHOOK_PATH) return misrouted(404, "unknown route");
  if (request.method.toUpperCase() !== "POST") return misrouted(405, "method is not POST");
  if (oversized) return reject(413, "body over the limit");

  const headerNames = Object.keys(request.headers).filter(
    (name) => name.toLowerCase() === "x-sqreen-integrity",
  );
  const signature = headerNames.length > 0 ? (request.headers[headerNames[0] as string] ?? "").trim() : "";
  if (signature === "") return reject(401, "signature missing or empty");
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) return reject(401, "signature malformed");
  const matches = keys.some(
    (key) => createHmac("sha256", key).update(request.body).digest("hex") === signature.toLowerCase(),
  );
  if (!matches) return reject(401, "signature wrong");

  if (!isUtf8(request.body)) return reject(400, "not UTF-8");
  let text = request.body.toString("utf8");
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return reject(400, "not JSON");
  }

  if (!Array.isArray(parsed)) return reject(422, "not an array");
  if (parsed.length === 0) return reject(422, "empty array");
  if (parsed.length > MAX_ITEMS) return reject(422, "over 1000 notifications");
  if (!parsed.every(isNotification)) return reject(422, "an item is not a notification");
  if (depthOf(parsed) > MAX_DEPTH) return reject(422, "nested too deep");
  const sizes = parsed.map(queuedBytes);
  if (sizes.some((size) => size > MESSAGE_LIMIT_BYTES)) return reject(413, "a notification over 256 KiB");
  const accepted: Expected = { status: 200, rule: "accepted", accepted: parsed.length };
  if (sizes.some((size) => size > ALWAYS_ACCEPTED_BYTES)) {
    return { ...accepted, rule: "a notification between 192 and 256 KiB: 200 if it fits", alternative: 413 };
  }
  return accepted;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const nonEmptyString = (value: unknown) => typeof value === "string" && value.length > 0;

/** v2: non-empty `message_type`, object `message`, `api_version` absent, "2" or 2; v1: non-empty `sqreen_payload_type`. */
function isNotification(item: unknown): boolean {
  if (!isPlainObject(item)) return false;
  const has = (key: string) => Object.hasOwn(item, key);
  const v2 =
    nonEmptyString(item.message_type) &&
    has("message") &&
    isPlainObject(item.message) &&
    (!has("api_version") || item.api_version === "2" || item.api_version === 2);
  const v1 = nonEmptyString(item.sqreen_payload_type);
  return v2 || v1;
}

/** Nesting depth of arrays and objects (a scalar is 0); iterative. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (typeof current !== "object" || current === null) continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Bytes of the queue message body: JSON, with the two characters SQS refuses written as escapes. */
function queuedBytes(item: unknown): number {
  const json = JSON.stringify(item);
  let extra = 0;
  for (const character of json) if (character === "\uFFFE" || character === "\uFFFF") extra += 3;
  return Buffer.byteLength(json, "utf8") + extra;
}
