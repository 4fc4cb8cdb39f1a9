/**
 * The DynamoDB window store's answers to what moto cannot produce: transaction conflicts,
 * throttling inside a transaction, a close racing another, a Query in pages. The contract itself
 * runs against moto (test/integration/digest-store.integration.test.ts).
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DynamoDbDigestWindowStore } from "../../../lambdas/digest/dynamodb-window-store.js";
import type { DigestGroup } from "../../../lambdas/digest/seams.js";
import { TransientDeliveryError } from "../../../lambdas/runtime/errors.js";
import { entry } from "../../digest/window-store-contract.js";

const TABLE = "digests";
const WINDOW_ID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const POLICY = { immediate: 3, windowSeconds: 60 };
const NOW = 1_000_000;
const group: DigestGroup = {
  backend: "slack",
  destination: "hash-of-the-webhook",
  application: "shop",
  environment: "production",
  kind: "security_event",
};
const openWindow = {
  status: "open",
  openedAt: NOW - 1000,
  closesAt: NOW + 59_000,
  immediateCount: 3,
  heldCount: 10,
  scheduled: true,
  group,
};

function canceled(...codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: "Transaction cancelled",
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

describe("the DynamoDB window store", () => {
  const dynamoDb = mockClient(DynamoDBDocumentClient);
  const waits: number[] = [];

  beforeEach(() => {
    dynamoDb.reset();
    waits.length = 0;
  });

  function store(maxAdmitRounds?: number) {
    return new DynamoDbDigestWindowStore({
      tableName: TABLE,
      client: new DynamoDBClient({ region: "eu-west-1", maxAttempts: 1 }),
      sleep: async (milliseconds) => {
        waits.push(milliseconds);
      },
      ...(maxAdmitRounds !== undefined ? { maxAdmitRounds } : {}),
    });
  }

  /** The group already has an open window with its `immediate` alerts sent: the next is held. */
  function givenAnOpenWindow(): void {
    dynamoDb.on(GetCommand).callsFake((input: { Key: { sk: string } }) => {
      switch (input.Key.sk) {
        case "pointer":
          return { Item: { pk: "group#x", sk: "pointer", windowId: WINDOW_ID } };
        case "window":
          return { Item: { pk: `window#${WINDOW_ID}`, sk: "window", ...openWindow } };
        default:
          return {};
      }
    });
  }

  it("waits and tries again when a transaction conflicts with another under way", async () => {
    givenAnOpenWindow();
    dynamoDb
      .on(TransactWriteCommand)
      .rejectsOnce(canceled("None", "TransactionConflict", "None"))
      .resolves({});

    const admission = await store().admit(group, entry(4), POLICY, NOW);

    expect(admission).toEqual({
      mode: "held",
      windowId: WINDOW_ID,
      closesAt: openWindow.closesAt,
      needsSchedule: false,
    });
    expect(dynamoDb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    expect(waits).toHaveLength(1);
  });

  it("reads again and decides again, without waiting, when another admit or a close won the condition", async () => {
    givenAnOpenWindow();
    dynamoDb
      .on(TransactWriteCommand)
      .rejectsOnce(canceled("None", "None", "ConditionalCheckFailed"))
      .resolves({});

    await store().admit(group, entry(4), POLICY, NOW);

    expect(dynamoDb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    // Pointer and window read in each round: eventually consistent first, then strongly.
    const consistency = dynamoDb.commandCalls(GetCommand).map((call) => call.args[0].input.ConsistentRead);
    expect(consistency).toEqual([false, false, true, true]);
    expect(waits).toEqual([]);
  });

  it("fails the delivery, naming the reason, when DynamoDB throttles a transaction", async () => {
    givenAnOpenWindow();
    dynamoDb.on(TransactWriteCommand).rejects(canceled("None", "ThrottlingError", "None"));

    const admit = store().admit(group, entry(4), POLICY, NOW);

    await expect(admit).rejects.toThrow(TransientDeliveryError);
    await expect(admit).rejects.toThrow("Digest store refused an admit: ThrottlingError");
  });

  it("gives up, retryably, when the window stays contended", async () => {
    givenAnOpenWindow();
    dynamoDb.on(TransactWriteCommand).rejects(canceled("TransactionConflict"));

    await expect(store(3).admit(group, entry(4), POLICY, NOW)).rejects.toThrow(
      /stayed contended for 3 rounds/,
    );
    expect(dynamoDb).toHaveReceivedCommandTimes(TransactWriteCommand, 3);
  });

  it("names the failed call, never a key or a value, when DynamoDB cannot be reached", async () => {
    dynamoDb
      .on(GetCommand)
      .rejects(Object.assign(new Error("connect ECONNREFUSED"), { name: "TimeoutError" }));

    const admit = store().admit(group, entry(4, { alertId: "secret-looking-id" }), POLICY, NOW);

    await expect(admit).rejects.toThrow("Digest store failed to read a group: TimeoutError");
    await expect(admit).rejects.not.toThrow(/secret-looking-id|shop|hash-of-the-webhook/);
  });

  it("builds no key from the alert id, application or destination", async () => {
    dynamoDb.on(GetCommand).resolves({});
    dynamoDb.on(TransactWriteCommand).resolves({});

    await store().admit(group, entry(1, { alertId: "alert#1" }), POLICY, NOW);

    const keys = dynamoDb
      .commandCalls(TransactWriteCommand)
      .flatMap((call) => call.args[0].input.TransactItems ?? [])
      .map((item) => `${item.Put?.Item?.pk} ${item.Put?.Item?.sk}`);
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(key).not.toMatch(/alert#1|shop|hash-of-the-webhook|production/);
  });

  it("returns the closed window when another close shut it between the read and the update", async () => {
    const due = { ...openWindow, closesAt: NOW - 1 };
    dynamoDb.on(GetCommand).resolves({ Item: { pk: `window#${WINDOW_ID}`, sk: "window", ...due } });
    dynamoDb
      .on(UpdateCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} }),
      );
    dynamoDb.on(QueryCommand).resolves({ Items: [] });

    await expect(store().close(WINDOW_ID, NOW)).resolves.toMatchObject({ status: "closed", sentAlone: 3 });
  });

  const member = (n: number) => ({
    pk: `window#${WINDOW_ID}`,
    sk: `member#${n}`,
    entry: entry(n),
    admittedAt: NOW - n,
  });

  it("reads every page of a window's members, oldest first, and their admissions strongly consistent", async () => {
    const closed = { ...openWindow, status: "closed", closesAt: NOW - 1 };
    dynamoDb.on(GetCommand).resolves({ Item: { pk: `window#${WINDOW_ID}`, sk: "window", ...closed } });
    dynamoDb
      .on(QueryCommand)
      .resolvesOnce({ Items: [member(5), member(3)], LastEvaluatedKey: { pk: "p", sk: "s" } })
      .resolvesOnce({ Items: [member(4)] });
    dynamoDb
      .on(BatchGetCommand)
      .callsFake((input: { RequestItems: Record<string, { Keys: { pk: string }[] }> }) => ({
        Responses: {
          [TABLE]: (input.RequestItems[TABLE]?.Keys ?? []).map((key) => ({
            pk: key.pk,
            sk: "admission",
            mode: "held",
            windowId: WINDOW_ID,
            closesAt: NOW - 1,
          })),
        },
      }));

    const result = await store().close(WINDOW_ID, NOW);

    expect(result).toMatchObject({ status: "closed", entries: [entry(3), entry(4), entry(5)] });
    expect(dynamoDb).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(dynamoDb).toHaveReceivedNthCommandWith(QueryCommand, 2, {
      ExclusiveStartKey: { pk: "p", sk: "s" },
      ConsistentRead: true,
    });
    const batch = dynamoDb.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.[TABLE];
    expect(batch?.ConsistentRead).toBe(true);
    expect(batch?.Keys).toHaveLength(3);
  });

  it("leaves out a member whose admission names another window, or sent it alone: an admit that did not commit here", async () => {
    const closed = { ...openWindow, status: "closed", closesAt: NOW - 1 };
    dynamoDb.on(GetCommand).resolves({ Item: { pk: `window#${WINDOW_ID}`, sk: "window", ...closed } });
    dynamoDb.on(QueryCommand).resolves({ Items: [member(3), member(4), member(5)] });
    // The admissions come back in the keys' order: 3 held here, 4 held in another window, 5 alone.
    dynamoDb
      .on(BatchGetCommand)
      .callsFake((input: { RequestItems: Record<string, { Keys: { pk: string }[] }> }) => ({
        Responses: {
          [TABLE]: (input.RequestItems[TABLE]?.Keys ?? []).map((key, index) => ({
            pk: key.pk,
            sk: "admission",
            closesAt: NOW - 1,
            ...[
              { mode: "held", windowId: WINDOW_ID },
              { mode: "held", windowId: "9b2c1f4e-0d3a-4b5c-8e7f-112233445566" },
              { mode: "immediate", windowId: WINDOW_ID },
            ][index],
          })),
        },
      }));

    const result = await store().close(WINDOW_ID, NOW);

    expect(result).toMatchObject({ status: "closed", entries: [entry(3)] });
  });

  it("knows no window by an id it could not have made, without asking DynamoDB", async () => {
    await expect(store().close('window#"x"', NOW)).resolves.toEqual({ status: "unknown" });
    await store().markScheduled("../other");

    expect(dynamoDb.calls()).toHaveLength(0);
  });
});
