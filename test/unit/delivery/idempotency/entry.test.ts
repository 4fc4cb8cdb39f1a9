import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext, loadSnsEvent } from "../helpers.js";

const LEDGER = { LEDGER_TABLE_NAME: "SqreenRelay-LedgerTable-4D5E6F" };
const LOG_ENTRY = { module: "../../../../lambdas/deliver-log/handler.js", env: { ...LEDGER } };

/** Every guarded deliver entry with the other variables it needs, so only a table name is missing. */
const GUARDED_ENTRIES = [
  {
    module: "../../../../lambdas/deliver-email/handler.js",
    env: { ...LEDGER, BACKEND_SECRET_ID: "relay/email", EMAIL_FROM: "relay@example.com" },
  },
  {
    module: "../../../../lambdas/deliver-sms/handler.js",
    env: { ...LEDGER, BACKEND_SECRET_ID: "relay/sms" },
  },
  {
    module: "../../../../lambdas/deliver-http/handler.js",
    env: { ...LEDGER, BACKEND_SECRET_ID: "relay/http" },
  },
  {
    module: "../../../../lambdas/deliver-slack/handler.js",
    env: { ...LEDGER, BACKEND_SECRET_ID: "relay/slack" },
  },
];

type Handler = { handler: (event: unknown, context: unknown) => Promise<void> };

describe("deliver AWS entries (handler.ts), the idempotency table and the ledger", () => {
  const dynamoMock = mockClient(DynamoDBClient);
  // The ledger writes through the document client (lambdas/ledger/dynamodb-ledger.ts).
  const ledgerMock = mockClient(DynamoDBDocumentClient);
  const secretsMock = mockClient(SecretsManagerClient);
  const snsMock = mockClient(SNSClient);

  beforeEach(() => {
    dynamoMock.reset();
    secretsMock.reset();
    snsMock.reset();
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    ledgerMock.reset();
    ledgerMock.on(QueryCommand).resolves({ Items: [] });
    ledgerMock.on(BatchWriteCommand).resolves({});
    vi.resetModules();
    vi.stubEnv("POWERTOOLS_METRICS_NAMESPACE", "SqreenRelay");
    vi.stubEnv("AWS_REGION", "eu-west-1");
    vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it.each(GUARDED_ENTRIES)(
    "$module fails at cold start without IDEMPOTENCY_TABLE_NAME",
    async ({ module, env }) => {
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
      vi.stubEnv("IDEMPOTENCY_TABLE_NAME", undefined);

      await expect(import(module)).rejects.toThrow(/IDEMPOTENCY_TABLE_NAME/);
    },
  );

  it.each([LOG_ENTRY, ...GUARDED_ENTRIES])(
    "$module fails at cold start without LEDGER_TABLE_NAME",
    async ({ module, env }) => {
      for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
      vi.stubEnv("IDEMPOTENCY_TABLE_NAME", "SqreenRelay-IdempotencyTable-1A2B3C");
      vi.stubEnv("LEDGER_TABLE_NAME", undefined);

      await expect(import(module)).rejects.toThrow(/LEDGER_TABLE_NAME/);
    },
  );

  it("deliver-log needs no idempotency table, which it never writes (GUARDED_BACKENDS), and records its entry in the ledger", async () => {
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", undefined);
    vi.stubEnv("LEDGER_TABLE_NAME", LEDGER.LEDGER_TABLE_NAME);
    const { handler } = (await import(LOG_ENTRY.module)) as Handler;

    await handler(loadSnsEvent(), lambdaContext());

    expect(dynamoMock.calls()).toHaveLength(0);
    // The attempt count in the backend's own partition, then the entry.
    expect(ledgerMock).toHaveReceivedCommandWith(QueryCommand, {
      TableName: LEDGER.LEDGER_TABLE_NAME,
      ExpressionAttributeValues: expect.objectContaining({ ":pk": "log#651a7c3e9f2b4d0012ab34cd" }),
    });
    const [write] = ledgerMock.commandCalls(BatchWriteCommand);
    expect(Object.keys(write?.args[0].input.RequestItems ?? {})).toEqual([LEDGER.LEDGER_TABLE_NAME]);
  });

  it("records each send in the idempotency table its environment names, and the outcome in the ledger", async () => {
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", "SqreenRelay-IdempotencyTable-1A2B3C");
    vi.stubEnv("LEDGER_TABLE_NAME", LEDGER.LEDGER_TABLE_NAME);
    vi.stubEnv("BACKEND_SECRET_ID", "relay/sms");
    secretsMock.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ phoneNumbers: ["+33600000001"], adminPhoneNumbers: [] }),
    });
    snsMock.on(PublishCommand).resolves({ MessageId: "m-1" });
    const { handler } = (await import("../../../../lambdas/deliver-sms/handler.js")) as Handler;

    await handler(loadSnsEvent(), lambdaContext());

    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: "SqreenRelay-IdempotencyTable-1A2B3C",
    });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: "SqreenRelay-IdempotencyTable-1A2B3C",
    });
    const [write] = ledgerMock.commandCalls(BatchWriteCommand);
    expect(Object.keys(write?.args[0].input.RequestItems ?? {})).toEqual([LEDGER.LEDGER_TABLE_NAME]);
  });
});
