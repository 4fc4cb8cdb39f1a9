/**
 * A 200 means the notification can travel (issue 11, defect 6): the ingest handler and the route
 * handler, chained through their real SQS and SNS adapters (the clients mocked), must put only
 * entries SQS and SNS accept on the wire, whatever a notification holds. What SQS and SNS accept
 * is written out here from their documentation, not taken from the relay's code: at most 256 KiB
 * per message (body plus each attribute's name, type and value), attribute values of the XML
 * characters #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF (no lone surrogate).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import {
  PublishBatchCommand,
  type PublishBatchCommandInput,
  type PublishBatchRequestEntry,
  SNSClient,
} from "@aws-sdk/client-sns";
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import { createIngestHandler } from "../../../lambdas/ingest/chain.js";
import { signBody } from "../../../lambdas/ingest/signature.js";
import { StaticSigningKeyStore } from "../../../lambdas/ingest/signing-keys.js";
import { SqsNotificationQueue } from "../../../lambdas/ingest/sqs-queue.js";
import { createRouteHandler } from "../../../lambdas/route/chain.js";
import { SnsAlertPublisher } from "../../../lambdas/route/sns-topic.js";
import { sqreenWireBytes, type WireValue } from "../../../scripts/sqreen/wire.js";
import {
  LONE_SURROGATE,
  MANY_IPS,
  securityEventWithId,
  securityEventWithIps,
} from "../../edge-notifications.js";
import { lambdaContext, SAMPLE_SECRET, webhookEvent } from "./fixtures.js";

/** What SQS and SNS take at most per message. */
const LIMIT = 262_144;
/** The characters SQS and SNS accept in a message attribute value (a `u` regex: no lone surrogate). */
const ATTRIBUTE_VALUE = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u;

const utf8 = (text: string | undefined) => Buffer.byteLength(text ?? "", "utf8");

function attributeStrings(
  attributes: Record<string, { DataType?: string; StringValue?: string }> | undefined,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attributes ?? {}).map(([name, value]) => [name, value.StringValue ?? ""]),
  );
}

/** Bytes SQS or SNS counts for a message, and whether each of its attributes is acceptable. */
function wireCheck(body: string | undefined, attributes: Record<string, string>) {
  let bytes = utf8(body);
  for (const [name, value] of Object.entries(attributes)) bytes += utf8(name) + utf8("String") + utf8(value);
  const refused = Object.entries(attributes).filter(([, value]) => !ATTRIBUTE_VALUE.test(value));
  return { bytes, refused: refused.map(([name]) => name) };
}

describe("what ingest accepts travels through SQS and SNS", () => {
  const sqs = mockClient(SQSClient);
  const sns = mockClient(SNSClient);
  const logger = new Logger({ serviceName: "travel", logLevel: "SILENT" });
  const ingest = createIngestHandler({
    keys: new StaticSigningKeyStore([SAMPLE_SECRET]),
    queue: new SqsNotificationQueue({
      client: new SQSClient({ region: "eu-west-1" }),
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingest",
      sleep: async () => undefined,
    }),
    maxBodyBytes: 4_500_000,
    logger,
  });
  const route = createRouteHandler({
    publisher: new SnsAlertPublisher({
      client: new SNSClient({ region: "eu-west-1" }),
      topicArn: "arn:aws:sns:eu-west-1:123456789012:alerts",
      sleep: async () => undefined,
    }),
    ownApplicationIds: [],
    logger,
  });

  beforeEach(() => {
    sqs.reset();
    sns.reset();
    // Like SQS and SNS: an entry over the limit or with a refused attribute fails as the sender's fault.
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => answerSqs(input));
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => answerSns(input));
  });

  function answerSqs(input: SendMessageBatchCommandInput) {
    const entries = input.Entries ?? [];
    const ok = (entry: SendMessageBatchRequestEntry) => {
      const check = wireCheck(entry.MessageBody, attributeStrings(entry.MessageAttributes));
      return check.bytes <= LIMIT && check.refused.length === 0;
    };
    return {
      Successful: entries.filter(ok).map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}` })),
      Failed: entries
        .filter((entry) => !ok(entry))
        .map((entry) => ({ Id: entry.Id, Code: "InvalidParameterValue", SenderFault: true })),
    };
  }

  function answerSns(input: PublishBatchCommandInput) {
    const entries = input.PublishBatchRequestEntries ?? [];
    const ok = (entry: PublishBatchRequestEntry) => {
      const check = wireCheck(entry.Message, attributeStrings(entry.MessageAttributes));
      return check.bytes <= LIMIT && check.refused.length === 0;
    };
    return {
      Successful: entries.filter(ok).map((entry) => ({ Id: entry.Id, MessageId: `s-${entry.Id}` })),
      Failed: entries
        .filter((entry) => !ok(entry))
        .map((entry) => ({ Id: entry.Id, Code: "InvalidParameter", SenderFault: true })),
    };
  }

  /** Posts the signed notifications, then routes what SQS took, as the event source mapping would. */
  async function send(notifications: WireValue[]) {
    const body = sqreenWireBytes(notifications);
    const answer = await ingest(
      webhookEvent({ body, signature: signBody(body, SAMPLE_SECRET) }),
      lambdaContext(),
    );
    const queued = sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? []);
    const event: SQSEvent = {
      Records: queued.map((entry, index) => ({
        messageId: `m-${index}`,
        receiptHandle: `r-${index}`,
        body: entry.MessageBody ?? "",
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "1791028800000",
          SenderId: "AIDAEXAMPLE",
          ApproximateFirstReceiveTimestamp: "1791028800001",
        },
        messageAttributes: Object.fromEntries(
          Object.entries(entry.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            { dataType: "String", stringValue: value.StringValue ?? "" },
          ]),
        ),
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:ingest",
        awsRegion: "eu-west-1",
      })),
    };
    const routed = queued.length > 0 ? await route(event, lambdaContext()) : { batchItemFailures: [] };
    const published = sns
      .commandCalls(PublishBatchCommand)
      .flatMap((call) => call.args[0].input.PublishBatchRequestEntries ?? []);
    return {
      status: answer.statusCode,
      answer: JSON.parse(answer.body ?? "{}") as { ids?: string[]; error?: string; message?: string },
      queued: queued.map((entry) => ({
        ...wireCheck(entry.MessageBody, attributeStrings(entry.MessageAttributes)),
        attributes: attributeStrings(entry.MessageAttributes),
      })),
      routeFailures: routed.batchItemFailures,
      published: published.map((entry) => ({
        ...wireCheck(entry.Message, attributeStrings(entry.MessageAttributes)),
        alert: JSON.parse(entry.Message ?? "{}") as Alert,
      })),
    };
  }

  /** The run delivered: one message per notification on each wire, each acceptable. */
  function expectTravelled(run: Awaited<ReturnType<typeof send>>, count: number) {
    expect(run.status).toBe(200);
    expect(run.queued).toHaveLength(count);
    expect(run.routeFailures).toEqual([]);
    expect(run.published).toHaveLength(count);
    for (const message of [...run.queued, ...run.published]) {
      expect(message.bytes).toBeLessThanOrEqual(LIMIT);
      expect(message.refused).toEqual([]);
    }
  }

  it(`accepts a 176 KB notification naming ${MANY_IPS} IPs, and publishes its Alert under 256 KiB with the IPs bounded and counted`, async () => {
    const notification = securityEventWithIps();
    expect(utf8(JSON.stringify(notification))).toBeGreaterThan(175_000);

    const run = await send([notification]);

    expectTravelled(run, 1);
    const [published] = run.published;
    const alert = published?.alert as Alert;
    expect(alert.ips).toHaveLength(50);
    expect(alert.ips[0]).toEqual({ address: "10.0.0.0", isTor: true, country: "DEU", city: null });
    expect(alert.ipsOmitted).toBe(MANY_IPS - 50);
    expect(alert.text).toContain(`and ${MANY_IPS - 5} more`);
    expect(alert.original).toEqual(notification);
  });

  it("accepts a 140 KB event_id, carrying a bounded, stable identity in the attributes and the original in the body", async () => {
    const eventId = "e".repeat(140_000);

    const first = await send([securityEventWithId(eventId)]);

    expectTravelled(first, 1);
    const [id] = first.answer.ids ?? [];
    expect(id).toMatch(/^e{64}…sha256-[0-9a-f]{32}$/);
    expect(first.queued[0]?.attributes.event_id).toBe(id);
    expect(first.published[0]?.alert.id).toBe(id);
    expect(first.published[0]?.alert.original).toMatchObject({ message: { event_id: eventId } });

    sqs.resetHistory();
    sns.resetHistory();
    const resent = await send([{ ...securityEventWithId(eventId), retry_count: 1 }]);
    expect(resent.answer.ids).toEqual([id]);
  });

  it("accepts an event_id holding a lone UTF-16 surrogate, and keeps it apart from the same id with U+FFFD", async () => {
    const eventId = `evt-${LONE_SURROGATE}-1`;

    const run = await send([securityEventWithId(eventId), securityEventWithId("evt-\uFFFD-1")]);

    expectTravelled(run, 2);
    const [surrogate, replacement] = run.answer.ids ?? [];
    expect(surrogate).toMatch(/^evt-\uFFFD-1…sha256-[0-9a-f]{32}$/);
    expect(replacement).toBe("evt-\uFFFD-1");
    expect(run.published.map((message) => message.alert.id)).toEqual([surrogate, replacement]);
    expect(run.published[0]?.alert.original).toMatchObject({ message: { event_id: eventId } });
  });

  it("refuses, with 413 and nothing queued, a notification whose queue message cannot fit", async () => {
    const notification = securityEventWithId("too-large-for-sqs");
    (notification.message as Record<string, WireValue>).payload = "x".repeat(LIMIT);

    const run = await send([securityEventWithId("small"), notification]);

    expect(run.status).toBe(413);
    expect(run.answer).toEqual({
      error: "notification_too_large",
      message:
        "Notification at index 1 is too large: its queue message would exceed the 262144-byte message limit",
    });
    expect(run.queued).toEqual([]);
  });

  it("refuses, with 413 and nothing queued, a notification that fits SQS but whose Alert cannot fit SNS", async () => {
    const notification = securityEventWithId("too-large-for-sns");
    // Three bytes a character: the description fills the queue message and again the Alert's title and text.
    const filler = "€".repeat(Math.floor((LIMIT - 6_000) / 3));
    (notification.message as Record<string, WireValue>).humanized_description = filler;
    expect(utf8(JSON.stringify(notification))).toBeLessThan(LIMIT - 1_000);

    const run = await send([notification]);

    expect(run.status).toBe(413);
    expect(run.answer.message).toBe(
      "Notification at index 0 is too large: the alert it becomes would exceed the 262144-byte message limit",
    );
    expect(run.queued).toEqual([]);
  });

  it("accepts only what travels, whatever the ids and labels hold (property)", async () => {
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.string({ unit: "binary", minLength: 200, maxLength: 600 }),
      fc.integer({ min: 250, max: 20_000 }).map((length) => "i".repeat(length)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ eventId: text, type: text, environment: text, application: text, ipCount: fc.nat(120) }),
        async ({ eventId, type, environment, application, ipCount }) => {
          sqs.resetHistory();
          sns.resetHistory();
          const notification = securityEventWithIps(ipCount, eventId);
          if (type.length > 0) notification.message_type = type;
          Object.assign(notification.message as object, { environment, application_name: application });

          const run = await send([notification]);

          expectTravelled(run, 1);
          const [id] = run.answer.ids ?? [];
          expect(run.queued[0]?.attributes.event_id).toBe(id);
          expect(run.published[0]?.alert.id).toBe(id);
          expect(run.published[0]?.alert.original).toEqual(notification);
        },
      ),
      { seed: 20_261_102, numRuns: 60 },
    );
  });
});
