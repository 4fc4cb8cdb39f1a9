/**
 * Where a backend reads its sensitive settings (recipients, webhook URLs, signing secrets) from.
 * In AWS: a Secrets Manager secret holding JSON, cached by Powertools parameters so a warm
 * function does not call Secrets Manager for every alert, yet picks a rotation up within minutes.
 * Locally and in tests: a plain object.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { z } from "zod";
import { ConfigurationError, type PermanentDeliveryError, TransientDeliveryError } from "./errors.js";
import { classifyAwsError } from "./retry.js";

/** A backend's secret, already parsed and validated. */
export interface SecretSource<T> {
  get(): Promise<T>;
}

/** How long a fetched secret is reused before Secrets Manager is asked again. */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/** A secret known up front: the local stack (built from environment variables) and tests. */
export function staticSecretSource<T>(value: T): SecretSource<T> {
  return { get: async () => value };
}

/**
 * Validates a secret's JSON with the backend's schema. The error names the offending fields and
 * zod's reason, never a value: the values are addresses, phone numbers and URLs with tokens.
 */
export function parseSecret<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  secretName: string,
): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`,
  );
  throw new ConfigurationError(`Secret ${secretName} is invalid: ${problems.join("; ")}`);
}

export interface SecretsManagerSecretSourceOptions<Schema extends z.ZodType> {
  /** ARN or name of the secret (`BACKEND_SECRET_ID`). */
  secretId: string;
  schema: Schema;
  maxAgeSeconds?: number;
  /** The function's module-scope client; Powertools creates one when omitted. */
  client?: SecretsManagerClient;
}

/**
 * A Secrets Manager secret holding JSON, fetched through Powertools parameters (cached for
 * `maxAgeSeconds`) and validated on every read (cheap, and a bad edit shows up by name).
 * Failures: throttling and 5xx are transient; anything else (missing secret, access denied, not
 * JSON, wrong shape) is a ConfigurationError. Messages carry error names only, never the value.
 */
export function secretsManagerSecretSource<Schema extends z.ZodType>(
  options: SecretsManagerSecretSourceOptions<Schema>,
): SecretSource<z.infer<Schema>> {
  const provider = new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : {});
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  return {
    async get() {
      let raw: unknown;
      try {
        raw = await provider.get(options.secretId, { transform: "json", maxAge });
      } catch (error) {
        throw secretReadError(error, options.secretId);
      }
      if (raw === undefined) throw new ConfigurationError(`Secret ${options.secretId} has no value`);
      return parseSecret(options.schema, raw, options.secretId);
    },
  };
}

function secretReadError(error: unknown, secretId: string): Error {
  // A JSON parse error quotes the start of the text, which is the secret itself: keep only the fact.
  if (error instanceof Error && error.name === "TransformParameterError") {
    return new ConfigurationError(`Secret ${secretId} is not valid JSON`);
  }
  // Powertools wraps the SDK error; its name and status decide whether a retry may help.
  const sdkError = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const classified = classifyAwsError(sdkError, `reading secret ${secretId}`);
  if (classified instanceof TransientDeliveryError) return classified;
  return new ConfigurationError(classified.message, { cause: classified as PermanentDeliveryError });
}
