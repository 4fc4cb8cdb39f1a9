import { Logger } from "@aws-lambda-powertools/logger";
import {
  PublishBatchCommand,
  type PublishBatchCommandInput,
  type PublishBatchCommandOutput,
  SNSClient,
} from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { type Alert, INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import { createRouteHandler } from "../../../lambdas/route/chain.js";
import { SnsAlertPublisher } from "../../../lambdas/route/sns-topic.js";
import {
  distinctSecurityEvents,
  firstOf,
  lambdaContext,
  ownApplicationId,
  RECEIVED_AT,
  sample,
  silentLogger,
  sqsEvent,
} from "./support.js";

const TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:alerts";

/** Answers a PublishBatch call, failing the entries whose alert id `fails` picks. */
function answer(
  input: PublishBatchCommandInput,
  fails: (alert: Alert) => { Code: string; SenderFault: boolean } | undefined = () => undefined,
): Partial<PublishBatchCommandOutput> {
  const entries = input.PublishBatchRequestEntries ?? [];
  const Successful: NonNullable<PublishBatchCommandOutput["Successful"]> = [];
  const Failed: NonNullable<PublishBatchCommandOutput["Failed"]> = [];
  for (const entry of entries) {
    const failure = fails(JSON.parse(entry.Message ?? "{}") as Alert);
    if (failure) Failed.push({ Id: entry.Id, ...failure });
    else Successful.push({ Id: entry.Id, MessageId: `sns-${entry.Id}` });
  }
  return { Successful, Failed };
}

function publishedAlerts(calls: readonly PublishBatchCommandInput[]): Alert[] {
  return calls.flatMap((input) =>
    (input.PublishBatchRequestEntries ?? []).map((entry) => JSON.parse(entry.Message ?? "{}") as Alert),
  );
}

describe("route handler", () => {
  const snsMock = mockClient(SNSClient);
  const logger = silentLogger();

  function handlerWith(options: { maxAttempts?: number } = {}) {
    const publisher = new SnsAlertPublisher({
      client: new SNSClient({ region: "eu-west-1" }),
      topicArn: TOPIC_ARN,
      sleep: async () => undefined,
      ...options,
    });
    return createRouteHandler({ publisher, ownApplicationIds: [ownApplicationId], logger });
  }

  function publishCalls(): PublishBatchCommandInput[] {
    return snsMock.commandCalls(PublishBatchCommand).map((call) => call.args[0].input);
  }

  beforeEach(() => {
    snsMock.reset();
    vi.restoreAllMocks();
    snsMock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => answer(input));
  });

  it("publishes the 25 alerts of a 25-record batch in 3 PublishBatch calls", async () => {
    const event = sqsEvent(distinctSecurityEvents(25).map((notification) => JSON.stringify(notification)));

    const response = await handlerWith()(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 3);
    expect(publishCalls().map((input) => input.PublishBatchRequestEntries?.length)).toEqual([10, 10, 5]);
    expect(
      publishedAlerts(publishCalls())
        .map((alert) => alert.id)
        .sort(),
    ).toEqual(Array.from({ length: 25 }, (_, index) => `event-${index}`).sort());
  });

  it("gives the entries of one call unique ids and sends them to the alerts topic", async () => {
    const event = sqsEvent(distinctSecurityEvents(10).map((notification) => JSON.stringify(notification)));

    await handlerWith()(event, lambdaContext());

    const [call] = publishCalls();
    const ids = (call?.PublishBatchRequestEntries ?? []).map((entry) => entry.Id);
    expect(call?.TopicArn).toBe(TOPIC_ARN);
    expect(new Set(ids).size).toBe(10);
  });

  it("publishes each mixed-batch notification as its alert JSON with the routing attributes", async () => {
    const notifications = sample("v2-mixed-batch.json");
    const event = sqsEvent(notifications.map((notification) => JSON.stringify(notification)));

    await handlerWith()(event, lambdaContext());

    const entries = publishCalls().flatMap((input) => input.PublishBatchRequestEntries ?? []);
    const attributesOf = (index: number) =>
      Object.fromEntries(
        Object.entries(entries[index]?.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          `${value.DataType}:${value.StringValue}`,
        ]),
      );
    expect(entries).toHaveLength(4);
    expect(attributesOf(0)).toEqual({
      type: "String:security_event",
      kind: "String:security_event",
      severity: "String:high",
      internal: "String:true",
      environment: "String:production",
      application: `String:${ownApplicationId}`,
    });
    expect(attributesOf(1)).toEqual({
      type: "String:account_takeover",
      kind: "String:incident",
      severity: "String:high",
      internal: "String:true",
      environment: "String:unknown",
      application: `String:${ownApplicationId}`,
    });
    expect(attributesOf(3)).toEqual({
      type: "String:custom_detection",
      kind: "String:unknown",
      severity: "String:medium",
      internal: "String:false",
      environment: "String:staging",
      application: "String:64b7f0c2e4a1d9001f3c5a88",
    });
    const [first] = publishedAlerts(publishCalls());
    expect(first).toMatchObject({ id: "651a7c3e9f2b4d0012ab34cd", receivedAt: RECEIVED_AT });
    expect(first?.original).toEqual(notifications[0]);
  });

  it("publishes a test notification as info, not internal, with unknown application", async () => {
    const event = sqsEvent([JSON.stringify(firstOf("v2-test.json"))]);

    await handlerWith()(event, lambdaContext());

    expect(snsMock).toHaveReceivedCommandWith(PublishBatchCommand, {
      PublishBatchRequestEntries: [
        expect.objectContaining({
          MessageAttributes: expect.objectContaining({
            severity: { DataType: "String", StringValue: "info" },
            internal: { DataType: "String", StringValue: "false" },
            application: { DataType: "String", StringValue: "unknown" },
          }),
        }),
      ],
    });
  });

  it("retries an entry SNS failed and reports no failure once it is accepted", async () => {
    let failedOnce = false;
    snsMock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) =>
      answer(input, (alert) => {
        if (alert.id !== "event-3" || failedOnce) return undefined;
        failedOnce = true;
        return { Code: "InternalError", SenderFault: false };
      }),
    );
    const event = sqsEvent(distinctSecurityEvents(5).map((notification) => JSON.stringify(notification)));

    const response = await handlerWith()(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 2);
    const [, retry] = publishCalls();
    expect(publishedAlerts(retry ? [retry] : []).map((alert) => alert.id)).toEqual(["event-3"]);
  });

  it("reports exactly the record whose entry SNS keeps failing", async () => {
    snsMock
      .on(PublishBatchCommand)
      .callsFake((input: PublishBatchCommandInput) =>
        answer(input, (alert) =>
          alert.id === "event-7" ? { Code: "InternalError", SenderFault: false } : undefined,
        ),
      );
    const event = sqsEvent(distinctSecurityEvents(12).map((notification) => JSON.stringify(notification)));

    const response = await handlerWith({ maxAttempts: 3 })(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "message-7" }] });
    // Two first calls (10 + 2 entries), then two retries of the failing entry alone.
    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 4);
  });

  it("reports a record SNS refuses as the sender's fault without retrying it", async () => {
    snsMock
      .on(PublishBatchCommand)
      .callsFake((input: PublishBatchCommandInput) =>
        answer(input, (alert) =>
          alert.id === "event-1" ? { Code: "InvalidParameter", SenderFault: true } : undefined,
        ),
      );
    const event = sqsEvent(distinctSecurityEvents(3).map((notification) => JSON.stringify(notification)));

    const response = await handlerWith()(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "message-1" }] });
    expect(snsMock).toHaveReceivedCommandTimes(PublishBatchCommand, 1);
  });

  it("fails only the record whose body is not JSON", async () => {
    const bodies = distinctSecurityEvents(3).map((notification) => JSON.stringify(notification));
    bodies[1] = "{not json";

    const response = await handlerWith()(sqsEvent(bodies), lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "message-1" }] });
    expect(publishedAlerts(publishCalls()).map((alert) => alert.id)).toEqual(["event-0", "event-2"]);
  });

  it("fails only the record whose JSON is not a notification object", async () => {
    const bodies = ["[1, 2]", JSON.stringify(firstOf("v1-pulse.json"))];

    const response = await handlerWith()(sqsEvent(bodies), lambdaContext());

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: "message-0" }] });
  });

  it("reports every record, rather than throwing, when the topic is unavailable", async () => {
    snsMock.on(PublishBatchCommand).rejects(new Error("socket hang up"));
    const event = sqsEvent(distinctSecurityEvents(2).map((notification) => JSON.stringify(notification)));

    const response = await handlerWith()(event, lambdaContext());

    expect(response).toEqual({
      batchItemFailures: [{ itemIdentifier: "message-0" }, { itemIdentifier: "message-1" }],
    });
  });

  it("tags the log line of an internal alert and not the others", async () => {
    const debug = vi.spyOn(logger, "debug");
    const bodies = [firstOf("v2-security-event.json"), firstOf("v1-security-event.json")].map(
      (notification) => JSON.stringify(notification),
    );

    await handlerWith()(sqsEvent(bodies), lambdaContext());

    const routed = debug.mock.calls.filter(([message]) => String(message).includes("Routing alert"));
    expect(routed.map(([message]) => message)).toEqual([
      `${INTERNAL_ALERT_TAG} Routing alert`,
      "Routing alert",
    ]);
  });
});

describe("route handler log lines the failed-records metric counts", () => {
  const snsMock = mockClient(SNSClient);
  let lines: Record<string, unknown>[] = [];

  /** What the stack's metric filter `{ $.outcome = "failed" }` matches in route's log group. */
  const failedRecordLines = () => lines.filter((line) => line.outcome === "failed");

  async function route(bodies: string[]) {
    const logger = new Logger({ serviceName: "route", logLevel: "INFO" });
    const publisher = new SnsAlertPublisher({
      client: new SNSClient({ region: "eu-west-1" }),
      topicArn: TOPIC_ARN,
      sleep: async () => undefined,
    });
    return createRouteHandler({ publisher, ownApplicationIds: [], logger })(
      sqsEvent(bodies),
      lambdaContext(),
    );
  }

  beforeEach(() => {
    snsMock.reset();
    vi.restoreAllMocks();
    lines = [];
    const capture = (chunk: string | Uint8Array) => {
      for (const text of String(chunk).split("\n").filter(Boolean)) {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      }
      return true;
    };
    vi.spyOn(process.stdout, "write").mockImplementation(capture);
    vi.spyOn(process.stderr, "write").mockImplementation(capture);
  });

  it("writes one per record the topic refused, and none for the records it took", async () => {
    snsMock
      .on(PublishBatchCommand)
      .callsFake((input: PublishBatchCommandInput) =>
        answer(input, (alert) =>
          alert.id === "event-1" ? { Code: "InvalidParameter", SenderFault: true } : undefined,
        ),
      );
    const bodies = distinctSecurityEvents(3).map((notification) => JSON.stringify(notification));

    const response = await route(bodies);

    expect(response.batchItemFailures).toHaveLength(1);
    expect(failedRecordLines()).toHaveLength(1);
    expect(failedRecordLines()[0]).toMatchObject({
      level: "ERROR",
      alertId: "event-1",
      messageId: "message-1",
    });
  });

  it("writes one per record it cannot parse", async () => {
    snsMock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => answer(input));

    const response = await route(["{not json", "[1, 2]", JSON.stringify(firstOf("v2-test.json"))]);

    expect(response.batchItemFailures).toHaveLength(2);
    expect(failedRecordLines().map((line) => line.messageId)).toEqual(["message-0", "message-1"]);
  });

  it("writes one per record when the topic is unavailable, though the invocation itself succeeds", async () => {
    snsMock.on(PublishBatchCommand).rejects(new Error("socket hang up"));
    const bodies = distinctSecurityEvents(4).map((notification) => JSON.stringify(notification));

    const response = await route(bodies);

    expect(response.batchItemFailures).toHaveLength(4);
    expect(failedRecordLines()).toHaveLength(4);
  });
});
