/**
 * The digest windows on moto's DynamoDB: the store contract (test/digest/window-store-contract.ts)
 * run against DynamoDbDigestWindowStore, its transactions and conditions on a real DynamoDB
 * protocol, in a table created as the stack creates it.
 */
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDbDigestWindowStore } from "../../lambdas/digest/dynamodb-window-store.js";
import { WINDOW_RETENTION_SECONDS } from "../../lambdas/digest/seams.js";
import { describeDigestWindowStore, entry, freshGroup } from "../digest/window-store-contract.js";
import { type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import { createDigestTable } from "./resources.js";

let moto: MotoServer;
let restoreEnvironment: () => void;
let dynamoDb: DynamoDBClient;
let store: DynamoDbDigestWindowStore;
let tableName: string;

/**
 * moto differs from DynamoDB here: moto_server answers requests on several threads and its
 * TransactWriteItems checks the conditions and then writes without a lock, so two transactions
 * sent at the same moment can both pass a condition only one of them should (moto 5.2: 20
 * concurrent admits sent 4 alerts alone where the policy allows 3). DynamoDB makes every request
 * atomic. So the client sends one request at a time: each request is atomic as on DynamoDB, and
 * the admits still interleave their reads and transactions as concurrent invocations do.
 */
function oneRequestAtATime(client: DynamoDBClient): void {
  let previous: Promise<unknown> = Promise.resolve();
  client.middlewareStack.add(
    (next) => (args) => {
      const turn = previous.then(() => next(args));
      previous = turn.catch(() => undefined);
      return turn;
    },
    { step: "deserialize", name: "motoOneRequestAtATime" },
  );
}

beforeAll(async () => {
  moto = await startMoto();
  restoreEnvironment = useMotoEnvironment(moto);
  dynamoDb = new DynamoDBClient({});
  oneRequestAtATime(dynamoDb);
  ({ name: tableName } = await createDigestTable(dynamoDb, "digest-store-contract"));
  store = new DynamoDbDigestWindowStore({ tableName, client: dynamoDb });
});

afterAll(async () => {
  dynamoDb?.destroy();
  restoreEnvironment?.();
  await moto?.stop();
});

describeDigestWindowStore("the DynamoDB window store", () => store);

describe("the DynamoDB window store's items", () => {
  it("hold no destination, application or alert id in a key, and all expire after the retention", async () => {
    const group = freshGroup({ application: "shop#1", destination: "dest-hash" });
    const held = { immediate: 0, windowSeconds: 60 };
    const admission = await store.admit(group, entry(1, { alertId: "alert#1" }), held, 1_000_000);
    if (admission.mode !== "held") throw new Error("expected a held alert");

    const { Items = [] } = await dynamoDb.send(new ScanCommand({ TableName: tableName }));
    const mine = Items.filter((item) => JSON.stringify(item).includes(admission.windowId));

    // Pointer, window, admission and member: every key a fixed prefix and a hash or our window id.
    expect(mine).toHaveLength(4);
    for (const item of mine) {
      const key = `${item.pk?.S} ${item.sk?.S}`;
      expect(key).not.toMatch(/shop|dest-hash|alert#1/);
      expect(Number(item.expiresAt?.N)).toBe(Math.ceil(admission.closesAt / 1000) + WINDOW_RETENTION_SECONDS);
    }
  });
});

describe("the DynamoDB window store when an admit stops between its member and its transaction", () => {
  /** A store whose process dies (here: throws) as it sends its first transaction, its member written. */
  function storeThatCrashesOnItsFirstTransaction(): {
    store: DynamoDbDigestWindowStore;
    client: DynamoDBClient;
  } {
    const client = new DynamoDBClient({});
    oneRequestAtATime(client);
    let crashed = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (!crashed && context.commandName === "TransactWriteItemsCommand") {
          crashed = true;
          throw new Error("the invocation timed out");
        }
        return next(args);
      },
      { step: "initialize", name: "crashOnFirstTransaction" },
    );
    return { store: new DynamoDbDigestWindowStore({ tableName, client }), client };
  }

  it("leaves its member out of the window's digest, and counts the alert once, where its retry's admission says", async () => {
    const group = freshGroup();
    const held = { immediate: 0, windowSeconds: 60 };
    const now = 2_000_000;
    const first = await store.admit(group, entry(1), held, now);
    if (first.mode !== "held") throw new Error("expected a held alert");
    const crashing = storeThatCrashesOnItsFirstTransaction();

    await expect(crashing.store.admit(group, entry(2), held, now + 1_000)).rejects.toThrow(
      "Digest store failed to admit an alert",
    );
    const closed = await store.close(first.windowId, now + 61_000);
    // The platform retries the delivery after the window closed: a new window holds it.
    const retried = await store.admit(group, entry(2), held, now + 62_000);
    if (retried.mode !== "held") throw new Error("expected a held alert");
    const closedAgain = await store.close(retried.windowId, now + 123_000);
    crashing.client.destroy();

    expect(closed).toMatchObject({ status: "closed", entries: [entry(1)] });
    expect(retried.windowId).not.toBe(first.windowId);
    expect(closedAgain).toMatchObject({ status: "closed", entries: [entry(2)] });
  });
});

describe("the DynamoDB window store for a quiet group", () => {
  it("renews a window that held nothing in place, and still holds and digests a burst that follows", async () => {
    const group = freshGroup();
    const policy = { immediate: 1, windowSeconds: 60 };
    const now = 3_000_000;
    const first = await store.admit(group, entry(1), policy, now);

    const second = await store.admit(group, entry(2), policy, now + 61_000);
    const replay = await store.admit(group, entry(1), policy, now + 62_000);
    const held = await store.admit(group, entry(3), policy, now + 63_000);
    if (held.mode !== "held") throw new Error("expected a held alert");
    const closed = await store.close(held.windowId, now + 61_000 + 61_000);

    expect(first.mode).toBe("immediate");
    // The same item, a new period: no new window, no new pointer.
    expect(second).toEqual({ mode: "immediate", windowId: first.windowId });
    expect(replay).toEqual({ mode: "immediate", windowId: first.windowId });
    expect(held.windowId).toBe(first.windowId);
    expect(closed).toMatchObject({
      status: "closed",
      entries: [entry(3)],
      sentAlone: 1,
      openedAt: now + 61_000,
    });
  });
});
