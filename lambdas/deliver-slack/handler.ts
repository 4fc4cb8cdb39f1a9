/**
 * AWS entry of deliver-slack: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (webhook
 * URLs), IDEMPOTENCY_TABLE_NAME (one post per alert and channel, however often the alert arrives)
 * and, optionally, HTTP_TIMEOUT_SECONDS (per attempt, default 5) at cold start.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";
import { slackSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { dynamoDbDeliveryGuard } from "../shared/idempotency.js";
import { createLogger } from "../shared/logger.js";
import { secretsManagerSecretSource } from "../shared/secret-source.js";
import { createDeliverSlackHandler } from "./app.js";

const env = parseEnvironment(
  z.object({
    [ENV.backendSecretId]: z.string().min(1),
    [ENV.httpTimeoutSeconds]: z.coerce.number().positive().max(60).default(5),
    [ENV.idempotencyTableName]: z.string().min(1),
  }),
);

const secretsManager = new SecretsManagerClient({});
const dynamoDb = new DynamoDBClient({});

export const handler = createDeliverSlackHandler({
  secrets: secretsManagerSecretSource({
    secretId: env[ENV.backendSecretId],
    schema: slackSecretSchema,
    client: secretsManager,
  }),
  logger: createLogger("deliver-slack"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
  guard: dynamoDbDeliveryGuard({ tableName: env[ENV.idempotencyTableName], client: dynamoDb }),
});
