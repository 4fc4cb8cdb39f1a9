/**
 * What the AWS entries of the backends with a secret (email, http, sms, slack) share: the
 * variables they read at cold start, and their secret and idempotency guard built from them with
 * module-scope clients. Each handler.ts adds only what is its own (its sender, its timeout).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";
import { ENV } from "../contracts/environment-names.js";
import { dynamoDbDeliveryGuard } from "./idempotency.js";
import type { DeliveryGuard } from "./outcome.js";
import { type SecretSource, secretsManagerSecretSource } from "./secret-source.js";

/** BACKEND_SECRET_ID and IDEMPOTENCY_TABLE_NAME, both required. */
export const backendEnvironment = {
  [ENV.backendSecretId]: z.string().min(1),
  [ENV.idempotencyTableName]: z.string().min(1),
};

/** HTTP_TIMEOUT_SECONDS: per-attempt timeout of the backends that POST (http, slack), with their default. */
export function httpTimeoutEnvironment(defaultSeconds: number) {
  return { [ENV.httpTimeoutSeconds]: z.coerce.number().positive().max(60).default(defaultSeconds) };
}

export interface BackendEnvironment {
  [ENV.backendSecretId]: string;
  [ENV.idempotencyTableName]: string;
}

/** The backend's secret, read through Secrets Manager and validated by `schema`, and its guard. */
export function awsBackendDependencies<Schema extends z.ZodType>(
  env: BackendEnvironment,
  schema: Schema,
): { secrets: SecretSource<z.infer<Schema>>; guard: DeliveryGuard } {
  return {
    secrets: secretsManagerSecretSource({
      secretId: env[ENV.backendSecretId],
      schema,
      client: new SecretsManagerClient({}),
    }),
    guard: dynamoDbDeliveryGuard({
      tableName: env[ENV.idempotencyTableName],
      client: new DynamoDBClient({}),
    }),
  };
}
