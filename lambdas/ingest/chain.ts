/**
 * The ingest middy chain, built from its dependencies: the AWS entry (handler.ts) passes Secrets
 * Manager and SQS adapters, the local stack passes in-process ones. It unpacks the API Gateway
 * HTTP API (payload v2) event, calls the core and maps its answer back.
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { createLogger } from "../runtime/logger.js";
import { ingestRequest, payloadTooLarge, WEBHOOK_PATH } from "./core.js";
import { errorAnswer, type HttpAnswer } from "./http-answers.js";
import type { SigningKeyStore } from "./signing-keys.js";
import type { NotificationQueue } from "./sqs-queue.js";

export interface IngestDependencies {
  /** Where signing keys come from (SecretsManagerSigningKeyStore, StaticSigningKeyStore). */
  keys: SigningKeyStore;
  /** Where accepted notifications go (SqsNotificationQueue, or the local in-process queue). */
  queue: NotificationQueue;
  /** Largest accepted body, in bytes (MAX_BODY_BYTES). */
  maxBodyBytes: number;
  /** Defaults to a Powertools logger for the `ingest` service. */
  logger?: Logger;
  /** Clock used when the event carries no `requestContext.timeEpoch`. */
  now?: () => Date;
}

export type IngestHandler = middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/**
 * The ingest Lambda handler: `POST /v1/webhook` with a Sqreen batch in, docs/PROTOCOL.md's answer out.
 * Every log line of an invocation carries API Gateway's request id as `correlation_id`.
 */
export function createIngestHandler(deps: IngestDependencies): IngestHandler {
  const logger = deps.logger ?? createLogger("ingest");
  const now = deps.now ?? (() => new Date());

  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const requestId = event.requestContext?.requestId || randomUUID();
      logger.setCorrelationId(requestId);
      let answer: HttpAnswer;
      try {
        const method = event.requestContext?.http?.method ?? "";
        const path = event.rawPath ?? "";
        const timeEpoch = event.requestContext?.timeEpoch;
        const receivedAt = (typeof timeEpoch === "number" ? new Date(timeEpoch) : now()).toISOString();
        if (
          path === WEBHOOK_PATH &&
          method.toUpperCase() === "POST" &&
          isObviouslyTooLarge(event, deps.maxBodyBytes)
        ) {
          // Refused before decoding: the same answer the core gives after the route check, without
          // first copying a huge body.
          answer = errorAnswer(payloadTooLarge(deps.maxBodyBytes));
          logger.warn("Webhook rejected", {
            outcome: "rejected",
            status: answer.statusCode,
            code: "payload_too_large",
          });
        } else {
          answer = await ingestRequest(
            { method, path, headers: event.headers ?? {}, body: bodyBytes(event), requestId, receivedAt },
            { keys: deps.keys, queue: deps.queue, maxBodyBytes: deps.maxBodyBytes, logger },
          );
        }
      } catch (error) {
        // The core answers every failure itself; this is only for a bug in unpacking the event.
        logger.error("Webhook failed", { outcome: "failed", status: 500, code: "internal_error", error });
        answer = errorAnswer(error);
      }
      return {
        statusCode: answer.statusCode,
        headers: answer.headers,
        body: answer.body,
        isBase64Encoded: false,
      };
    });
}

/**
 * True when the body cannot fit the limit whatever it decodes to: a UTF-8 string is at least one
 * byte per UTF-16 unit, and base64 gives at least 3 bytes per 4 characters, less padding.
 */
function isObviouslyTooLarge(event: APIGatewayProxyEventV2, maxBodyBytes: number): boolean {
  const length = event.body?.length ?? 0;
  return event.isBase64Encoded ? Math.floor((length * 3) / 4) - 2 > maxBodyBytes : length > maxBodyBytes;
}

/** The raw body bytes: what Sqreen signed. */
function bodyBytes(event: APIGatewayProxyEventV2): Uint8Array {
  const body = event.body ?? "";
  return event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
}
