/**
 * AWS entry of deliver-email: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (recipients),
 * EMAIL_FROM (verified SES sender) and IDEMPOTENCY_TABLE_NAME (one e-mail per alert and
 * recipient, however often the alert arrives) at cold start.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESClient } from "@aws-sdk/client-ses";
import * as z from "zod";
import { emailSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { dynamoDbDeliveryGuard } from "../shared/idempotency.js";
import { createLogger } from "../shared/logger.js";
import { secretsManagerSecretSource } from "../shared/secret-source.js";
import { SesEmailSender } from "../shared/ses-email.js";
import { createDeliverEmailHandler } from "./app.js";

const env = parseEnvironment(
  z.object({
    [ENV.backendSecretId]: z.string().min(1),
    [ENV.emailFrom]: z.string().min(3),
    [ENV.idempotencyTableName]: z.string().min(1),
  }),
);

const ses = new SESClient({});
const secretsManager = new SecretsManagerClient({});
const dynamoDb = new DynamoDBClient({});

export const handler = createDeliverEmailHandler({
  secrets: secretsManagerSecretSource({
    secretId: env[ENV.backendSecretId],
    schema: emailSecretSchema,
    client: secretsManager,
  }),
  sender: new SesEmailSender(ses),
  from: env[ENV.emailFrom],
  logger: createLogger("deliver-email"),
  guard: dynamoDbDeliveryGuard({ tableName: env[ENV.idempotencyTableName], client: dynamoDb }),
});
