/**
 * The digest part of the cost model: its arithmetic by hand, and its request counts against the
 * DynamoDB window store's real requests (the store on a mocked client), so the model cannot drift
 * from what the store does.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
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
      // 3 reads per admit; the close reads the window and 997 × 400 B = 98 started 4 KB units.
      dynamoDbReadUnits: 3000 + 1 + 98,
      // Open 3 items, 2 joins of 2 items, 997 joins of 3 items, 2 WRU each; markScheduled and close.
      dynamoDbWriteUnits: 6 + 2 * 4 + 997 * 6 + 2,
      queueMessages: 1,
      sqsRequests: 3,
      closeInvocations: 1,
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
      dynamoDbReadUnits: 3,
      dynamoDbWriteUnits: 6,
      queueMessages: 0,
    });
  });

  it("needs a close message per 15 minutes of a longer window, and bills a large member per started KB", () => {
    const counts = digestWindowCounts({
      alertsPerWindow: 2,
      policy: { immediate: 0, windowSeconds: 3600 },
      memberBytes: 1500,
    });

    expect(counts.queueMessages).toBe(4);
    // Open with its member (3 × 2 + 2 × 2), one held join (2 × 2 + 2 × 2), markScheduled and close.
    expect(counts.dynamoDbWriteUnits).toBe(10 + 8 + 2);
  });

  it("prices a million alerts in bursts of 1000 per destination, and the messages they become", () => {
    const cost = digestCosts({
      alertsPerWindow: 1000,
      policy: { immediate: 3, windowSeconds: 60 },
      memberBytes: 400,
    });

    expect(cost.messagesSent).toBe(4000);
    expect(cost.dynamoDb).toBeCloseTo(1000 * ((3099 * 0.125 + 5998 * 0.625) / 1_000_000), 9);
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
    dynamoDb.on(UpdateCommand).resolves({});
    dynamoDb.on(QueryCommand).resolves({ Items: [] });
  });

  /** The group's pointer names a window with `immediateCount` alerts sent alone, closing at `closesAt`. */
  function givenWindow(immediateCount: number, closesAt: number): void {
    dynamoDb.on(GetCommand).callsFake((input: { Key: { sk: string } }) => {
      if (input.Key.sk === "pointer") return { Item: { windowId: WINDOW_ID } };
      if (input.Key.sk === "window")
        return {
          Item: {
            status: "open",
            openedAt: NOW - 1000,
            closesAt,
            immediateCount,
            heldCount: 0,
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
    ["opens a window for an alert sent alone", 0, NOW - 1, 1, DIGEST_STORE_REQUESTS.openItems.immediate],
    ["opens a window for an alert held", 0, NOW - 1, 0, DIGEST_STORE_REQUESTS.openItems.held],
    ["joins a window alone", 1, NOW + 60_000, 3, DIGEST_STORE_REQUESTS.joinItems.immediate],
    ["joins a window held", 3, NOW + 60_000, 3, DIGEST_STORE_REQUESTS.joinItems.held],
  ])("reads and writes what the model says when it %s", async (_case, sent, closesAt, immediate, items) => {
    givenWindow(sent, closesAt);

    await store.admit(group, entry(1), { immediate, windowSeconds: 60 }, NOW);

    expect(dynamoDb.commandCalls(GetCommand)).toHaveLength(DIGEST_STORE_REQUESTS.readsPerAdmit);
    expect(transactionItems()).toBe(items);
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
