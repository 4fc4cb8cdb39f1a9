/**
 * A burst on AWS, through the real deliver-email handler module against moto: the first alert of
 * a window is e-mailed at once, the next is held and its window's close lands on the backend's
 * own queue, delayed until the window ends; the same function, handed the SQS event Lambda would
 * build from it, sends the digest once, however often the close is redelivered.
 *
 * Needs digest-core's consumer (the handler accepting its queue's SQS events): merged together.
 */
import { GetSendQuotaCommand, SESClient } from "@aws-sdk/client-ses";
import { type Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SNSEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../lambdas/contracts/alert.js";
import { digestQueueMessageSchema } from "../../lambdas/digest/seams.js";
import { parseRelaySettings } from "../../lib/settings.js";
import { loadAlert, snsEventFor } from "../unit/delivery/helpers.js";
import { lambdaContext, sqsEvent } from "./events.js";
import { type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import { createRelayResources, type RelayResources } from "./resources.js";

const WINDOW_SECONDS = 10;
const settings = parseRelaySettings({
  backends: {
    email: {
      enabled: true,
      from: "relay@example.com",
      digest: { immediate: 1, windowSeconds: WINDOW_SECONDS },
    },
  },
});

type DeliverHandler = (event: SNSEvent | SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

describe("a burst to e-mail on AWS (moto): one alone, then one digest", () => {
  let moto: MotoServer;
  let restoreEnvironment: () => void;
  let resources: RelayResources;
  let sqs: SQSClient;
  let ses: SESClient;
  let deliverEmail: DeliverHandler;

  beforeAll(async () => {
    moto = await startMoto();
    restoreEnvironment = useMotoEnvironment(moto);
    process.env.POWERTOOLS_LOG_LEVEL = "ERROR";
    resources = await createRelayResources(settings, {
      secrets: { signingKeys: { keys: ["unused"] }, email: { to: ["alerts@example.com"], adminTo: [] } },
    });
    sqs = new SQSClient({});
    ses = new SESClient({});
    const env = resources.functionEnvironments["deliver-email"] ?? {};
    Object.assign(process.env, env);
    try {
      ({ handler: deliverEmail } = (await import("../../lambdas/deliver-email/handler.js")) as {
        handler: DeliverHandler;
      });
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
    }
  });

  afterAll(async () => {
    sqs?.destroy();
    ses?.destroy();
    delete process.env.POWERTOOLS_LOG_LEVEL;
    restoreEnvironment?.();
    await moto?.stop();
  });

  const sent = async () => (await ses.send(new GetSendQuotaCommand({}))).SentLast24Hours ?? 0;
  const alert = (id: string): Alert => ({ ...loadAlert("security-event"), id });

  async function receiveClose(queueUrl: string, withinMs: number): Promise<Message[]> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (Messages.length > 0 || Date.now() > deadline) return Messages;
    }
  }

  it("e-mails the first alert, holds the second, and sends their window's digest once when it closes", async () => {
    const queue = resources.backends.email?.digestQueue;
    if (!queue) throw new Error("e-mail has digests in this test");
    const before = await sent();

    await deliverEmail(snsEventFor(alert("burst-1")), lambdaContext("deliver-email"));
    await deliverEmail(snsEventFor(alert("burst-2")), lambdaContext("deliver-email"));

    expect((await sent()) - before).toBe(1);
    // The close is delayed until the window ends: nothing to receive before.
    const { Messages: early = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    expect(early).toEqual([]);
    const messages = await receiveClose(queue.url, (WINDOW_SECONDS + 5) * 1000);
    expect(
      messages.map((message) => digestQueueMessageSchema.parse(JSON.parse(message.Body ?? "")).action),
    ).toEqual(["close-window"]);

    const event = sqsEvent(messages, queue.arn);
    await expect(deliverEmail(event, lambdaContext("deliver-email"))).resolves.toEqual({
      batchItemFailures: [],
    });
    // Redelivered (a lost delete, a redrive): the digest is not sent again.
    await expect(deliverEmail(event, lambdaContext("deliver-email"))).resolves.toEqual({
      batchItemFailures: [],
    });

    expect((await sent()) - before).toBe(2);
  });
});
