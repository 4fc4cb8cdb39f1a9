/**
 * Where a backend reads its sensitive settings (recipients, webhook URLs, signing secrets) from.
 * In AWS: a Secrets Manager secret holding JSON, cached by Powertools parameters so a warm
 * function does not call Secrets Manager for every alert, yet picks a rotation up within minutes.
 * Locally and in tests: a value known up front. Both validate with the backend's schema
 * (lambdas/contracts/backend-secrets.ts), so a secret that names no destination fails the same way
 * everywhere: BackendNotConfiguredError, retried and dead-lettered until it is filled in.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { formatIssues } from "../runtime/config.js";
import {
  BackendNotConfiguredError,
  ConfigurationError,
  type PermanentDeliveryError,
  TransientDeliveryError,
} from "../runtime/errors.js";
import * as z from "../runtime/schema.js";
import { classifyAwsError } from "./retry.js";

/** A backend's secret, already parsed and validated. */
export interface SecretSource<T> {
  get(): Promise<T>;
}

/** How long a fetched secret is reused before Secrets Manager is asked again. */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

/**
 * A secret known up front: the local stack (built from environment variables, `name` says which)
 * and tests. Validated on every read, as the Secrets Manager source does.
 */
export function staticSecretSource<Schema extends z.core.$ZodType>(
  schema: Schema,
  value: z.input<Schema>,
  name: string,
): SecretSource<z.infer<Schema>> {
  return { get: async () => parseSecret(schema, value, name) };
}

/**
 * Validates a secret's JSON with the backend's schema. The error names the secret, the offending
 * fields and zod's reason, never a value: the values are addresses, phone numbers and URLs with
 * tokens.
 */
export function parseSecret<Schema extends z.core.$ZodType>(
  schema: Schema,
  value: unknown,
  secretName: string,
): z.infer<Schema> {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  throw notConfigured(secretName, formatIssues(result.error.issues).join("; "));
}

/** The failure of a secret that is not filled in: what to fix and how to replay, naming the secret. */
function notConfigured(secretName: string, problem: string): BackendNotConfiguredError {
  return new BackendNotConfiguredError(
    `Secret ${secretName} is not configured (${problem}): fill it in, then replay the ` +
      "dead-lettered alerts with npm run redrive",
  );
}

export interface SecretsManagerSecretSourceOptions<Schema extends z.core.$ZodType> {
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
 * Failures: throttling and 5xx are transient; a value that is missing, not JSON or refused by the
 * schema is BackendNotConfiguredError (retryable: the operator fills it in); anything else
 * (missing secret, access denied) is a ConfigurationError. Messages carry names, never the value.
 *
 * A value that was not configured is never reused: the next read fetches the secret again, so
 * the platform's retry or a redrive right after the operator filled it in sees the new value
 * instead of the cached placeholder. That costs one GetSecretValue per delivery attempt while the
 * secret stays unconfigured, bounded by the alerts (signed by Sqreen) and their three attempts.
 */
export function secretsManagerSecretSource<Schema extends z.core.$ZodType>(
  options: SecretsManagerSecretSourceOptions<Schema>,
): SecretSource<z.infer<Schema>> {
  const provider = new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : {});
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  let refetch = false;
  return {
    async get() {
      let raw: unknown;
      try {
        raw = await provider.get(options.secretId, { transform: "json", maxAge, forceFetch: refetch });
      } catch (error) {
        throw secretReadError(error, options.secretId);
      }
      try {
        if (raw === undefined) throw notConfigured(options.secretId, "it has no value");
        const secret = parseSecret(options.schema, raw, options.secretId);
        refetch = false;
        return secret;
      } catch (error) {
        refetch = true;
        throw error;
      }
    },
  };
}

function secretReadError(error: unknown, secretId: string): Error {
  // A JSON parse error quotes the start of the text, which is the secret itself: keep only the fact.
  // Powertools does not cache a value it could not transform, so the next read fetches it again.
  if (error instanceof Error && error.name === "TransformParameterError") {
    return notConfigured(secretId, "its value is not valid JSON");
  }
  // Powertools wraps the SDK error; its name and status decide whether a retry may help.
  const sdkError = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const classified = classifyAwsError(sdkError, `reading secret ${secretId}`);
  if (classified instanceof TransientDeliveryError) return classified;
  return new ConfigurationError(classified.message, { cause: classified as PermanentDeliveryError });
}
