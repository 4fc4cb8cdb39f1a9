/**
 * The route function's middy chain, built from its dependencies so the AWS entry (handler.ts) and
 * the local stack run the same code: SQS batch in, each record routed, failed records reported
 * back (partial batch response) so only they return to the queue.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { QUEUE_ATTRIBUTES } from "../contracts/messages.js";
import { type RouteMessageAttributes, routeNotification } from "./core.js";
import type { AlertPublisher } from "./sns-topic.js";

export interface RouteDependencies {
  /** The alerts topic: `SnsAlertPublisher` in AWS, an in-process topic locally. */
  publisher: AlertPublisher;
  /** The relay's own Sqreen application ids: alerts about them are internal security alerts. */
  ownApplicationIds: ReadonlySet<string> | readonly string[];
  logger: Logger;
  /** Clock for `receivedAt` when a message lacks it; defaults to the system clock. */
  now?: () => Date;
}

/** An SQS-triggered Lambda handler answering with the records to retry. */
export type RouteHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * The route Lambda handler: routes every record of the SQS batch in parallel (so the publisher
 * batches their alerts together) and answers `{ batchItemFailures }` naming only the records
 * that failed: unparseable, or not accepted by the topic. The function's event source mapping
 * must enable `ReportBatchItemFailures`. A batch where every record failed is answered the same
 * way rather than thrown, so callers always get a `SQSBatchResponse`.
 */
export function createRouteHandler(deps: RouteDependencies): RouteHandler {
  const core = {
    publisher: deps.publisher,
    ownApplicationIds: new Set(deps.ownApplicationIds),
    logger: deps.logger,
    now: deps.now,
  };
  const routeRecord = async (record: SQSRecord): Promise<void> => {
    await routeNotification(record.body, messageAttributesOf(record), core);
  };
  const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(async (event, context) => {
    // One processor per invocation: it holds the batch's state, and the local stack may run
    // invocations concurrently. Powertools processes the records in parallel by default.
    const processor = new BatchProcessor(EventType.SQS);
    return processPartialResponse(event, routeRecord, processor, {
      context,
      processInParallel: true,
      throwOnFullBatchFailure: false,
    });
  });
  return handler.use(injectLambdaContext(deps.logger));
}

/** What ingest put on the message; `receivedAt` falls back to when SQS received it. */
function messageAttributesOf(record: SQSRecord): RouteMessageAttributes {
  const attribute = (name: string): string | undefined => {
    const value = record.messageAttributes?.[name]?.stringValue;
    return value === undefined || value === "" ? undefined : value;
  };
  return {
    receivedAt: attribute(QUEUE_ATTRIBUTES.receivedAt) ?? sentAt(record),
    requestId: attribute(QUEUE_ATTRIBUTES.requestId),
    messageId: record.messageId,
  };
}

function sentAt(record: SQSRecord): string | undefined {
  const milliseconds = Number(record.attributes?.SentTimestamp);
  return Number.isFinite(milliseconds) && milliseconds > 0 ? new Date(milliseconds).toISOString() : undefined;
}
