/**
 * AWS entry of deliver-sms: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (phone numbers)
 * and IDEMPOTENCY_TABLE_NAME (one text per alert and number, however often the alert arrives) at
 * cold start.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import * as z from "zod";
import { smsSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { dynamoDbDeliveryGuard } from "../shared/idempotency.js";
import { createLogger } from "../shared/logger.js";
import { secretsManagerSecretSource } from "../shared/secret-source.js";
import { SnsSmsSender } from "../shared/sns-sms.js";
import { createDeliverSmsHandler } from "./app.js";

const env = parseEnvironment(
  z.object({
    [ENV.backendSecretId]: z.string().min(1),
    [ENV.idempotencyTableName]: z.string().min(1),
  }),
);

const sns = new SNSClient({});
const secretsManager = new SecretsManagerClient({});
const dynamoDb = new DynamoDBClient({});

export const handler = createDeliverSmsHandler({
  secrets: secretsManagerSecretSource({
    secretId: env[ENV.backendSecretId],
    schema: smsSecretSchema,
    client: secretsManager,
  }),
  sender: new SnsSmsSender(sns),
  logger: createLogger("deliver-sms"),
  guard: dynamoDbDeliveryGuard({ tableName: env[ENV.idempotencyTableName], client: dynamoDb }),
});
