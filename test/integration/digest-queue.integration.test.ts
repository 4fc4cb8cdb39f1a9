/**
 * The backend's own queue on moto's SQS, and a held alert's way to its digest without the
 * handlers: admitted by the DynamoDB store, its window's close sent by SqsDigestQueue as the
 * backend does, the close message received from the backend's queue after its delay, validated
 * as the consumer validates it, and the window closed with the alert in it. The resources are
 * createRelayResources', as the stack makes them (queue per human backend, one digest table).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { type Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { DynamoDbDigestWindowStore } from "../../lambdas/digest/dynamodb-window-store.js";
import { digestQueueMessageSchema } from "../../lambdas/digest/seams.js";
import { SqsDigestQueue } from "../../lambdas/digest/sqs-digest-queue.js";
import { parseRelaySettings } from "../../lib/settings.js";
import { entry, freshGroup } from "../digest/window-store-contract.js";
import { type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import { createRelayResources, type RelayResources } from "./resources.js";

const settings = parseRelaySettings({
  backends: {
    slack: { enabled: true, digest: { immediate: 1, windowSeconds: 10 } },
    sms: { enabled: true, digest: false },
  },
});

describe("the backend's own queue against moto", () => {
  let moto: MotoServer;
  let restoreEnvironment: () => void;
  let resources: RelayResources;
  let sqs: SQSClient;
  let dynamoDb: DynamoDBClient;
  let queueUrl: string;

  beforeAll(async () => {
    moto = await startMoto();
    restoreEnvironment = useMotoEnvironment(moto);
    resources = await createRelayResources(settings, { secrets: { signingKeys: { keys: ["unused"] } } });
    sqs = new SQSClient({});
    dynamoDb = new DynamoDBClient({});
    queueUrl = resources.backends.slack?.digestQueue?.url ?? "";
  });

  afterAll(async () => {
    sqs?.destroy();
    dynamoDb?.destroy();
    restoreEnvironment?.();
    await moto?.stop();
  });

  async function receive(): Promise<Message[]> {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    return Messages;
  }

  async function receiveWithin(milliseconds: number): Promise<Message[]> {
    const deadline = Date.now() + milliseconds;
    for (;;) {
      const messages = await receive();
      if (messages.length > 0 || Date.now() > deadline) return messages;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  it("exists for a human backend with digests, named in its environment, and not for one without", () => {
    expect(resources.digestTable).toBeDefined();
    expect(resources.functionEnvironments["deliver-slack"]).toMatchObject({
      [ENV.digestTableName]: resources.digestTable?.name,
      [ENV.digestQueueUrl]: queueUrl,
      [ENV.digestImmediate]: "1",
      [ENV.digestWindowSeconds]: "10",
    });
    expect(resources.backends.sms?.digestQueue).toBeUndefined();
    expect(Object.keys(resources.functionEnvironments["deliver-sms"] ?? {})).not.toContain(
      ENV.digestQueueUrl,
    );
  });

  it("holds a delayed message back until its delay has passed, then delivers it", async () => {
    const queue = new SqsDigestQueue({ queueUrl, client: sqs });
    const now = Date.now();

    await queue.deliverLaterAt('{"id":"later"}', now + 2000, now);

    expect(await receive()).toEqual([]);
    const [message] = await receiveWithin(5000);
    expect(Date.now() - now).toBeGreaterThanOrEqual(2000);
    expect(digestQueueMessageSchema.parse(JSON.parse(message?.Body ?? ""))).toMatchObject({
      action: "deliver-later",
      alert: '{"id":"later"}',
    });
  });

  it("carries a held alert's window close to the backend's queue, and the close finds the alert", async () => {
    const policy = settings.backends.slack.digest;
    if (policy === false) throw new Error("slack has digests in this test");
    const store = new DynamoDbDigestWindowStore({
      tableName: resources.digestTable?.name ?? "",
      client: dynamoDb,
    });
    const queue = new SqsDigestQueue({ queueUrl, client: sqs });
    const group = freshGroup();
    const opened = Date.now() - policy.windowSeconds * 1000 + 1500;

    await store.admit(group, entry(1), policy, opened);
    const held = await store.admit(group, entry(2), policy, opened + 1);
    if (held.mode !== "held" || !held.needsSchedule)
      throw new Error("the second alert should be held, unscheduled");
    // As the backend does (lambdas/digest/seams.ts Admission): schedule, then mark.
    await queue.closeWindowAt(held.windowId, held.closesAt, Date.now());
    await store.markScheduled(held.windowId);

    const [message] = await receiveWithin(5000);
    const close = digestQueueMessageSchema.parse(JSON.parse(message?.Body ?? ""));
    expect(close).toEqual({ action: "close-window", windowId: held.windowId });
    expect(Date.now()).toBeGreaterThanOrEqual(held.closesAt);
    const result = await store.close(held.windowId, Date.now());
    expect(result).toMatchObject({ status: "closed", entries: [entry(2)], sentAlone: 1 });
  });
});
