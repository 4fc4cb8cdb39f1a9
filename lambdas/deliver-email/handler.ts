/**
 * AWS entry of deliver-email: SNS-subscribed, asynchronous, and fed by its own queue when it has
 * digests. Reads BACKEND_SECRET_ID (recipients), EMAIL_FROM (verified SES sender),
 * IDEMPOTENCY_TABLE_NAME (one e-mail per alert and recipient, however often the alert arrives)
 * and the DIGEST_* variables (awsDigestDependencies) at cold start.
 */
import { SESClient } from "@aws-sdk/client-ses";
import { emailSecretSchema } from "../contracts/backend-secrets.js";
import { ENV } from "../contracts/environment-names.js";
import {
  awsBackendDependencies,
  awsDigestDependencies,
  backendEnvironment,
  digestEnvironment,
} from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import * as z from "../runtime/schema.js";
import { createDeliverEmailHandler } from "./core.js";
import { SesEmailSender } from "./ses-email.js";

const env = parseEnvironment(
  z.object({
    ...backendEnvironment,
    ...digestEnvironment,
    [ENV.emailFrom]: z.string().check(z.minLength(3)),
  }),
);

const ses = new SESClient({});

const deps = {
  ...awsBackendDependencies(env, emailSecretSchema),
  digests: awsDigestDependencies(env),
  sender: new SesEmailSender(ses),
  from: env[ENV.emailFrom],
  logger: createLogger("deliver-email"),
};

export const handler = createDeliverEmailHandler(deps);
