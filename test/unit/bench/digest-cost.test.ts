/**
 * The digest part of the cost model: its arithmetic by hand, and its request counts against the
 * DynamoDB window store's real requests (the store on a mocked client), so the model cannot drift
 * from what the store does.
 */
import { DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { DIGEST_STORE_REQUESTS, digestCosts, digestWindowCounts } from "../../../bench/cost.js";
import { DynamoDbDigestWindowStore } from "../../../lambdas/digest/dynamodb-window-store.js";
import type { DigestGroup } from "../../../lambdas/digest/seams.js";
import { entry } from "../../digest/window-store-contract.js";

const WINDOW_ID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const NOW = 1_000_000;
const group: DigestGroup = {
  backend: "sms",
  destination: "hash",
  application: "shop",
  environment: "production",
  kind: "security_event",
};

describe("the digest cost model", () => {
  it("counts a burst's window by hand: 3 alone, 997 held, one digest, one close message", () => {
    const counts = digestWindowCounts({
      alertsPerWindow: 1000,
      policy: { immediate: 3, windowSeconds: 60 },
      memberBytes: 400,
    });

    expect(counts).toEqual({
      alerts: 1000,
      sentAlone: 3,
      digests: 1,
      // 2 eventually consistent reads (half a unit each) per admit; the close reads the window,
      // 997 × 400 B = 98 started 4 KB units of members, and each member's admission.
      dynamoDbReadUnits: 1000 + 1 + 98 + 997,
      // Open 3 items, 2 joins of 2 items, 997 joins of 2 items, 2 WRU each, and 997 members put
      // alone (1 WRU each); markScheduled and close.
      dynamoDbWriteUnits: 6 + 2 * 4 + 997 * (4 + 1) + 2,
      queueMessages: 1,
      sqsRequests: 3,
      closeInvocations: 1,
      // 1000 admissions, 997 members, the window and the group's pointer.
      storedItems: 1999,
    });
  });

  it("counts a quiet alert's window: sent alone, nothing held, nothing queued", () => {
    expect(
      digestWindowCounts({
        alertsPerWindow: 1,
        policy: { immediate: 1, windowSeconds: 600 },
        memberBytes: 400,
      }),
    ).toMatchObject({
      sentAlone: 1,
      digests: 0,
      dynamoDbReadUnits: 1,
      dynamoDbWriteUnits: 6,
      queueMessages: 0,
    });
  });

  it("renews a quiet group's window in place: admission and window, no new window or pointer", () => {
    expect(
      digestWindowCounts({
        alertsPerWindow: 1,
        policy: { immediate: 1, windowSeconds: 600 },
        memberBytes: 400,
        renewed: true,
      }),
    ).toMatchObject({ sentAlone: 1, dynamoDbReadUnits: 1, dynamoDbWriteUnits: 4, storedItems: 1 });
  });

  it("needs a close message per 15 minutes of a longer window, and bills a large member per started KB", () => {
    const counts = digestWindowCounts({
      alertsPerWindow: 2,
      policy: { immediate: 0, windowSeconds: 3600 },
      memberBytes: 1500,
    });

    expect(counts.queueMessages).toBe(4);
    // Open (3 × 2) with its member (2 KB units, put alone), one held join (2 × 2 + 2), markScheduled and close.
    expect(counts.dynamoDbWriteUnits).toBe(8 + 6 + 2);
  });

  it("prices a million alerts in bursts of 1000 per destination, and the messages they become", () => {
    const cost = digestCosts({
      alertsPerWindow: 1000,
      policy: { immediate: 3, windowSeconds: 60 },
      memberBytes: 400,
    });

    expect(cost.messagesSent).toBe(4000);
    expect(cost.dynamoDb).toBeCloseTo(1000 * ((2096 * 0.125 + 5001 * 0.625) / 1_000_000), 9);
    expect(cost.sqs).toBeCloseTo((1000 * 3 * 0.4) / 1_000_000, 12);
  });
});

describe("the digest cost model's request counts", () => {
  const dynamoDb = mockClient(DynamoDBDocumentClient);
  const store = new DynamoDbDigestWindowStore({
    tableName: "digests",
    client: new DynamoDBClient({ region: "eu-west-1", maxAttempts: 1 }),
  });

  beforeEach(() => {
    dynamoDb.reset();
    dynamoDb.on(TransactWriteCommand).resolves({});
    dynamoDb.on(PutCommand).resolves({});
    dynamoDb.on(UpdateCommand).resolves({});
    dynamoDb.on(QueryCommand).resolves({ Items: [] });
  });

  /** The group's pointer names a window with `immediateCount` alerts sent alone and `heldCount` held, closing at `closesAt`. */
  function givenWindow(immediateCount: number, closesAt: number, heldCount = 0): void {
    dynamoDb.on(GetCommand).callsFake((input: { Key: { sk: string } }) => {
      if (input.Key.sk === "pointer") return { Item: { windowId: WINDOW_ID } };
      if (input.Key.sk === "window")
        return {
          Item: {
            status: "open",
            openedAt: NOW - 1000,
            closesAt,
            immediateCount,
            heldCount,
            scheduled: false,
            group,
          },
        };
      return {};
    });
  }

  const transactionItems = () =>
    dynamoDb.commandCalls(TransactWriteCommand)[0]?.args[0].input.TransactItems?.length ?? 0;

  it.each([
    ["opens a window for an alert sent alone", 0, NOW - 1, 1, DIGEST_STORE_REQUESTS.openItems, 0],
    [
      "opens a window for an alert held",
      0,
      NOW - 1,
      0,
      DIGEST_STORE_REQUESTS.openItems,
      DIGEST_STORE_REQUESTS.memberWrites,
    ],
    ["joins a window alone", 1, NOW + 60_000, 3, DIGEST_STORE_REQUESTS.joinItems, 0],
    [
      "joins a window held",
      3,
      NOW + 60_000,
      3,
      DIGEST_STORE_REQUESTS.joinItems,
      DIGEST_STORE_REQUESTS.memberWrites,
    ],
  ])(
    "reads and writes what the model says when it %s",
    async (_case, sent, closesAt, immediate, items, puts) => {
      // A past window that held an alert: the next opens a new one (one that held none is renewed).
      givenWindow(sent, closesAt, closesAt < NOW ? 1 : 0);

      await store.admit(group, entry(1), { immediate, windowSeconds: 60 }, NOW);

      const reads = dynamoDb.commandCalls(GetCommand).map((call) => call.args[0].input);
      expect(reads).toHaveLength(DIGEST_STORE_REQUESTS.readsPerAdmit);
      // Eventually consistent: half a read unit each (DIGEST_STORE_REQUESTS.readUnitsPerAdmitRead).
      for (const read of reads) expect(read.ConsistentRead).toBe(false);
      expect(DIGEST_STORE_REQUESTS.readUnitsPerAdmitRead).toBe(0.5);
      expect(transactionItems()).toBe(items);
      expect(dynamoDb.commandCalls(PutCommand)).toHaveLength(puts);
    },
  );

  it("renews a past window that held nothing with the transaction of items the model says", async () => {
    givenWindow(1, NOW - 1);

    const admission = await store.admit(group, entry(1), { immediate: 1, windowSeconds: 60 }, NOW);

    expect(admission).toEqual({ mode: "immediate", windowId: WINDOW_ID });
    expect(dynamoDb.commandCalls(GetCommand)).toHaveLength(DIGEST_STORE_REQUESTS.readsPerAdmit);
    expect(transactionItems()).toBe(DIGEST_STORE_REQUESTS.renewItems);
  });

  it("gives a replay its first answer back once the admission's condition refuses the transaction", async () => {
    givenWindow(0, NOW + 60_000);
    dynamoDb.on(GetCommand, { Key: { sk: "admission" } }).resolves({
      Item: { mode: "immediate", windowId: WINDOW_ID, closesAt: NOW + 60_000 },
    });
    dynamoDb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: [{ Code: "ConditionalCheckFailed" }, { Code: "None" }],
      }),
    );

    const admission = await store.admit(group, entry(1), { immediate: 3, windowSeconds: 60 }, NOW);

    expect(admission).toEqual({ mode: "immediate", windowId: WINDOW_ID });
    expect(dynamoDb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    const admissionRead = dynamoDb
      .commandCalls(GetCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.Key?.sk === "admission");
    expect(admissionRead?.ConsistentRead).toBe(true);
  });

  it("writes and reads what the model says to schedule and close a window", async () => {
    givenWindow(3, NOW - 1);

    await store.markScheduled(WINDOW_ID);
    await store.close(WINDOW_ID, NOW);

    expect(dynamoDb.commandCalls(UpdateCommand)).toHaveLength(DIGEST_STORE_REQUESTS.writesPerHeldWindow);
    expect(dynamoDb.commandCalls(GetCommand)).toHaveLength(DIGEST_STORE_REQUESTS.readsPerClose);
    expect(dynamoDb.commandCalls(QueryCommand)).toHaveLength(1);
  });
});
