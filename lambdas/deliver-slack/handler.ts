/**
 * AWS entry of deliver-slack: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (webhook
 * URLs), IDEMPOTENCY_TABLE_NAME (one post per alert and channel, however often the alert arrives)
 * and, optionally, HTTP_TIMEOUT_SECONDS (per attempt, default in config.ts) at cold start.
 */
import { slackSecretSchema } from "../contracts/backend-secrets.js";
import { ENV } from "../contracts/environment-names.js";
import { awsBackendDependencies } from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { deliverSlackEnvironmentSchema } from "./config.js";
import { createDeliverSlackHandler } from "./core.js";

const env = parseEnvironment(deliverSlackEnvironmentSchema);

export const handler = createDeliverSlackHandler({
  ...awsBackendDependencies(env, slackSecretSchema),
  logger: createLogger("deliver-slack"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
});
