/**
 * Warm handler measurements, in a child process whose stdout goes to /dev/null: the functions log
 * at INFO (what production runs) through the real Powertools loggers, and the bytes they write are
 * counted on the way (they price CloudWatch Logs in the cost model).
 *
 * - ingest: `createIngestHandler` with a static key and a zero-latency in-process queue, fed API
 *   Gateway HTTP API events of 1, 10 and 1000 notifications, one call at a time.
 * - route: `createRouteHandler` over SQS events built from what ingest enqueued, with a
 *   zero-latency publisher.
 * - deliveries: each backend's handler, with the idempotency guard on an in-memory store (DynamoDB
 *   in AWS: its latency is in the cost model's assumptions), over SNS events carrying the alerts
 *   route published, each with a distinct id; e-mail
 *   and SMS go to in-memory senders, HTTP and Slack post to a local server in this process.
 * The figures are CPU time plus loopback: the cost model adds the waits on AWS and downstream.
 */

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, Context, SNSEvent, SQSEvent, SQSRecord } from "aws-lambda";
import type { Alert } from "../lambdas/contracts/alert.js";
import { alertAttributes } from "../lambdas/contracts/alert-message.js";
import {
  emailSecretSchema,
  httpSecretSchema,
  slackSecretSchema,
  smsSecretSchema,
} from "../lambdas/contracts/backend-secrets.js";
import type { Backend } from "../lambdas/contracts/messages.js";
import { createDeliverEmailHandler } from "../lambdas/deliver-email/core.js";
import { createDeliverHttpHandler } from "../lambdas/deliver-http/core.js";
import { createDeliverLogHandler } from "../lambdas/deliver-log/core.js";
import { createDeliverSlackHandler } from "../lambdas/deliver-slack/core.js";
import { createDeliverSmsHandler } from "../lambdas/deliver-sms/core.js";
import { staticSecretSource } from "../lambdas/delivery/secret-source.js";
import { createIngestHandler } from "../lambdas/ingest/chain.js";
import { DEFAULT_MAX_BODY_BYTES } from "../lambdas/ingest/config.js";
import { WEBHOOK_PATH } from "../lambdas/ingest/core.js";
import { signBody } from "../lambdas/ingest/signature.js";
import { StaticSigningKeyStore } from "../lambdas/ingest/signing-keys.js";
import { type QueuedNotification, queueMessageAttributes } from "../lambdas/ingest/sqs-queue.js";
import { createRouteHandler } from "../lambdas/route/chain.js";
import { createLogger } from "../lambdas/runtime/logger.js";
import { lambdaContext } from "../local/aws/lambda-context.js";
import { sqliteDeliveryGuard } from "../local/store/idempotency-store.js";
import { RelayStore } from "../local/store/relay-store.js";
import { generateNotifications, newRunId } from "../scripts/sqreen/samples.js";
import { sqreenWireBytes } from "../scripts/sqreen/wire.js";
import { serveCommands } from "./ipc.js";
import { percentileOfSorted } from "./stats.js";

/** One run of sequential calls: latency percentiles, throughput, and log bytes written per call. */
export interface HandlerRun {
  calls: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  callsPerSecond: number;
  logBytesPerCall: number;
  /** Bytes of one input (request body, SQS batch, SNS message). */
  inputBytes: number;
}

export interface RunOptions {
  /** Calls at most, and milliseconds at most: whichever ends the run first. */
  calls: number;
  maxMs: number;
}

let loggedBytes = 0;
// Count what the loggers write, then let it go to /dev/null as in a real run: writing is part of the cost.
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
    loggedBytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength;
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

const KEY = "0123456789abcdef".repeat(4);
let enqueued: readonly QueuedNotification[] = [];
const ingest = createIngestHandler({
  keys: new StaticSigningKeyStore([KEY]),
  queue: {
    async enqueue(notifications) {
      enqueued = notifications;
    },
  },
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  logger: createLogger("ingest"),
});

/** The event API Gateway (HTTP API, payload 2.0) builds for a signed POST of `body`. */
function webhookEvent(body: Buffer, signature: string): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: `POST ${WEBHOOK_PATH}`,
    rawPath: WEBHOOK_PATH,
    rawQueryString: "",
    headers: {
      "content-type": "application/json",
      "content-length": String(body.byteLength),
      "x-sqreen-integrity": signature,
      "user-agent": "Sqreen",
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "bench",
      domainName: "bench.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "bench",
      http: {
        method: "POST",
        path: WEBHOOK_PATH,
        protocol: "HTTP/1.1",
        sourceIp: "192.0.2.1",
        userAgent: "Sqreen",
      },
      requestId: "bench",
      routeKey: `POST ${WEBHOOK_PATH}`,
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: body.toString("utf8"),
    isBase64Encoded: false,
  };
}

/** Runs `call` sequentially; `call(i)` must resolve when invocation `i` is done. */
async function measure(options: RunOptions, inputBytes: number, call: (index: number) => Promise<void>) {
  const latencies: number[] = [];
  const bytesBefore = loggedBytes;
  const started = performance.now();
  const deadline = started + options.maxMs;
  for (let index = 0; index < options.calls && performance.now() < deadline; index++) {
    const sent = performance.now();
    await call(index);
    latencies.push(performance.now() - sent);
  }
  const elapsed = performance.now() - started;
  const total = latencies.reduce((sum, value) => sum + value, 0);
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    p50Ms: percentileOfSorted(latencies, 50),
    p99Ms: percentileOfSorted(latencies, 99),
    meanMs: total / latencies.length,
    callsPerSecond: latencies.length / (elapsed / 1000),
    logBytesPerCall: (loggedBytes - bytesBefore) / latencies.length,
    inputBytes,
  } satisfies HandlerRun;
}

const contexts = new Map<string, Context>();
/** A context per function, with a deadline far enough away for a whole run. */
function contextFor(functionName: string): Context {
  let context = contexts.get(functionName);
  if (!context) {
    context = lambdaContext(functionName, 15 * 60_000);
    contexts.set(functionName, context);
  }
  return context;
}

const ingestEvents = new Map<number, APIGatewayProxyEventV2>();
function ingestEventOf(notifications: number): APIGatewayProxyEventV2 {
  let event = ingestEvents.get(notifications);
  if (!event) {
    const body = sqreenWireBytes(generateNotifications(notifications, { runId: newRunId() }));
    event = webhookEvent(body, signBody(body, KEY));
    ingestEvents.set(notifications, event);
  }
  return event;
}

/** The SQS records Lambda would hand route for what ingest enqueued. */
function sqsRecords(notifications: readonly QueuedNotification[]): SQSRecord[] {
  return notifications.map((notification, index) => ({
    messageId: `bench-${index}`,
    receiptHandle: `bench-${index}`,
    body: notification.body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: String(Date.now()),
      SenderId: "AIDAEXAMPLE",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(queueMessageAttributes(notification)).map(([name, value]) => [
        name,
        { dataType: "String", stringValue: value.StringValue ?? "" },
      ]),
    ),
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:ingest",
    awsRegion: "us-east-1",
  }));
}

function snsEventOf(alert: Alert): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:alerts:bench",
        Sns: {
          Type: "Notification",
          MessageId: alert.id,
          TopicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
          Subject: "",
          Message: JSON.stringify(alert),
          Timestamp: new Date().toISOString(),
          SignatureVersion: "1",
          Signature: "",
          SigningCertUrl: "",
          UnsubscribeUrl: "",
          MessageAttributes: Object.fromEntries(
            Object.entries(alertAttributes(alert)).map(([name, value]) => [
              name,
              { Type: "String", Value: value },
            ]),
          ),
        },
      },
    ],
  };
}

const published: Alert[] = [];
const route = createRouteHandler({
  publisher: {
    async publish(alert) {
      published.push(alert);
    },
  },
  ownApplicationIds: [],
  logger: createLogger("route"),
});

const sink = createServer((request, response) => {
  request.resume();
  request.on("end", () => response.writeHead(200, { "content-length": 2 }).end("ok"));
});
await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

const deliverHandlers: Record<Backend, (event: SNSEvent, context: Context) => Promise<unknown>> = {
  log: createDeliverLogHandler({ logger: createLogger("deliver-log") }),
  email: createDeliverEmailHandler({
    secrets: staticSecretSource(
      emailSecretSchema,
      { to: ["oncall@example.com"], adminTo: [] },
      "email test secret",
    ),
    sender: { send: async () => ({ messageId: "bench" }) },
    from: "relay@example.com",
    logger: createLogger("deliver-email"),
    guard: sqliteDeliveryGuard(new RelayStore()),
  }),
  http: createDeliverHttpHandler({
    secrets: staticSecretSource(
      httpSecretSchema,
      {
        targets: [
          { url: `${sinkUrl}/http`, signingSecret: `whsec_${Buffer.alloc(32, 7).toString("base64")}` },
        ],
      },
      "http test secret",
    ),
    logger: createLogger("deliver-http"),
    guard: sqliteDeliveryGuard(new RelayStore()),
    timeoutMs: 10_000,
  }),
  sms: createDeliverSmsHandler({
    secrets: staticSecretSource(
      smsSecretSchema,
      { phoneNumbers: ["+15555550100"], adminPhoneNumbers: [] },
      "sms test secret",
    ),
    sender: { send: async () => ({ messageId: "bench" }) },
    logger: createLogger("deliver-sms"),
    guard: sqliteDeliveryGuard(new RelayStore()),
  }),
  slack: createDeliverSlackHandler({
    secrets: staticSecretSource(slackSecretSchema, { webhookUrl: `${sinkUrl}/slack` }, "slack test secret"),
    logger: createLogger("deliver-slack"),
    guard: sqliteDeliveryGuard(new RelayStore()),
  }),
};

serveCommands({
  /** One run of the ingest handler on requests of `notifications` notifications. */
  async ingest(argument) {
    const { notifications, ...options } = argument as RunOptions & { notifications: number };
    const event = ingestEventOf(notifications);
    const context = contextFor("ingest");
    const body = event.body ?? "";
    return measure(options, Buffer.byteLength(body), async (index) => {
      event.requestContext.requestId = `bench-${index}`;
      const answer = await ingest(event, context);
      if (answer.statusCode !== 200) throw new Error(`ingest answered ${answer.statusCode}: ${answer.body}`);
    });
  },

  /** One run of the route handler on batches of `batchSize` records (from a 1000-notification ingest). */
  async route(argument) {
    const { batchSize, ...options } = argument as RunOptions & { batchSize: number };
    if (enqueued.length < 1000) {
      await ingest(ingestEventOf(1000), contextFor("ingest"));
    }
    const records = sqsRecords(enqueued);
    const batches: SQSEvent[] = [];
    for (let first = 0; first + batchSize <= records.length; first += batchSize) {
      batches.push({ Records: records.slice(first, first + batchSize) });
    }
    const context = contextFor("route");
    const bytes = batches[0]?.Records.reduce((sum, record) => sum + Buffer.byteLength(record.body), 0) ?? 0;
    return measure(options, bytes, async (index) => {
      const answer = await route(batches[index % batches.length] as SQSEvent, context);
      if (answer.batchItemFailures.length > 0) throw new Error("route reported failures");
      if (published.length > 5000) published.splice(0, published.length - 1000);
    });
  },

  /** One run of a backend's delivery handler, one alert per invocation as SNS invokes it. */
  async deliver(argument) {
    const { backend, ...options } = argument as RunOptions & { backend: Backend };
    if (published.length < 100) throw new Error("run route first: no alerts to deliver");
    // Distinct alert ids: the idempotency guard would otherwise answer repeats from its records.
    const recent = published.slice(-100);
    const events = Array.from({ length: options.calls }, (_, index) => {
      const alert = recent[index % recent.length] as Alert;
      return snsEventOf({ ...alert, id: `${alert.id}-${backend}-${index}` });
    });
    const handler = deliverHandlers[backend];
    const context = contextFor(`deliver-${backend}`);
    const bytes = Buffer.byteLength(events[0]?.Records[0]?.Sns.Message ?? "");
    return measure(options, bytes, async (index) => {
      await handler(events[index % events.length] as SNSEvent, context);
    });
  },
});
