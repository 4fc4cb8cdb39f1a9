import { PublishBatchCommand, type PublishBatchCommandInput, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import { MAX_MESSAGE_BYTES } from "../../../lambdas/contracts/messages.js";
import { normalizeNotification } from "../../../lambdas/contracts/normalize.js";
import { SnsAlertPublisher, type SnsAlertPublisherOptions } from "../../../lambdas/route/sns-topic.js";
import { DependencyUnavailableError, PermanentError } from "../../../lambdas/runtime/errors.js";
import { distinctSecurityEvents, RECEIVED_AT } from "./support.js";

const TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:alerts";

function alerts(count: number): Alert[] {
  return distinctSecurityEvents(count).map((notification) =>
    normalizeNotification(notification, { receivedAt: RECEIVED_AT, ownApplicationIds: [] }),
  );
}

/** An alert whose serialized JSON is about `bytes` long (the padding rides in `original`). */
function alertOfSize(id: string, bytes: number): Alert {
  const [alert] = alerts(1);
  if (!alert) throw new Error("no alert");
  return { ...alert, id, original: { padding: "x".repeat(bytes) } };
}

function allSucceed(input: PublishBatchCommandInput) {
  return {
    Successful: (input.PublishBatchRequestEntries ?? []).map((entry) => ({ Id: entry.Id, MessageId: "m" })),
    Failed: [],
  };
}

function allFail(input: PublishBatchCommandInput, SenderFault = false) {
  return {
    Successful: [],
    Failed: (input.PublishBatchRequestEntries ?? []).map((entry) => ({
      Id: entry.Id,
      Code: SenderFault ? "InvalidParameter" : "InternalError",
      SenderFault,
    })),
  };
}

describe("SnsAlertPublisher", () => {
  const snsMock = mockClient(SNSClient);

  function publisher(options: Partial<SnsAlertPublisherOptions> = {}) {
    return new SnsAlertPublisher({
      client: new SNSClient({ region: "eu-west-1" }),
      topicArn: TOPIC_ARN,
      sleep: async () => undefined,
      ...options,
    });
  }

  function publishCalls(): PublishBatchCommandInput[] {
    return snsMock.commandCalls(PublishBatchCommand).map((call) => call.args[0].input);
  }

  beforeEach(() => {
    snsMock.reset();
    snsMock.on(PublishBatchCommand).callsFake(allSucceed);
  });

  it("sends the alert JSON as the message, with String attributes", async () => {
    const [alert] = alerts(1);
    if (!alert) throw new Error("no alert");

    await publisher().publish(alert);

    expect(snsMock).toHaveReceivedCommandExactlyOnceWith(PublishBatchCommand, {
      TopicArn: TOPIC_ARN,
      PublishBatchRequestEntries: [
        {
          Id: expect.any(String),
          Message: JSON.stringify(alert),
          MessageAttributes: {
            type: { DataType: "String", StringValue: "security_event" },
            kind: { DataType: "String", StringValue: "security_event" },
            severity: { DataType: "String", StringValue: "high" },
            internal: { DataType: "String", StringValue: "false" },
            environment: { DataType: "String", StringValue: "production" },
            application: { DataType: "String", StringValue: "64b7f0c2e4a1d9001f3c5a77" },
          },
        },
      ],
    });
  });

  it("batches calls made in the same turn, ten entries at most per call", async () => {
    const topic = publisher();

    await Promise.all(alerts(21).map((alert) => topic.publish(alert)));

    expect(publishCalls().map((input) => input.PublishBatchRequestEntries?.length)).toEqual([10, 10, 1]);
  });

  it("sends calls made in later turns in later batches", async () => {
    const topic = publisher();
    const [first, second] = alerts(2);
    if (!first || !second) throw new Error("no alerts");

    await topic.publish(first);
    await topic.publish(second);

    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
  });

  it("keeps each call under the SNS size limit", async () => {
    const topic = publisher();
    const large = ["a", "b", "c"].map((id) => alertOfSize(id, 100 * 1024));

    await Promise.all(large.map((alert) => topic.publish(alert)));

    const sizes = publishCalls().map((input) =>
      (input.PublishBatchRequestEntries ?? []).reduce(
        (total, entry) => total + Buffer.byteLength(entry.Message ?? ""),
        0,
      ),
    );
    expect(sizes).toHaveLength(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });

  it("rejects an alert too large for SNS at once, without calling SNS, and still sends the others", async () => {
    const topic = publisher();
    const [small] = alerts(1);
    if (!small) throw new Error("no alert");

    const tooLarge = topic.publish(alertOfSize("huge", MAX_MESSAGE_BYTES));
    const fine = topic.publish(small);

    await expect(tooLarge).rejects.toThrow(PermanentError);
    await expect(tooLarge).rejects.toThrow(/over the 262144-byte SNS message limit/);
    await fine;
    expect(publishedIds()).toEqual([small.id]);
  });

  it("retries failed entries with growing, jittered delays, then rejects with DependencyUnavailableError", async () => {
    snsMock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => allFail(input));
    const sleep = vi.fn(async (_milliseconds: number) => undefined);
    const [alert] = alerts(1);
    if (!alert) throw new Error("no alert");

    const result = publisher({ sleep, maxAttempts: 3, baseDelayMs: 100, random: () => 0.5 }).publish(alert);

    await expect(result).rejects.toThrow(DependencyUnavailableError);
    await expect(result).rejects.toThrow(/after 3 attempts: InternalError/);
    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 3);
    // Half fixed, half random: 50 + 0.5 * 50, then 100 + 0.5 * 100.
    expect(sleep.mock.calls.map(([milliseconds]) => milliseconds)).toEqual([75, 150]);
  });

  it("does not retry an entry SNS refuses as the sender's fault", async () => {
    snsMock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => allFail(input, true));
    const [alert] = alerts(1);
    if (!alert) throw new Error("no alert");

    await expect(publisher().publish(alert)).rejects.toThrow(PermanentError);
    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
  });

  it("retries an entry SNS reported neither as successful nor as failed", async () => {
    snsMock.on(PublishBatchCommand).resolvesOnce({ Successful: [], Failed: [] }).callsFake(allSucceed);
    const [alert] = alerts(1);
    if (!alert) throw new Error("no alert");

    await publisher().publish(alert);

    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
  });

  it("rejects every alert of a call that failed outright with DependencyUnavailableError", async () => {
    snsMock.on(PublishBatchCommand).rejects(new Error("getaddrinfo ENOTFOUND"));
    const topic = publisher();

    const results = await Promise.allSettled(alerts(3).map((alert) => topic.publish(alert)));

    for (const result of results) {
      expect(result.status).toBe("rejected");
      if (result.status === "rejected") expect(result.reason).toBeInstanceOf(DependencyUnavailableError);
    }
  });

  it("tells the logger which alert is retried", async () => {
    snsMock
      .on(PublishBatchCommand)
      .callsFakeOnce((input: PublishBatchCommandInput) => allFail(input))
      .callsFake(allSucceed);
    const logger = { warn: vi.fn() };
    const [alert] = alerts(1);
    if (!alert) throw new Error("no alert");

    await publisher({ logger }).publish(alert);

    expect(logger.warn).toHaveBeenCalledWith(expect.any(String), {
      alertId: alert.id,
      code: "InternalError",
      attempt: 1,
    });
  });

  function publishedIds(): string[] {
    return publishCalls().flatMap((input) =>
      (input.PublishBatchRequestEntries ?? []).map(
        (entry) => (JSON.parse(entry.Message ?? "{}") as Alert).id,
      ),
    );
  }
});
