/**
 * AWS entry of deliver-http: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (targets and
 * their signing secrets), HTTP_TIMEOUT_SECONDS (per attempt, default in config.ts) and IDEMPOTENCY_TABLE_NAME
 * (one post per alert and target, however often the alert arrives) at cold start. With
 * three attempts per target the function timeout should be at least 3 × timeout + 15 s.
 */
import { httpSecretSchema } from "../contracts/backend-secrets.js";
import { ENV } from "../contracts/environment-names.js";
import { awsBackendDependencies } from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { deliverHttpEnvironmentSchema } from "./config.js";
import { createDeliverHttpHandler } from "./core.js";

const env = parseEnvironment(deliverHttpEnvironmentSchema);

export const handler = createDeliverHttpHandler({
  ...awsBackendDependencies(env, httpSecretSchema),
  logger: createLogger("deliver-http"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
});
