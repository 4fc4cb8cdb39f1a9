/**
 * `X-Sqreen-Integrity`: lower-case hex HMAC-SHA256 of the exact raw body bytes, keyed with the
 * secret string's bytes as-is (a 64-hex-character secret is not hex-decoded). Verified on the
 * raw bytes, before any parsing, in constant time.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-sqreen-integrity";

/** Hex characters of a SHA-256 digest. */
const SIGNATURE_LENGTH = 64;

/**
 * Keys as prepared `KeyObject`s, made once per key rather than once per request (an HMAC keyed by
 * a string re-encodes the string every time). Bounded so that rotations never grow it for long.
 */
const preparedKeys = new Map<string, KeyObject>();
const MAX_PREPARED_KEYS = 32;

function preparedKey(key: string): KeyObject {
  let prepared = preparedKeys.get(key);
  if (prepared === undefined) {
    if (preparedKeys.size >= MAX_PREPARED_KEYS) preparedKeys.clear();
    prepared = createSecretKey(Buffer.from(key, "utf8"));
    preparedKeys.set(key, prepared);
  }
  return prepared;
}

/** The `X-Sqreen-Integrity` value Sqreen would send for `body` under `secret`. */
export function signBody(body: Uint8Array | string, secret: string): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/**
 * True when `signature` is the HMAC of `body` under any of `keys` (several are valid at once:
 * one per Sqreen application, two during a rotation). Upper-case hex is accepted. A header that
 * is not 64 hex characters is rejected before any HMAC is computed; every key is tried, whatever
 * matched, so the time taken does not tell which key (or whether one) matched.
 */
export function verifySignature(
  body: Uint8Array,
  signature: string | undefined,
  keys: readonly string[],
): boolean {
  if (signature === undefined || signature.length !== SIGNATURE_LENGTH) return false;
  // Hex decoding stops at the first character that is not hex: 32 bytes means all 64 were.
  const expected = Buffer.from(signature, "hex");
  if (expected.length !== SIGNATURE_LENGTH / 2) return false;
  let matched = false;
  for (const key of keys) {
    if (key.length === 0) continue;
    const actual = createHmac("sha256", preparedKey(key)).update(body).digest();
    // Both are 32 bytes here: timingSafeEqual never throws on a length mismatch.
    if (timingSafeEqual(actual, expected)) matched = true;
  }
  return matched;
}
