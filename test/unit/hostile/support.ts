/**
 * What the hostile-input tests share: an ingest handler over a static key store and a queue that
 * records what it is given, and API Gateway HTTP API events carrying arbitrary bytes and headers.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { createIngestHandler, type IngestHandler } from "../../../lambdas/ingest/chain.js";
import { StaticSigningKeyStore } from "../../../lambdas/ingest/signing-keys.js";
import type { NotificationQueue, QueuedNotification } from "../../../lambdas/ingest/sqs-queue.js";
import { lambdaContext } from "../ingest/fixtures.js";

/** A NotificationQueue that keeps every enqueue call, in order. */
export class RecordingQueue implements NotificationQueue {
  readonly calls: QueuedNotification[][] = [];

  async enqueue(notifications: readonly QueuedNotification[]): Promise<void> {
    this.calls.push([...notifications]);
  }

  /** Notifications enqueued so far, all calls together. */
  get enqueued(): number {
    return this.calls.reduce((total, call) => total + call.length, 0);
  }

  clear(): void {
    this.calls.length = 0;
  }
}

export interface HostileRelay {
  handler: IngestHandler;
  queue: RecordingQueue;
}

/** The ingest chain as Lambda runs it, with a DEBUG logger so every line it could write is seen. */
export function hostileIngest(keys: readonly string[], maxBodyBytes: number): HostileRelay {
  const queue = new RecordingQueue();
  const handler = createIngestHandler({
    keys: new StaticSigningKeyStore(keys),
    queue,
    maxBodyBytes,
    logger: new Logger({ serviceName: "ingest", logLevel: "DEBUG" }),
  });
  return { handler, queue };
}

export interface RawRequest {
  method: string;
  path: string;
  /** Header names exactly as the event carries them (API Gateway lower-cases them). */
  headers: Record<string, string>;
  /** The bytes the sender put on the wire. */
  body: Buffer;
  /** API Gateway passes binary bodies base64-encoded; text ones as a string. */
  base64: boolean;
}

/** The API Gateway v2 event for a raw request. An empty body is absent, as API Gateway sends it. */
export function rawEvent(request: RawRequest, requestId: string): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: request.path,
    rawQueryString: "",
    headers: request.headers,
    requestContext: {
      accountId: "123456789012",
      apiId: "api-test",
      domainName: "api-test.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "api-test",
      http: {
        method: request.method,
        path: request.path,
        protocol: "HTTP/1.1",
        sourceIp: "192.0.2.10",
        userAgent: "hostile",
      },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: "02/Oct/2026:10:30:00 +0000",
      timeEpoch: Date.UTC(2026, 9, 2, 10, 30, 0),
    },
    body:
      request.body.length === 0
        ? undefined
        : request.base64
          ? request.body.toString("base64")
          : request.body.toString("utf8"),
    isBase64Encoded: request.base64 && request.body.length > 0,
  };
}

/** Invokes the handler as Lambda would. */
export async function invoke(
  relay: HostileRelay,
  request: RawRequest,
  requestId: string,
): Promise<APIGatewayProxyStructuredResultV2> {
  return relay.handler(rawEvent(request, requestId), lambdaContext());
}
