/** Builders shared by the route tests: samples, SQS events shaped as ingest enqueues them, a Lambda context. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { QUEUE_ATTRIBUTES } from "../../../lambdas/contracts/messages.js";
import { lambdaContext as localLambdaContext } from "../../../local/aws/lambda-context.js";
import { SAMPLES_DIR } from "../../samples.js";

export type JsonObject = Record<string, unknown>;

export const ownApplicationId = (
  JSON.parse(readFileSync(path.join(SAMPLES_DIR, "SIGNATURES.json"), "utf8")) as {
    own_application_id_for_internal_alert_samples: string;
  }
).own_application_id_for_internal_alert_samples;

/** The notifications of one shared sample file. */
export function sample(file: string): JsonObject[] {
  return JSON.parse(readFileSync(path.join(SAMPLES_DIR, file), "utf8")) as JsonObject[];
}

export function firstOf(file: string): JsonObject {
  const [notification] = sample(file);
  if (!notification) throw new Error(`${file} holds no notification`);
  return notification;
}

/** `count` distinct v2 security events (the shared sample with event ids `event-0`, `event-1`...). */
export function distinctSecurityEvents(count: number): JsonObject[] {
  const template = firstOf("v2-security-event.json");
  return Array.from({ length: count }, (_, index) => {
    const notification = structuredClone(template);
    (notification.message as JsonObject).event_id = `event-${index}`;
    return notification;
  });
}

export const RECEIVED_AT = "2026-10-02T12:00:00.000Z";

/** One SQS record as ingest enqueues it: the notification's JSON, with the queue attributes. */
export function sqsRecord(body: string, index: number): SQSRecord {
  const stringAttribute = (value: string) => ({ dataType: "String", stringValue: value });
  return {
    messageId: `message-${index}`,
    receiptHandle: `receipt-${index}`,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "1791028800000",
      SenderId: "AIDAEXAMPLE",
      ApproximateFirstReceiveTimestamp: "1791028800001",
    },
    messageAttributes: {
      [QUEUE_ATTRIBUTES.receivedAt]: stringAttribute(RECEIVED_AT),
      [QUEUE_ATTRIBUTES.requestId]: stringAttribute("request-1"),
    },
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:ingest",
    awsRegion: "eu-west-1",
  };
}

export function sqsEvent(bodies: readonly string[]): SQSEvent {
  return { Records: bodies.map((body, index) => sqsRecord(body, index)) };
}

export function lambdaContext(): Context {
  return localLambdaContext("route", 30_000);
}

/** A real Powertools logger that prints nothing; spy on it to read what was logged. */
export function silentLogger(): Logger {
  return new Logger({ serviceName: "route-test", logLevel: "SILENT" });
}
