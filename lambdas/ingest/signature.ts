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
  if (decodeSignature(signature) === undefined) return false;
  const verifier = createSignatureVerifier(keys);
  verifier.update(body);
  return verifier.matches(signature);
}

/** An HMAC over a body that arrives in pieces, under every key at once. */
export interface SignatureVerifier {
  /** Feeds the next bytes of the body. */
  update(chunk: Uint8Array): void;
  /**
   * Once the whole body was fed (nothing may be fed after): true when `signature` is its HMAC under any key,
   * with verifySignature's rules (format checked first, every key compared in constant time).
   */
  matches(signature: string | undefined): boolean;
}

/**
 * A verifier that hashes the body as it streams in (the local HTTP server feeds it chunk by
 * chunk, so a forged body is refused as soon as its last byte arrives, without another pass).
 */
export function createSignatureVerifier(keys: readonly string[]): SignatureVerifier {
  const hmacs = keys.filter((key) => key.length > 0).map((key) => createHmac("sha256", preparedKey(key)));
  let digests: Buffer[] | undefined;
  return {
    update(chunk) {
      for (const hmac of hmacs) hmac.update(chunk);
    },
    matches(signature) {
      const expected = decodeSignature(signature);
      if (expected === undefined) return false;
      digests ??= hmacs.map((hmac) => hmac.digest());
      let matched = false;
      for (const digest of digests) {
        // Both are 32 bytes here: timingSafeEqual never throws on a length mismatch.
        if (timingSafeEqual(digest, expected)) matched = true;
      }
      return matched;
    },
  };
}

/** The 32 bytes a well-formed header names, or undefined when it is not 64 hex characters. */
function decodeSignature(signature: string | undefined): Buffer | undefined {
  if (signature === undefined || signature.length !== SIGNATURE_LENGTH) return undefined;
  // Hex decoding stops at the first character that is not hex: 32 bytes means all 64 were.
  const expected = Buffer.from(signature, "hex");
  return expected.length === SIGNATURE_LENGTH / 2 ? expected : undefined;
}
