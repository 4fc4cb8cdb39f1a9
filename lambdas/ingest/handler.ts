/**
 * AWS entry of the ingest function: environment parsed and SDK clients built once per container,
 * then the shared middy chain. The clients honour AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_SQS /
 * AWS_ENDPOINT_URL_SECRETS_MANAGER like every SDK v3 client, which is how the integration tier
 * points them at a local endpoint.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { createLogger } from "../runtime/logger.js";
import { createIngestHandler } from "./chain.js";
import { readIngestEnvironment } from "./config.js";
import { SecretsManagerSigningKeyStore } from "./signing-keys.js";
import { SqsNotificationQueue } from "./sqs-queue.js";

const environment = readIngestEnvironment();
const sqsClient = new SQSClient({});
const secretsManagerClient = new SecretsManagerClient({});

export const handler = createIngestHandler({
  keys: new SecretsManagerSigningKeyStore({
    secretId: environment.signingKeysSecretId,
    maxAgeSeconds: environment.keyCacheSeconds,
    client: secretsManagerClient,
  }),
  queue: new SqsNotificationQueue({ client: sqsClient, queueUrl: environment.ingestQueueUrl }),
  maxBodyBytes: environment.maxBodyBytes,
  logger: createLogger("ingest"),
});
