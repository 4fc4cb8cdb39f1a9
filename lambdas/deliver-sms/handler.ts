/**
 * AWS entry of deliver-sms: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (phone numbers)
 * and IDEMPOTENCY_TABLE_NAME (one text per alert and number, however often the alert arrives) at
 * cold start.
 */
import { SNSClient } from "@aws-sdk/client-sns";
import * as z from "zod";
import { smsSecretSchema } from "../contracts/backend-secrets.js";
import { awsBackendDependencies, backendEnvironment } from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { createDeliverSmsHandler } from "./core.js";
import { SnsSmsSender } from "./sns-sms.js";

const env = parseEnvironment(z.object(backendEnvironment));

const sns = new SNSClient({});

export const handler = createDeliverSmsHandler({
  ...awsBackendDependencies(env, smsSecretSchema),
  sender: new SnsSmsSender(sns),
  logger: createLogger("deliver-sms"),
});
