/**
 * AWS entry of deliver-email: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (recipients),
 * EMAIL_FROM (verified SES sender) and IDEMPOTENCY_TABLE_NAME (one e-mail per alert and
 * recipient, however often the alert arrives) at cold start.
 */
import { SESClient } from "@aws-sdk/client-ses";
import * as z from "zod";
import { emailSecretSchema } from "../contracts/backend-secrets.js";
import { ENV } from "../contracts/environment-names.js";
import { awsBackendDependencies, backendEnvironment } from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { createDeliverEmailHandler } from "./core.js";
import { SesEmailSender } from "./ses-email.js";

const env = parseEnvironment(z.object({ ...backendEnvironment, [ENV.emailFrom]: z.string().min(3) }));

const ses = new SESClient({});

export const handler = createDeliverEmailHandler({
  ...awsBackendDependencies(env, emailSecretSchema),
  sender: new SesEmailSender(ses),
  from: env[ENV.emailFrom],
  logger: createLogger("deliver-email"),
});
