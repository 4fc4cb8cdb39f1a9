import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext, loadSnsEvent } from "../helpers.js";

/** Every deliver entry with the other variables it needs, so only the table name is missing. */
const ENTRIES = [
  {
    module: "../../../../lambdas/deliver-email/handler.js",
    env: { BACKEND_SECRET_ID: "relay/email", EMAIL_FROM: "relay@example.com" },
  },
  { module: "../../../../lambdas/deliver-sms/handler.js", env: { BACKEND_SECRET_ID: "relay/sms" } },
  { module: "../../../../lambdas/deliver-http/handler.js", env: { BACKEND_SECRET_ID: "relay/http" } },
  { module: "../../../../lambdas/deliver-slack/handler.js", env: { BACKEND_SECRET_ID: "relay/slack" } },
];

describe("deliver AWS entries (handler.ts) and the idempotency table", () => {
  const dynamoMock = mockClient(DynamoDBClient);
  const secretsMock = mockClient(SecretsManagerClient);
  const snsMock = mockClient(SNSClient);

  beforeEach(() => {
    dynamoMock.reset();
    secretsMock.reset();
    snsMock.reset();
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    vi.resetModules();
    vi.stubEnv("AWS_REGION", "eu-west-1");
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(ENTRIES)("$module fails at cold start without IDEMPOTENCY_TABLE_NAME", async ({ module, env }) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", undefined);

    await expect(import(module)).rejects.toThrow(/IDEMPOTENCY_TABLE_NAME/);
  });

  it("loads deliver-log without the table, which it never writes (GUARDED_BACKENDS)", async () => {
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", undefined);
    const { handler } = (await import("../../../../lambdas/deliver-log/handler.js")) as {
      handler: (event: unknown, context: unknown) => Promise<void>;
    };

    await handler(loadSnsEvent(), lambdaContext());

    expect(dynamoMock.calls()).toHaveLength(0);
  });

  it("records each send in the table its environment names", async () => {
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", "SqreenRelay-IdempotencyTable-1A2B3C");
    vi.stubEnv("BACKEND_SECRET_ID", "relay/sms");
    secretsMock.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ phoneNumbers: ["+33600000001"], adminPhoneNumbers: [] }),
    });
    snsMock.on(PublishCommand).resolves({ MessageId: "m-1" });
    const { handler } = (await import("../../../../lambdas/deliver-sms/handler.js")) as {
      handler: (event: unknown, context: unknown) => Promise<void>;
    };

    await handler(loadSnsEvent(), lambdaContext());

    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: "SqreenRelay-IdempotencyTable-1A2B3C",
    });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: "SqreenRelay-IdempotencyTable-1A2B3C",
    });
  });
});
