/**
 * AWS event shapes built from what moto really holds: an API Gateway HTTP API (v2) request for
 * ingest, an SQS event from received ingest messages for route, an SNS event from the envelope a
 * backend's queue received for the deliver functions. Lambda would build the same from the same
 * messages; building them here lets the integration tier run the real handler modules in-process.
 */
import type { Message } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, Context, SNSEvent, SQSEvent, SQSRecord } from "aws-lambda";
import { lambdaContext as localLambdaContext } from "../../local/aws/lambda-context.js";
import { TEST_REGION } from "./moto.js";

/** The API Gateway event for a POST of `body` with `headers` (names lower-cased, as API Gateway does). */
export function webhookEvent(
  body: Uint8Array,
  headers: Record<string, string>,
  requestId = `req-${Date.now()}`,
): APIGatewayProxyEventV2 {
  const lowerCased = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: "POST /v1/webhook",
    rawPath: "/v1/webhook",
    rawQueryString: "",
    headers: { ...lowerCased, "content-length": String(body.byteLength), "user-agent": "sqreen-simulator" },
    requestContext: {
      accountId: "123456789012",
      apiId: "integration",
      domainName: "integration.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "integration",
      http: {
        method: "POST",
        path: "/v1/webhook",
        protocol: "HTTP/1.1",
        sourceIp: "192.0.2.1",
        userAgent: "sqreen",
      },
      requestId,
      routeKey: "POST /v1/webhook",
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: Buffer.from(body).toString("utf8"),
    isBase64Encoded: false,
  };
}

/** The SQS event Lambda's event source mapping builds from received messages. */
export function sqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  return {
    Records: messages.map(
      (message): SQSRecord => ({
        messageId: message.MessageId ?? "",
        receiptHandle: message.ReceiptHandle ?? "",
        body: message.Body ?? "",
        attributes: {
          ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
          SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: message.Attributes?.SenderId ?? "AIDAEXAMPLE",
          ApproximateFirstReceiveTimestamp:
            message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            {
              dataType: value.DataType ?? "String",
              ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
            },
          ]),
        ),
        md5OfBody: message.MD5OfBody ?? "",
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: TEST_REGION,
      }),
    ),
  };
}

/** The SNS envelope a queue receives when raw delivery is off (the SNS HTTP/SQS format). */
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

/** The one-record SNS event Lambda gets for `envelope` on subscription `subscriptionArn`. */
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
          Subject: envelope.Subject ?? "",
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

/** A Lambda context for `functionName`, as middy and Powertools read it. */
export function lambdaContext(functionName: string): Context {
  return localLambdaContext(functionName, 30_000);
}
