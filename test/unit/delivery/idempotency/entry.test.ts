import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext, loadSnsEvent } from "../helpers.js";

const LEDGER = { LEDGER_TABLE_NAME: "SqreenRelay-LedgerTable-4D5E6F" };

/** Every deliver entry with the other variables it needs, so only the table name is missing. */
const ENTRIES = [
  { module: "../../../../lambdas/deliver-log/handler.js", env: { ...LEDGER } },
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

describe("deliver AWS entries (handler.ts) and the idempotency table", () => {
  const dynamoMock = mockClient(DynamoDBClient);
  // The ledger writes through the document client (lambdas/ledger/dynamodb-ledger.ts).
  const ledgerMock = mockClient(DynamoDBDocumentClient);

  beforeEach(() => {
    dynamoMock.reset();
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

  it.each(ENTRIES)("$module fails at cold start without IDEMPOTENCY_TABLE_NAME", async ({ module, env }) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", undefined);

    await expect(import(module)).rejects.toThrow(/IDEMPOTENCY_TABLE_NAME/);
  });

  it.each(ENTRIES)("$module fails at cold start without LEDGER_TABLE_NAME", async ({ module, env }) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", "SqreenRelay-IdempotencyTable-1A2B3C");
    vi.stubEnv("LEDGER_TABLE_NAME", undefined);

    await expect(import(module)).rejects.toThrow(/LEDGER_TABLE_NAME/);
  });

  it("records deliveries in the tables its environment names: the idempotency record and the ledger entry", async () => {
    vi.stubEnv("IDEMPOTENCY_TABLE_NAME", "SqreenRelay-IdempotencyTable-1A2B3C");
    vi.stubEnv("LEDGER_TABLE_NAME", LEDGER.LEDGER_TABLE_NAME);
    const { handler } = (await import("../../../../lambdas/deliver-log/handler.js")) as {
      handler: (event: unknown, context: unknown) => Promise<void>;
    };

    await handler(loadSnsEvent(), lambdaContext());

    expect(dynamoMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: "SqreenRelay-IdempotencyTable-1A2B3C",
    });
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: "SqreenRelay-IdempotencyTable-1A2B3C",
    });
    // The attempt count in the backend's own partition, then the entry.
    expect(ledgerMock).toHaveReceivedCommandWith(QueryCommand, {
      TableName: LEDGER.LEDGER_TABLE_NAME,
      ExpressionAttributeValues: expect.objectContaining({ ":pk": "log#651a7c3e9f2b4d0012ab34cd" }),
    });
    const [write] = ledgerMock.commandCalls(BatchWriteCommand);
    expect(Object.keys(write?.args[0].input.RequestItems ?? {})).toEqual([LEDGER.LEDGER_TABLE_NAME]);
  });
});
