import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchRequestEntry,
  SQSClient,
  SQSServiceException,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES } from "../../../lambdas/contracts/messages.js";
import {
  entryPayloadBytes,
  MAX_QUEUE_ATTRIBUTE_BYTES,
  MAX_UTF8_BYTES_PER_UNIT,
  planBatches,
  type QueuedNotification,
  queuedMessageBytes,
  queueMessageAttributes,
  SqsNotificationQueue,
} from "../../../lambdas/ingest/sqs-queue.js";
import { DependencyUnavailableError } from "../../../lambdas/runtime/errors.js";

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/ingest";

function queued(index: number, body = `{"id": "${index}"}`): QueuedNotification {
  return {
    eventId: `evt-${index}`,
    type: "security_event",
    apiVersion: "2",
    body,
    requestId: "req-1",
    receivedAt: "2026-10-02T10:30:00.000Z",
  };
}

function acceptAll(input: SendMessageBatchCommandInput) {
  return {
    Successful: (input.Entries ?? []).map((entry) => ({
      Id: entry.Id,
      MessageId: "m",
      MD5OfMessageBody: "x",
    })),
    Failed: [],
  };
}

function entry(id: string, bodyBytes: number): SendMessageBatchRequestEntry {
  return { Id: id, MessageBody: "x".repeat(bodyBytes) };
}

function clientFault(name: string, throttling = false): SQSServiceException {
  return new SQSServiceException({
    name,
    $fault: "client",
    $metadata: {},
    ...(throttling ? { $retryable: { throttling: true } } : {}),
  });
}

describe("queueMessageAttributes", () => {
  it("sets every queue attribute as a String", () => {
    expect(queueMessageAttributes(queued(7))).toEqual({
      notification_type: { DataType: "String", StringValue: "security_event" },
      event_id: { DataType: "String", StringValue: "evt-7" },
      api_version: { DataType: "String", StringValue: "2" },
      request_id: { DataType: "String", StringValue: "req-1" },
      received_at: { DataType: "String", StringValue: "2026-10-02T10:30:00.000Z" },
    });
  });

  it("never sends an empty value, which SQS would reject", () => {
    const attributes = queueMessageAttributes({ ...queued(1), requestId: "" });

    expect(attributes.request_id).toEqual({ DataType: "String", StringValue: "unknown" });
  });
});

describe("the bound the core checks sizes with before counting bytes", () => {
  it("holds the attributes of a message whose every value is as long and as wide as it can be", () => {
    // 3-byte characters, and more of them than an attribute keeps (attributeValue cuts at 256).
    const wide = "\u20ac".repeat(400);
    const widest: QueuedNotification = {
      eventId: wide,
      type: wide,
      apiVersion: "2",
      body: "{}",
      requestId: wide,
      receivedAt: wide,
    };

    const attributeBytes = queuedMessageBytes(widest) - Buffer.byteLength(widest.body, "utf8");

    expect(attributeBytes).toBeGreaterThan(3 * 256 * 3);
    expect(attributeBytes).toBeLessThanOrEqual(MAX_QUEUE_ATTRIBUTE_BYTES);
  });

  it("bounds a string's UTF-8 bytes by its length, whatever its characters", () => {
    for (const text of ["ascii", "\u00e9t\u00e9", "\u20ac\u20ac", "\u{1F600}", "\ud800", "\uffff"]) {
      expect(Buffer.byteLength(text, "utf8")).toBeLessThanOrEqual(text.length * MAX_UTF8_BYTES_PER_UNIT);
    }
  });
});

describe("planBatches", () => {
  it("puts at most 10 entries in a call", () => {
    const entries = Array.from({ length: 25 }, (_, index) => entry(`n${index}`, 10));

    expect(planBatches(entries).map((batch) => batch.length)).toEqual([10, 10, 5]);
  });

  it("starts a new call before the payload would pass 256 KiB, keeping the order", () => {
    const large = 100 * 1024;
    const entries = [entry("a", large), entry("b", large), entry("c", large), entry("d", 10)];

    const batches = planBatches(entries);

    expect(batches.map((batch) => batch.map((item) => item.Id))).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
    for (const batch of batches) {
      expect(batch.reduce((sum, item) => sum + entryPayloadBytes(item), 0)).toBeLessThanOrEqual(
        MAX_MESSAGE_BYTES,
      );
    }
  });

  it("counts attribute names, types and values in the payload", () => {
    const withAttributes: SendMessageBatchRequestEntry = {
      Id: "n0",
      MessageBody: "body",
      MessageAttributes: { event_id: { DataType: "String", StringValue: "évt" } },
    };

    expect(entryPayloadBytes(withAttributes)).toBe(4 + "event_id".length + "String".length + 4);
  });
});

describe("SqsNotificationQueue", () => {
  const sqsMock = mockClient(SQSClient);
  const queue = new SqsNotificationQueue({
    client: new SQSClient({ region: "eu-west-1" }),
    queueUrl: QUEUE_URL,
    sleep: async () => {},
  });

  beforeEach(() => {
    sqsMock.reset();
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
  });

  it("gives entries ids unique within a call, in SQS's allowed alphabet", async () => {
    await queue.enqueue(Array.from({ length: 23 }, (_, index) => queued(index)));

    for (const call of sqsMock.commandCalls(SendMessageBatchCommand)) {
      const ids = (call.args[0].input.Entries ?? []).map((item) => item.Id ?? "");
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
  });

  it("sends nothing for no notification", async () => {
    await queue.enqueue([]);

    expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it("keeps at most `concurrency` calls in flight", async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return acceptAll(input);
    });
    const bounded = new SqsNotificationQueue({
      client: new SQSClient({ region: "eu-west-1" }),
      queueUrl: QUEUE_URL,
      concurrency: 3,
    });

    await bounded.enqueue(Array.from({ length: 100 }, (_, index) => queued(index)));

    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 10);
    expect(mostInFlight).toBe(3);
  });

  it("retries a throttled call", async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejectsOnce(clientFault("RequestThrottled", true))
      .callsFake(acceptAll);

    await queue.enqueue([queued(1)]);

    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
  });

  it("does not retry a client fault such as a missing queue, and says which", async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(clientFault("QueueDoesNotExist"));

    const enqueue = queue.enqueue([queued(1)]);

    await expect(enqueue).rejects.toThrow(DependencyUnavailableError);
    await expect(enqueue).rejects.toThrow(/1 of 1 notifications were not enqueued \(QueueDoesNotExist\)/);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  it("counts an entry SQS neither accepted nor rejected as not enqueued", async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    await expect(queue.enqueue([queued(1)])).rejects.toThrow(/NotAcknowledged/);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 4);
  });

  it("stops starting new calls once one has failed for good", async () => {
    sqsMock.on(SendMessageBatchCommand).rejects(clientFault("AccessDenied"));
    const serial = new SqsNotificationQueue({
      client: new SQSClient({ region: "eu-west-1" }),
      queueUrl: QUEUE_URL,
      concurrency: 1,
    });

    await expect(serial.enqueue(Array.from({ length: 30 }, (_, index) => queued(index)))).rejects.toThrow(
      /30 of 30 notifications were not enqueued/,
    );
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });
});
