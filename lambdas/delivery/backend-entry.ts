/**
 * What the AWS entries of the guarded deliver functions share: the variables they read at cold
 * start and what they build from them with module-scope clients: the secret and the idempotency
 * guard (the backends with a secret: email, http, sms, slack), the delivery ledger of
 * ledger-entry.ts, and the digests (the human backends: email, sms, slack). Each handler.ts adds
 * only what is its own (its sender, its timeout).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { ENV } from "../contracts/environment-names.js";
import { DynamoDbDigestWindowStore } from "../digest/dynamodb-window-store.js";
import type { DigestPolicy, DigestQueue, DigestWindowStore } from "../digest/seams.js";
import { SqsDigestQueue } from "../digest/sqs-digest-queue.js";
import { ConfigurationError } from "../runtime/errors.js";
import * as z from "../runtime/schema.js";
import type { DeliveryRecording } from "./chain.js";
import { dynamoDbDeliveryGuard } from "./idempotency.js";
import { awsDeliveryRecording, type LedgerEnvironment, ledgerEnvironment } from "./ledger-entry.js";
import type { DeliveryGuard } from "./outcome.js";
import { type SecretSource, secretsManagerSecretSource } from "./secret-source.js";

/** The ledger's and IDEMPOTENCY_TABLE_NAME: what every guarded deliver function reads. */
export const deliveryEnvironment = {
  [ENV.idempotencyTableName]: z.string().check(z.minLength(1)),
  ...ledgerEnvironment,
};

/** BACKEND_SECRET_ID and the delivery environment, all required. */
export const backendEnvironment = {
  [ENV.backendSecretId]: z.string().check(z.minLength(1)),
  ...deliveryEnvironment,
};

/** HTTP_TIMEOUT_SECONDS: per-attempt timeout of the backends that POST (http, slack), with their default. */
export function httpTimeoutEnvironment(defaultSeconds: number) {
  return {
    [ENV.httpTimeoutSeconds]: z._default(
      z.coerce.number().check(z.positive(), z.maximum(60)),
      defaultSeconds,
    ),
  };
}

export interface DeliveryEnvironment extends LedgerEnvironment {
  [ENV.idempotencyTableName]: string;
}

export interface BackendEnvironment extends DeliveryEnvironment {
  [ENV.backendSecretId]: string;
}

/** The idempotency guard and the ledger of a guarded deliver function, on one module-scope client. */
export function awsDeliveryDependencies(env: DeliveryEnvironment): {
  guard: DeliveryGuard;
  recording: DeliveryRecording;
} {
  const client = new DynamoDBClient({});
  return {
    guard: dynamoDbDeliveryGuard({ tableName: env[ENV.idempotencyTableName], client }),
    recording: awsDeliveryRecording(env, client),
  };
}

/** The backend's secret, read through Secrets Manager and validated by `schema`, its guard and its ledger. */
export function awsBackendDependencies<Schema extends z.core.$ZodType>(
  env: BackendEnvironment,
  schema: Schema,
): { secrets: SecretSource<z.infer<Schema>>; guard: DeliveryGuard; recording: DeliveryRecording } {
  return {
    secrets: secretsManagerSecretSource({
      secretId: env[ENV.backendSecretId],
      schema,
      client: new SecretsManagerClient({}),
    }),
    ...awsDeliveryDependencies(env),
  };
}

/**
 * DIGEST_TABLE_NAME, DIGEST_QUEUE_URL, DIGEST_IMMEDIATE and DIGEST_WINDOW_SECONDS: all four (the
 * stack sets them for a human backend whose digest setting is not `false`, with the settings'
 * values and defaults) or none (every alert is sent alone). Their bounds are the settings'.
 */
export const digestEnvironment = {
  [ENV.digestTableName]: z.optional(z.string().check(z.minLength(1))),
  [ENV.digestQueueUrl]: z.optional(z.string().check(z.minLength(1))),
  [ENV.digestImmediate]: z.optional(z.coerce.number().check(z.int(), z.nonnegative())),
  [ENV.digestWindowSeconds]: z.optional(z.coerce.number().check(z.int(), z.positive())),
};

export interface DigestEnvironment {
  [ENV.digestTableName]?: string | undefined;
  [ENV.digestQueueUrl]?: string | undefined;
  [ENV.digestImmediate]?: number | undefined;
  [ENV.digestWindowSeconds]?: number | undefined;
}

/** What a human backend's core factory takes as `digests`, built for AWS. */
export interface AwsDigestDependencies {
  store: DigestWindowStore;
  queue: DigestQueue;
  policy: DigestPolicy;
}

/**
 * The digests of a human backend: the DynamoDB window store and the backend's SQS queue, with
 * module-scope clients, and the policy; undefined when the environment names none (digests off).
 * Throws a ConfigurationError naming the missing variables when only some are set.
 */
export function awsDigestDependencies(env: DigestEnvironment): AwsDigestDependencies | undefined {
  const names = [
    ENV.digestTableName,
    ENV.digestQueueUrl,
    ENV.digestImmediate,
    ENV.digestWindowSeconds,
  ] as const;
  const missing = names.filter((name) => env[name] === undefined);
  if (missing.length === names.length) return undefined;
  const tableName = env[ENV.digestTableName];
  const queueUrl = env[ENV.digestQueueUrl];
  const immediate = env[ENV.digestImmediate];
  const windowSeconds = env[ENV.digestWindowSeconds];
  if (
    tableName === undefined ||
    queueUrl === undefined ||
    immediate === undefined ||
    windowSeconds === undefined
  ) {
    throw new ConfigurationError(`Invalid environment:\n  digests need ${missing.join(", ")} too`);
  }
  return {
    store: new DynamoDbDigestWindowStore({ tableName, client: new DynamoDBClient({}) }),
    queue: new SqsDigestQueue({ queueUrl, client: new SQSClient({}) }),
    policy: { immediate, windowSeconds },
  };
}
