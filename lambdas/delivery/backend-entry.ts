/**
 * What the AWS entries of the backends with a secret (email, http, sms, slack) share: the
 * variables they read at cold start, and their secret and idempotency guard built from them with
 * module-scope clients. Each handler.ts adds only what is its own (its sender, its timeout).
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";
import { ENV } from "../contracts/environment-names.js";
import { METRICS_SERVICE } from "../ledger/delivery-metrics.js";
import { DynamoDbLedger } from "../ledger/dynamodb-ledger.js";
import type { DeliveryRecording } from "./chain.js";
import { dynamoDbDeliveryGuard } from "./idempotency.js";
import { DELIVERY_RETRY_ATTEMPTS, type DeliveryGuard } from "./outcome.js";
import { type SecretSource, secretsManagerSecretSource } from "./secret-source.js";

/** IDEMPOTENCY_TABLE_NAME and LEDGER_TABLE_NAME, what every deliver function reads (log too). */
export const deliveryEnvironment = {
  [ENV.idempotencyTableName]: z.string().min(1),
  [ENV.ledgerTableName]: z.string().min(1),
};

/** BACKEND_SECRET_ID and the delivery environment, all required. */
export const backendEnvironment = {
  [ENV.backendSecretId]: z.string().min(1),
  ...deliveryEnvironment,
};

/** HTTP_TIMEOUT_SECONDS: per-attempt timeout of the backends that POST (http, slack), with their default. */
export function httpTimeoutEnvironment(defaultSeconds: number) {
  return { [ENV.httpTimeoutSeconds]: z.coerce.number().positive().max(60).default(defaultSeconds) };
}

export interface DeliveryEnvironment {
  [ENV.idempotencyTableName]: string;
  [ENV.ledgerTableName]: string;
}

export interface BackendEnvironment extends DeliveryEnvironment {
  [ENV.backendSecretId]: string;
}

/**
 * The idempotency guard and the ledger of a deliver function, on one module-scope client. Lambda
 * dead-letters after its last retry, so the chain records `dead-lettered` with that failure.
 */
export function awsDeliveryDependencies(env: DeliveryEnvironment): {
  guard: DeliveryGuard;
  recording: DeliveryRecording;
} {
  const client = new DynamoDBClient({});
  return {
    guard: dynamoDbDeliveryGuard({ tableName: env[ENV.idempotencyTableName], client }),
    recording: {
      ledger: new DynamoDbLedger(env[ENV.ledgerTableName], client),
      lastAttempt: 1 + DELIVERY_RETRY_ATTEMPTS,
      // The namespace is POWERTOOLS_METRICS_NAMESPACE, which the stack sets to its name.
      metrics: new Metrics({ serviceName: METRICS_SERVICE }),
    },
  };
}

/** The backend's secret, read through Secrets Manager and validated by `schema`, its guard and its ledger. */
export function awsBackendDependencies<Schema extends z.ZodType>(
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
