/**
 * AWS entry of deliver-log: SNS-subscribed, asynchronous. Reads IDEMPOTENCY_TABLE_NAME at cold
 * start: a duplicate of an alert still makes its log line, marked `duplicate: true`, so the audit
 * trail shows every arrival while the other backends send once.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import * as z from "zod";
import { ENV } from "../contracts/environment-names.js";
import { dynamoDbDeliveryGuard } from "../delivery/idempotency.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { createDeliverLogHandler } from "./core.js";

const env = parseEnvironment(z.object({ [ENV.idempotencyTableName]: z.string().min(1) }));

const dynamoDb = new DynamoDBClient({});

export const handler = createDeliverLogHandler({
  logger: createLogger("deliver-log"),
  guard: dynamoDbDeliveryGuard({ tableName: env[ENV.idempotencyTableName], client: dynamoDb }),
});
