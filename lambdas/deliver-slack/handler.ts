/**
 * AWS entry of deliver-slack: SNS-subscribed, asynchronous. Reads BACKEND_SECRET_ID (webhook
 * URLs) and, optionally, HTTP_TIMEOUT_SECONDS (per attempt, default 5) at cold start.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { z } from "zod";
import { slackSecretSchema } from "../shared/backend-secrets.js";
import { parseEnvironment } from "../shared/environment.js";
import { ENV } from "../shared/environment-names.js";
import { createLogger } from "../shared/logger.js";
import { secretsManagerSecretSource } from "../shared/secret-source.js";
import { createDeliverSlackHandler } from "./app.js";

const env = parseEnvironment(
  z.object({
    [ENV.backendSecretId]: z.string().min(1),
    [ENV.httpTimeoutSeconds]: z.coerce.number().positive().max(60).default(5),
  }),
);

const secretsManager = new SecretsManagerClient({});

export const handler = createDeliverSlackHandler({
  secrets: secretsManagerSecretSource({
    secretId: env[ENV.backendSecretId],
    schema: slackSecretSchema,
    client: secretsManager,
  }),
  logger: createLogger("deliver-slack"),
  timeoutMs: env[ENV.httpTimeoutSeconds] * 1000,
});
