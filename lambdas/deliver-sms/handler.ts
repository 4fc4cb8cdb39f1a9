/**
 * AWS entry of deliver-sms: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (phone numbers)
 * and IDEMPOTENCY_TABLE_NAME (one text per alert and number, however often the alert arrives) at
 * cold start.
 */
import { SNSClient } from "@aws-sdk/client-sns";
import * as z from "zod";
import { awsBackendDependencies, backendEnvironment } from "../shared/backend-entry.js";
import { smsSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { createLogger } from "../shared/logger.js";
import { SnsSmsSender } from "../shared/sns-sms.js";
import { createDeliverSmsHandler } from "./app.js";

const env = parseEnvironment(z.object(backendEnvironment));

const sns = new SNSClient({});

export const handler = createDeliverSmsHandler({
  ...awsBackendDependencies(env, smsSecretSchema),
  sender: new SnsSmsSender(sns),
  logger: createLogger("deliver-sms"),
});
