/**
 * The ingest function's environment, parsed once at cold start (SIGNING_KEYS_SECRET_ID and
 * INGEST_QUEUE_URL are required; limits have defaults).
 */

import { ENV } from "../contracts/environment-names.js";
import { parseEnvironment } from "../runtime/config.js";
import * as z from "../runtime/schema.js";

/**
 * 4.5 MB: a base64-encoded body of this size still fits the 6 MB synchronous Lambda payload
 * (API Gateway base64-encodes bodies it treats as binary).
 */
export const DEFAULT_MAX_BODY_BYTES = 4_500_000;
/** Keys are re-read at most every 5 minutes, and at once when a signature matches none. */
export const DEFAULT_KEY_CACHE_SECONDS = 300;

export const ingestEnvironmentSchema = z.object({
  [ENV.signingKeysSecretId]: z.string().check(z.trim(), z.minLength(1)),
  [ENV.ingestQueueUrl]: z.string().check(z.trim(), z.minLength(1)),
  [ENV.maxBodyBytes]: z._default(z.coerce.number().check(z.int(), z.positive()), DEFAULT_MAX_BODY_BYTES),
  [ENV.keyCacheSeconds]: z._default(
    z.coerce.number().check(z.int(), z.nonnegative()),
    DEFAULT_KEY_CACHE_SECONDS,
  ),
});

export interface IngestEnvironment {
  signingKeysSecretId: string;
  ingestQueueUrl: string;
  maxBodyBytes: number;
  keyCacheSeconds: number;
}

/** Reads the ingest settings from `env`; throws ConfigurationError naming any bad variable. */
export function readIngestEnvironment(
  env: Record<string, string | undefined> = process.env,
): IngestEnvironment {
  const parsed = parseEnvironment(ingestEnvironmentSchema, env);
  return {
    signingKeysSecretId: parsed[ENV.signingKeysSecretId],
    ingestQueueUrl: parsed[ENV.ingestQueueUrl],
    maxBodyBytes: parsed[ENV.maxBodyBytes],
    keyCacheSeconds: parsed[ENV.keyCacheSeconds],
  };
}
