/**
 * AWS entry of deliver-slack: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (webhook
 * URLs), IDEMPOTENCY_TABLE_NAME (one post per alert and channel, however often the alert arrives)
 * and, optionally, HTTP_TIMEOUT_SECONDS (per attempt, default 5) at cold start.
 */
import * as z from "zod";
import {
  awsBackendDependencies,
  backendEnvironment,
  httpTimeoutEnvironment,
} from "../shared/backend-entry.js";
import { slackSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { createLogger } from "../shared/logger.js";
import { createDeliverSlackHandler } from "./app.js";

const env = parseEnvironment(z.object({ ...backendEnvironment, ...httpTimeoutEnvironment }));

export const handler = createDeliverSlackHandler({
  ...awsBackendDependencies(env, slackSecretSchema),
  logger: createLogger("deliver-slack"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
});
