import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext, SAMPLE_SECRET, sampleBytes, sampleSignature, webhookEvent } from "./fixtures.js";

describe("ingest AWS entry (handler.ts)", () => {
  const sqsMock = mockClient(SQSClient);
  const secretsMock = mockClient(SecretsManagerClient);

  beforeEach(() => {
    sqsMock.reset();
    secretsMock.reset();
    vi.resetModules();
    vi.stubEnv("AWS_REGION", "eu-west-1");
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ keys: [SAMPLE_SECRET] }) });
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: (input.Entries ?? []).map((entry) => ({
        Id: entry.Id,
        MessageId: "m",
        MD5OfMessageBody: "x",
      })),
      Failed: [],
    }));
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("wires the secret and queue named by its environment into the handler", async () => {
    vi.stubEnv("SIGNING_KEYS_SECRET_ID", "relay/signing-keys");
    vi.stubEnv("INGEST_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/relay-ingest");
    const { handler } = await import("../../../lambdas/ingest/handler.js");

    const result = await handler(
      webhookEvent({ body: sampleBytes("v2-test.json"), signature: sampleSignature("v2-test.json") }),
      lambdaContext(),
    );

    expect(result.statusCode).toBe(200);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: "relay/signing-keys" });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, {
      QueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/relay-ingest",
    });
  });

  it("fails at cold start when its environment is incomplete", async () => {
    vi.stubEnv("SIGNING_KEYS_SECRET_ID", "relay/signing-keys");
    vi.stubEnv("INGEST_QUEUE_URL", undefined);

    await expect(import("../../../lambdas/ingest/handler.js")).rejects.toThrow(/INGEST_QUEUE_URL/);
  });
});
