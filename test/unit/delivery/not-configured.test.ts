/**
 * An enabled backend whose secret is still the placeholder the stack creates (lib/constructs/relay-secrets.ts)
 * must not lose the alert: each backend's handler, reading its secret from Secrets Manager as in
 * AWS and guarded by the idempotency store, fails retryably and names the secret; nothing is sent
 * and nothing is recorded as done, so the platform's retries fail the same way (and the alert is
 * dead-lettered with that reason); once the secret is filled in, the replay a redrive makes
 * delivers the alert exactly once.
 */

import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESClient, SendEmailCommand } from "@aws-sdk/client-ses";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  emailSecretSchema,
  httpSecretSchema,
  slackSecretSchema,
  smsSecretSchema,
} from "../../../lambdas/contracts/backend-secrets.js";
import { createDeliverEmailHandler } from "../../../lambdas/deliver-email/core.js";
import { SesEmailSender } from "../../../lambdas/deliver-email/ses-email.js";
import { createDeliverHttpHandler } from "../../../lambdas/deliver-http/core.js";
import { createDeliverSlackHandler } from "../../../lambdas/deliver-slack/core.js";
import { createDeliverSmsHandler } from "../../../lambdas/deliver-sms/core.js";
import { SnsSmsSender } from "../../../lambdas/deliver-sms/sns-sms.js";
import type { DeliverHandler } from "../../../lambdas/delivery/chain.js";
import { secretsManagerSecretSource } from "../../../lambdas/delivery/secret-source.js";
import { BackendNotConfiguredError } from "../../../lambdas/runtime/errors.js";
import { SECRET_PLACEHOLDERS } from "../../../lib/constructs/relay-secrets.js";
import { sqliteDeliveryGuard } from "../../../local/store/idempotency-store.js";
import { RelayStore } from "../../../local/store/relay-store.js";
import {
  captureLogs,
  debugLogger,
  instantRetry,
  type LogCapture,
  lambdaContext,
  loadAlert,
  snsEventFor,
  startServer,
  type TestServer,
} from "./helpers.js";

const secretArn = (backend: string) =>
  `arn:aws:secretsmanager:eu-west-1:123456789012:secret:SqreenRelay-${backend}-AbCdEf`;

type Backend = "email" | "sms" | "slack" | "http";

interface Case {
  backend: Backend;
  /** The handler as handler.ts builds it, its secret read from Secrets Manager. */
  handler: (server: TestServer) => DeliverHandler;
  /** The secret once the operator filled it in. */
  filled: (server: TestServer) => object;
  /** Sends (e-mails, SMS, posts) made so far. */
  sent: (server: TestServer) => number;
}

const secretsManager = mockClient(SecretsManagerClient);
const ses = mockClient(SESClient);
const sns = mockClient(SNSClient);

/** A fresh source per handler: Powertools caches per provider, as each function does. */
function source<Schema extends Parameters<typeof secretsManagerSecretSource>[0]["schema"]>(
  backend: Backend,
  schema: Schema,
) {
  return secretsManagerSecretSource({
    secretId: secretArn(backend),
    schema,
    client: new SecretsManagerClient({ region: "eu-west-1", maxAttempts: 1 }),
  });
}

const CASES: Case[] = [
  {
    backend: "email",
    handler: () =>
      createDeliverEmailHandler({
        secrets: source("email", emailSecretSchema),
        sender: new SesEmailSender(new SESClient({ region: "eu-west-1", maxAttempts: 1 })),
        from: "alerts@example.com",
        logger: debugLogger(),
        guard: sqliteDeliveryGuard(new RelayStore()),
      }),
    filled: () => ({ to: ["secops@example.com"], adminTo: [] }),
    sent: () => ses.commandCalls(SendEmailCommand).length,
  },
  {
    backend: "sms",
    handler: () =>
      createDeliverSmsHandler({
        secrets: source("sms", smsSecretSchema),
        sender: new SnsSmsSender(new SNSClient({ region: "eu-west-1", maxAttempts: 1 })),
        logger: debugLogger(),
        guard: sqliteDeliveryGuard(new RelayStore()),
      }),
    filled: () => ({ phoneNumbers: ["+33612345678"] }),
    sent: () => sns.commandCalls(PublishCommand).length,
  },
  {
    backend: "slack",
    handler: () =>
      createDeliverSlackHandler({
        secrets: source("slack", slackSecretSchema),
        logger: debugLogger(),
        retry: instantRetry(1),
        guard: sqliteDeliveryGuard(new RelayStore()),
      }),
    filled: (server) => ({ webhookUrl: `${server.origin}/services/T0/B0/token` }),
    sent: (server) => server.requests.length,
  },
  {
    backend: "http",
    handler: () =>
      createDeliverHttpHandler({
        secrets: source("http", httpSecretSchema),
        logger: debugLogger(),
        timeoutMs: 2_000,
        retry: instantRetry(1),
        guard: sqliteDeliveryGuard(new RelayStore()),
      }),
    filled: (server) => ({
      targets: [
        {
          url: `${server.origin}/hooks/sqreen`,
          signingSecret: `whsec_${Buffer.alloc(24, 1).toString("base64")}`,
        },
      ],
    }),
    sent: (server) => server.requests.length,
  },
];

describe.each(CASES)("the $backend backend with the placeholder secret", (backendCase) => {
  let server: TestServer;
  let logs: LogCapture;

  beforeEach(async () => {
    secretsManager.reset();
    ses.reset();
    sns.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-1" });
    sns.on(PublishCommand).resolves({ MessageId: "sns-1" });
    server = await startServer(() => ({ status: 200, body: "ok" }));
    logs = captureLogs();
  });
  afterEach(async () => {
    logs.restore();
    await server.close();
  });

  const holds = (value: object) =>
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(value) });

  it("fails every attempt retryably, naming the secret, and sends nothing", async () => {
    holds(SECRET_PLACEHOLDERS[backendCase.backend]);
    const handler = backendCase.handler(server);
    const event = snsEventFor(loadAlert("internal"));

    // The first attempt and Lambda's two retries.
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect(handler(event, lambdaContext())).rejects.toThrow(BackendNotConfiguredError);
    }

    expect(backendCase.sent(server)).toBe(0);
    const failure = logs.lines().at(-1);
    expect(failure).toMatchObject({
      backend: backendCase.backend,
      outcome: "failed",
      errorName: "BackendNotConfiguredError",
      retryable: true,
    });
    expect(String(failure?.reason)).toContain(`Secret ${secretArn(backendCase.backend)} is not configured`);
    expect(String(failure?.reason)).toContain("npm run redrive");
  });

  it("delivers once when replayed after the secret is filled in, and not again on a second replay", async () => {
    holds(SECRET_PLACEHOLDERS[backendCase.backend]);
    const handler = backendCase.handler(server);
    const event = snsEventFor(loadAlert("internal"));
    await expect(handler(event, lambdaContext())).rejects.toThrow(BackendNotConfiguredError);

    holds(backendCase.filled(server));
    await handler(event, lambdaContext());
    await handler(event, lambdaContext());

    expect(backendCase.sent(server)).toBe(1);
    expect(logs.lines().at(-1)).toMatchObject({ outcome: "delivered", duplicate: true });
  });
});
