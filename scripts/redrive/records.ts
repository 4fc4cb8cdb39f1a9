/**
 * What a dead letter holds, and the SNS event that replays it. Three shapes exist:
 * - AWS, delivery DLQ (a deliver function's on-failure destination): a Lambda invocation record,
 *   `{ requestContext: { functionArn, condition, approximateInvokeCount }, requestPayload: <the
 *   SNS event>, responseContext, responsePayload: { errorType, errorMessage } }`;
 * - AWS, subscription DLQ (SNS could not invoke the function at all): the SNS notification as SNS
 *   would have delivered it to a queue, `{ Type: "Notification", MessageId, TopicArn, Message,
 *   MessageAttributes: { name: { Type, Value } }, ... }`;
 * - local (`.relay/dead-letters/<backend>.jsonl`, one per line): `{ source, reason, attempts,
 *   failedAt, payload: { messageId, message, attributes } }`.
 */
import type { SNSEvent, SNSMessageAttributes } from "aws-lambda";

/** A dead letter made ready to replay. */
export interface Replayable {
  /** The event the deliver function receives. */
  event: SNSEvent;
  /** The alert's id, for the summary (`unknown` when the message is not an alert). */
  alertId: string;
  /** The function that failed, when the record names it (invocation records do). */
  functionArn?: string;
  /** Why it was dead-lettered, when the record says. */
  reason?: string;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The `id` of the alert an SNS message carries, for reports only. */
export function alertIdOf(message: string): string {
  try {
    const alert: unknown = JSON.parse(message);
    return isObject(alert) && typeof alert.id === "string" ? alert.id : "unknown";
  } catch {
    return "unknown";
  }
}

/** The one-record SNS event Lambda builds for a notification (the fields the handlers read). */
export function snsEventFor(notification: {
  messageId: string;
  message: string;
  attributes: Record<string, string>;
  topicArn?: string;
  timestamp?: string;
}): SNSEvent {
  const messageAttributes: SNSMessageAttributes = {};
  for (const [name, value] of Object.entries(notification.attributes)) {
    messageAttributes[name] = { Type: "String", Value: value };
  }
  const topicArn = notification.topicArn ?? "arn:aws:sns:local:000000000000:alerts";
  return {
    Records: [
      {
        EventVersion: "1.0",
        EventSubscriptionArn: `${topicArn}:redrive`,
        EventSource: "aws:sns",
        Sns: {
          Type: "Notification",
          MessageId: notification.messageId,
          TopicArn: topicArn,
          Subject: "",
          Message: notification.message,
          Timestamp: notification.timestamp ?? new Date().toISOString(),
          SignatureVersion: "1",
          Signature: "",
          SigningCertUrl: "",
          UnsubscribeUrl: "",
          MessageAttributes: messageAttributes,
        },
      },
    ],
  };
}

function firstMessage(event: unknown): string | undefined {
  if (!isObject(event) || !Array.isArray(event.Records)) return undefined;
  const record: unknown = event.Records[0];
  if (!isObject(record) || !isObject(record.Sns)) return undefined;
  return typeof record.Sns.Message === "string" ? record.Sns.Message : undefined;
}

/**
 * Reads the body of a message from a deliver function's dead-letter queue in AWS (an invocation
 * record or an SNS notification). Throws on anything else: the caller keeps such a message.
 */
export function replayableFromQueueMessage(body: string): Replayable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error("not JSON");
  }
  if (!isObject(parsed)) throw new Error("not a JSON object");
  if ("requestPayload" in parsed) {
    const message = firstMessage(parsed.requestPayload);
    if (message === undefined) throw new Error("invocation record without an SNS event");
    const context = isObject(parsed.requestContext) ? parsed.requestContext : {};
    const response = isObject(parsed.responsePayload) ? parsed.responsePayload : {};
    return {
      event: parsed.requestPayload as SNSEvent,
      alertId: alertIdOf(message),
      ...(typeof context.functionArn === "string" ? { functionArn: context.functionArn } : {}),
      ...(typeof response.errorMessage === "string"
        ? { reason: response.errorMessage }
        : typeof context.condition === "string"
          ? { reason: context.condition }
          : {}),
    };
  }
  if (parsed.Type === "Notification" && typeof parsed.Message === "string") {
    const attributes: Record<string, string> = {};
    if (isObject(parsed.MessageAttributes)) {
      for (const [name, attribute] of Object.entries(parsed.MessageAttributes)) {
        if (isObject(attribute) && typeof attribute.Value === "string") attributes[name] = attribute.Value;
      }
    }
    return {
      event: snsEventFor({
        messageId: typeof parsed.MessageId === "string" ? parsed.MessageId : "redrive",
        message: parsed.Message,
        attributes,
        ...(typeof parsed.TopicArn === "string" ? { topicArn: parsed.TopicArn } : {}),
        ...(typeof parsed.Timestamp === "string" ? { timestamp: parsed.Timestamp } : {}),
      }),
      alertId: alertIdOf(parsed.Message),
    };
  }
  throw new Error("neither a Lambda invocation record nor an SNS notification");
}
