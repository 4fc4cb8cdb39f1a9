/**
 * AWS entry of deliver-http: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (targets and
 * their signing secrets), HTTP_TIMEOUT_SECONDS (per attempt, default 5) and IDEMPOTENCY_TABLE_NAME
 * (one post per alert and target, however often the alert arrives) at cold start. With
 * three attempts per target the function timeout should be at least 3 × timeout + 15 s.
 */
import * as z from "zod";
import {
  awsBackendDependencies,
  backendEnvironment,
  httpTimeoutEnvironment,
} from "../shared/backend-entry.js";
import { httpSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { createLogger } from "../shared/logger.js";
import { createDeliverHttpHandler } from "./app.js";

const env = parseEnvironment(z.object({ ...backendEnvironment, ...httpTimeoutEnvironment }));

export const handler = createDeliverHttpHandler({
  ...awsBackendDependencies(env, httpSecretSchema),
  logger: createLogger("deliver-http"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
});
