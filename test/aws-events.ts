/**
 * The events Lambda hands a function from SQS and SNS, built from what a queue really returned:
 * shared by the integration tier (the handler modules) and the bundle tier (the synthesized
 * bundles), so both feed their functions the same shapes.
 */
import type { Message } from "@aws-sdk/client-sqs";
import type { SNSEvent, SQSEvent, SQSRecord } from "aws-lambda";

/** The SQS event Lambda's event source mapping builds from received messages. */
export function sqsEvent(messages: readonly Message[], queueArn: string, region: string): SQSEvent {
  return {
    Records: messages.map(
      (message): SQSRecord => ({
        messageId: message.MessageId ?? "",
        receiptHandle: message.ReceiptHandle ?? "",
        body: message.Body ?? "",
        attributes: {
          ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
          SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: message.Attributes?.SenderId ?? "AROAEXAMPLE",
          ApproximateFirstReceiveTimestamp:
            message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            {
              dataType: value.DataType ?? "String",
              ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
              stringListValues: [],
              binaryListValues: [],
            },
          ]),
        ),
        md5OfBody: message.MD5OfBody ?? "",
        ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: region,
      }),
    ),
  };
}

/**
 * The SNS envelope a queue receives when raw delivery is off (the JSON SNS hands Lambda too).
 * moto spells two keys `SigningCertUrl` and `UnsubscribeUrl` where AWS writes `...URL`: both read.
 */
export interface SnsEnvelope {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Subject?: string | null;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL?: string;
  SigningCertUrl?: string;
  UnsubscribeURL?: string;
  UnsubscribeUrl?: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

/** The one-record event SNS delivers to a function subscribed as `subscriptionArn`. */
export function snsEvent(envelope: SnsEnvelope, subscriptionArn: string): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: subscriptionArn,
        Sns: {
          Type: envelope.Type,
          MessageId: envelope.MessageId,
          TopicArn: envelope.TopicArn,
          // Lambda passes null when the message has no subject (aws-lambda's type says string).
          Subject: (envelope.Subject ?? null) as string,
          Message: envelope.Message,
          Timestamp: envelope.Timestamp,
          SignatureVersion: envelope.SignatureVersion,
          Signature: envelope.Signature,
          SigningCertUrl: envelope.SigningCertURL ?? envelope.SigningCertUrl ?? "",
          UnsubscribeUrl: envelope.UnsubscribeURL ?? envelope.UnsubscribeUrl ?? "",
          MessageAttributes: envelope.MessageAttributes ?? {},
        },
      },
    ],
  };
}
