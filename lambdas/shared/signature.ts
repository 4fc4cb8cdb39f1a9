/**
 * `X-Sqreen-Integrity`: lower-case hex HMAC-SHA256 of the exact raw body bytes, keyed with the
 * secret string's bytes as-is (a 64-hex-character secret is not hex-decoded). Verified on the
 * raw bytes, before any parsing, in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-sqreen-integrity";

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

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
  if (signature === undefined || !SHA256_HEX.test(signature)) return false;
  const expected = Buffer.from(signature, "hex");
  let matched = false;
  for (const key of keys) {
    if (key.length === 0) continue;
    const actual = createHmac("sha256", key).update(body).digest();
    // Both are 32 bytes here: timingSafeEqual never throws on a length mismatch.
    if (timingSafeEqual(actual, expected)) matched = true;
  }
  return matched;
}
