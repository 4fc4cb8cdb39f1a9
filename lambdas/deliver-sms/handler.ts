/**
 * AWS entry of deliver-sms: SNS-subscribed, asynchronous, and fed by its own queue when it has
 * digests. Reads BACKEND_SECRET_ID (phone numbers), IDEMPOTENCY_TABLE_NAME (one text per alert
 * and number, however often the alert arrives) and the DIGEST_* variables (awsDigestDependencies)
 * at cold start.
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { smsSecretSchema } from "../contracts/backend-secrets.js";
import {
  awsBackendDependencies,
  awsDigestDependencies,
  backendEnvironment,
  digestEnvironment,
} from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import * as z from "../runtime/schema.js";
import { createDeliverSmsHandler } from "./core.js";
import { SnsSmsSender } from "./sns-sms.js";

const env = parseEnvironment(z.object({ ...backendEnvironment, ...digestEnvironment }));

const sns = new SNSClient({});

const deps = {
  ...awsBackendDependencies(env, smsSecretSchema),
  digests: awsDigestDependencies(env),
  sender: new SnsSmsSender(sns),
  logger: createLogger("deliver-sms"),
};

export const handler = createDeliverSmsHandler(deps);
