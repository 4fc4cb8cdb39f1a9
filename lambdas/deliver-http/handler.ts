/**
 * AWS entry of deliver-http: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (targets and
 * their signing secrets), HTTP_TIMEOUT_SECONDS (per attempt, default 5) and IDEMPOTENCY_TABLE_NAME
 * (one post per alert and target, however often the alert arrives) at cold start. With
 * three attempts per target the function timeout should be at least 3 × timeout + 15 s.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";
import { httpSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { dynamoDbDeliveryGuard } from "../shared/idempotency.js";
import { createLogger } from "../shared/logger.js";
import { secretsManagerSecretSource } from "../shared/secret-source.js";
import { createDeliverHttpHandler } from "./app.js";

const env = parseEnvironment(
  z.object({
    [ENV.backendSecretId]: z.string().min(1),
    [ENV.httpTimeoutSeconds]: z.coerce.number().positive().max(60).default(5),
    [ENV.idempotencyTableName]: z.string().min(1),
  }),
);

const secretsManager = new SecretsManagerClient({});
const dynamoDb = new DynamoDBClient({});

export const handler = createDeliverHttpHandler({
  secrets: secretsManagerSecretSource({
    secretId: env[ENV.backendSecretId],
    schema: httpSecretSchema,
    client: secretsManager,
  }),
  logger: createLogger("deliver-http"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
  guard: dynamoDbDeliveryGuard({ tableName: env[ENV.idempotencyTableName], client: dynamoDb }),
});
