/**
 * AWS entry of deliver-slack: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (webhook
 * URLs), IDEMPOTENCY_TABLE_NAME (one post per alert and channel, however often the alert arrives)
 * and, optionally, HTTP_TIMEOUT_SECONDS (per attempt, default 5) at cold start.
 */
import * as z from "zod";
import { slackSecretSchema } from "../contracts/backend-secrets.js";
import { ENV } from "../contracts/environment-names.js";
import {
  awsBackendDependencies,
  backendEnvironment,
  httpTimeoutEnvironment,
} from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { createDeliverSlackHandler } from "./core.js";

const env = parseEnvironment(z.object({ ...backendEnvironment, ...httpTimeoutEnvironment }));

export const handler = createDeliverSlackHandler({
  ...awsBackendDependencies(env, slackSecretSchema),
  logger: createLogger("deliver-slack"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
});
