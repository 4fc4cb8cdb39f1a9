/**
 * The harness itself: moto_server starts and stops, a missing one fails loudly, and the resources
 * built from settings have the attributes the stack gives them. Also a Secrets Manager smoke test
 * (read, rotate, read again) the signing-key rotation tests build on.
 */
import {
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { GetIdentityVerificationAttributesCommand, SESClient } from "@aws-sdk/client-ses";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  emailSecretSchema,
  httpSecretSchema,
  signingKeysSecretSchema,
  smsSecretSchema,
} from "../../lambdas/contracts/backend-secrets.js";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { parseRelaySettings } from "../../lib/settings.js";
import { findMotoServer, INSTALL_HINT, type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import {
  createRelayResources,
  INGEST_MAX_RECEIVE_COUNT,
  INGEST_VISIBILITY_TIMEOUT_SECONDS,
  type RelayResources,
} from "./resources.js";

describe("finding moto_server", () => {
  it("fails with the install command when MOTO_SERVER names nothing", () => {
    expect(() => findMotoServer({ MOTO_SERVER: "/nonexistent/moto_server" })).toThrow(INSTALL_HINT);
  });

  it("fails with the install command when it is nowhere on PATH", () => {
    expect(() => findMotoServer({ PATH: "/nonexistent", HOME: "/nonexistent" })).toThrow(INSTALL_HINT);
  });

  it("refuses to start a command that does not exist, saying how to install moto", async () => {
    await expect(startMoto({ command: "/nonexistent/moto_server" })).rejects.toThrow(
      'pip install "moto[server]"',
    );
  });
});

describe("relay resources in moto", () => {
  const settings = parseRelaySettings({
    ownApplicationIds: ["app-1", "app-2"],
    ingest: { keyCacheSeconds: 60 },
    backends: {
      email: { enabled: true, from: "relay@example.com" },
      http: { enabled: true, timeoutSeconds: 5 },
      sms: { enabled: true },
      slack: { enabled: false },
    },
  });
  let moto: MotoServer;
  let restoreEnvironment: () => void;
  let resources: RelayResources;
  let secrets: SecretsManagerClient;

  beforeAll(async () => {
    moto = await startMoto();
    restoreEnvironment = useMotoEnvironment(moto);
    resources = await createRelayResources(settings, { secrets: { signingKeys: { keys: ["first-key"] } } });
    secrets = new SecretsManagerClient({});
  });

  afterAll(async () => {
    secrets?.destroy();
    restoreEnvironment?.();
    await moto?.stop();
  });

  async function secretJson(secretId: string): Promise<unknown> {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
    return JSON.parse(SecretString ?? "null");
  }

  it("points SDK clients at moto through AWS_ENDPOINT_URL only", () => {
    expect(process.env.AWS_ENDPOINT_URL).toBe(moto.endpoint);
    expect(process.env.AWS_REGION).toBe("us-east-1");
  });

  it("gives the ingest queue a dead-letter queue through its redrive policy", async () => {
    const sqs = new SQSClient({});
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: resources.ingestQueue.url, AttributeNames: ["All"] }),
    );
    sqs.destroy();

    expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}")).toEqual({
      deadLetterTargetArn: resources.ingestDeadLetterQueue.arn,
      maxReceiveCount: INGEST_MAX_RECEIVE_COUNT,
    });
    expect(Attributes?.VisibilityTimeout).toBe(String(INGEST_VISIBILITY_TIMEOUT_SECONDS));
  });

  it("subscribes only the enabled backends", () => {
    expect(Object.keys(resources.backends).sort()).toEqual(["email", "http", "log", "sms"]);
  });

  it("stores each secret in the shape its schema reads", async () => {
    expect(signingKeysSecretSchema.parse(await secretJson(resources.signingKeysSecret.arn))).toEqual({
      keys: ["first-key"],
    });
    expect(
      emailSecretSchema.safeParse(await secretJson(resources.backends.email?.secret?.arn ?? "")).success,
    ).toBe(true);
    expect(
      httpSecretSchema.safeParse(await secretJson(resources.backends.http?.secret?.arn ?? "")).success,
    ).toBe(true);
    expect(
      smsSecretSchema.safeParse(await secretJson(resources.backends.sms?.secret?.arn ?? "")).success,
    ).toBe(true);
    expect(resources.backends.log?.secret).toBeUndefined();
  });

  it("verifies the email sender in SES", async () => {
    const ses = new SESClient({});
    const { VerificationAttributes } = await ses.send(
      new GetIdentityVerificationAttributesCommand({ Identities: ["relay@example.com"] }),
    );
    ses.destroy();

    expect(resources.emailIdentity).toBe("relay@example.com");
    expect(VerificationAttributes?.["relay@example.com"]?.VerificationStatus).toBe("Success");
  });

  it("derives every function's environment from the settings and the resources", () => {
    // Every deliver function records in the idempotency table and the ledger, metrics under the prefix.
    const delivery = () => ({
      [ENV.idempotencyTableName]: resources.idempotencyTable.name,
      [ENV.ledgerTableName]: resources.ledgerTable.name,
      [ENV.metricsNamespace]: resources.prefix,
    });
    expect(resources.functionEnvironments).toEqual({
      ingest: {
        [ENV.signingKeysSecretId]: resources.signingKeysSecret.arn,
        [ENV.keyCacheSeconds]: "60",
        [ENV.ingestQueueUrl]: resources.ingestQueue.url,
        [ENV.maxBodyBytes]: "4500000",
      },
      route: { [ENV.alertsTopicArn]: resources.alertsTopicArn, [ENV.ownApplicationIds]: "app-1,app-2" },
      "deliver-log": delivery(),
      "deliver-email": {
        ...delivery(),
        [ENV.backendSecretId]: resources.backends.email?.secret?.arn,
        [ENV.emailFrom]: "relay@example.com",
        // Digests on by default: the backend's own queue, the digest table, the default policy.
        [ENV.digestTableName]: resources.digestTable?.name,
        [ENV.digestQueueUrl]: resources.backends.email?.digestQueue?.url,
        [ENV.digestImmediate]: "3",
        [ENV.digestWindowSeconds]: "300",
      },
      "deliver-http": {
        ...delivery(),
        [ENV.backendSecretId]: resources.backends.http?.secret?.arn,
        [ENV.httpTimeoutSeconds]: "5",
      },
      "deliver-sms": {
        ...delivery(),
        [ENV.backendSecretId]: resources.backends.sms?.secret?.arn,
        [ENV.digestTableName]: resources.digestTable?.name,
        [ENV.digestQueueUrl]: resources.backends.sms?.digestQueue?.url,
        [ENV.digestImmediate]: "1",
        [ENV.digestWindowSeconds]: "600",
      },
    });
  });

  it("rotates a secret: PutSecretValue makes the new value current and keeps the old one as previous", async () => {
    const secretId = resources.signingKeysSecret.arn;

    await secrets.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        SecretString: JSON.stringify({ keys: ["first-key", "second-key"] }),
      }),
    );

    expect(await secretJson(secretId)).toEqual({ keys: ["first-key", "second-key"] });
    const previous = await secrets.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSPREVIOUS" }),
    );
    expect(JSON.parse(previous.SecretString ?? "null")).toEqual({ keys: ["first-key"] });
    const { Versions = [] } = await secrets.send(new ListSecretVersionIdsCommand({ SecretId: secretId }));
    expect(Versions).toHaveLength(2);
  });

  it("forgets everything on reset", async () => {
    await moto.reset();

    await expect(
      secrets.send(new GetSecretValueCommand({ SecretId: resources.signingKeysSecret.arn })),
    ).rejects.toThrow(/can't find the specified secret|ResourceNotFound/i);
  });
});
