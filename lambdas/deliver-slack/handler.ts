/**
 * AWS entry of deliver-slack: SNS-subscribed, asynchronous, and fed by its own queue when it has
 * digests. Reads BACKEND_SECRET_ID (webhook URLs), IDEMPOTENCY_TABLE_NAME (one post per alert and
 * channel, however often the alert arrives), optionally HTTP_TIMEOUT_SECONDS (per attempt, default
 * in config.ts), and the DIGEST_* variables (awsDigestDependencies) at cold start.
 */
import { slackSecretSchema } from "../contracts/backend-secrets.js";
import { ENV } from "../contracts/environment-names.js";
import { awsBackendDependencies, awsDigestDependencies } from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { deliverSlackEnvironmentSchema } from "./config.js";
import { createDeliverSlackHandler } from "./core.js";

const env = parseEnvironment(deliverSlackEnvironmentSchema);

const deps = {
  ...awsBackendDependencies(env, slackSecretSchema),
  digests: awsDigestDependencies(env),
  logger: createLogger("deliver-slack"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
};

export const handler = createDeliverSlackHandler(deps);
