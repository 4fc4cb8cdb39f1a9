/**
 * AWS entry of deliver-email: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (recipients),
 * EMAIL_FROM (verified SES sender) and IDEMPOTENCY_TABLE_NAME (one e-mail per alert and
 * recipient, however often the alert arrives) at cold start.
 */
import { SESClient } from "@aws-sdk/client-ses";
import * as z from "zod";
import { awsBackendDependencies, backendEnvironment } from "../shared/backend-entry.js";
import { emailSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { createLogger } from "../shared/logger.js";
import { SesEmailSender } from "../shared/ses-email.js";
import { createDeliverEmailHandler } from "./app.js";

const env = parseEnvironment(z.object({ ...backendEnvironment, [ENV.emailFrom]: z.string().min(3) }));

const ses = new SESClient({});

export const handler = createDeliverEmailHandler({
  ...awsBackendDependencies(env, emailSecretSchema),
  sender: new SesEmailSender(ses),
  from: env[ENV.emailFrom],
  logger: createLogger("deliver-email"),
});
