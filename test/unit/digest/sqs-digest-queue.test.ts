import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { digestQueueMessageSchema } from "../../../lambdas/digest/seams.js";
import { delaySecondsUntil, SqsDigestQueue } from "../../../lambdas/digest/sqs-digest-queue.js";
import { TransientDeliveryError } from "../../../lambdas/runtime/errors.js";

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/deliver-slack-digests";
const NOW = 1_000_000;

describe("the SQS digest queue", () => {
  const sqs = mockClient(SQSClient);

  beforeEach(() => {
    sqs.reset();
  });

  const queue = () =>
    new SqsDigestQueue({
      queueUrl: QUEUE_URL,
      client: new SQSClient({ region: "eu-west-1", maxAttempts: 1 }),
    });

  it("delays a window's close until its closesAt, rounded up to the second so it is never early", async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: "m-1" });

    await queue().closeWindowAt("w-1", NOW + 60_001, NOW);

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: QUEUE_URL,
      DelaySeconds: 61,
    });
    const body = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
    expect(digestQueueMessageSchema.parse(JSON.parse(body))).toEqual({
      action: "close-window",
      windowId: "w-1",
    });
  });

  it("carries a delivery that must wait as the topic's message body, delayed until its time", async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: "m-2" });

    await queue().deliverLaterAt('{"id":"a-1"}', NOW + 2500, NOW);

    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { DelaySeconds: 3 });
    const body = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
    expect(JSON.parse(body)).toEqual({ action: "deliver-later", alert: '{"id":"a-1"}' });
  });

  it("says how often the alert already waited, when it did", async () => {
    sqs.on(SendMessageCommand).resolves({ MessageId: "m-3" });

    await queue().deliverLaterAt('{"id":"a-1"}', NOW + 60_000, NOW, 2);

    const body = sqs.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? "";
    expect(JSON.parse(body)).toEqual({ action: "deliver-later", alert: '{"id":"a-1"}', deferrals: 2 });
  });

  it("delays at most 15 minutes (the consumer schedules again), and never negatively", () => {
    expect(delaySecondsUntil(NOW + 3_600_000, NOW)).toBe(900);
    expect(delaySecondsUntil(NOW - 5000, NOW)).toBe(0);
    expect(delaySecondsUntil(NOW, NOW)).toBe(0);
  });

  it("fails retryably, naming the error but not the message, when SQS refuses", async () => {
    sqs
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error("denied for w-secret"), { name: "AccessDenied" }));

    const sent = queue().closeWindowAt("w-secret", NOW + 1000, NOW);

    await expect(sent).rejects.toThrow(TransientDeliveryError);
    await expect(sent).rejects.toThrow("Digest queue failed to schedule a window's close: AccessDenied");
  });
});
