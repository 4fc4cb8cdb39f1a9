/**
 * The ingest core: one webhook request in, one answer out (docs/PROTOCOL.md, "How the relay answers").
 * Checks run cheapest and safest first: route, size, signature on the raw bytes, then parsing,
 * validation and the durable enqueue. It knows no API Gateway shapes and no environment.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { alertMessage } from "../contracts/alert-message.js";
import { MAX_MESSAGE_BYTES, messageJson, NOTIFICATION_BYTES_ALWAYS_ACCEPTED } from "../contracts/messages.js";
import { normalizeNotification } from "../contracts/normalize.js";
import {
  apiVersionOf,
  eventIdentityOf,
  type JsonObject,
  MAX_NOTIFICATIONS_PER_REQUEST,
  notificationBatchSchema,
  notificationTypeOf,
} from "../contracts/notification.js";
import { HttpError } from "../runtime/errors.js";
import { errorAnswer, type HttpAnswer, jsonAnswer, MethodNotAllowedError } from "./http-answers.js";
import { SIGNATURE_HEADER, verifySignature } from "./signature.js";
import type { SigningKeyStore } from "./signing-keys.js";
import {
  MAX_QUEUE_ATTRIBUTE_BYTES,
  MAX_UTF8_BYTES_PER_UNIT,
  type NotificationQueue,
  type QueuedNotification,
  queuedMessageBytes,
} from "./sqs-queue.js";

/** The one route the relay serves. */
export const WEBHOOK_PATH = "/v1/webhook";

/**
 * A webhook request whose route, size and signature were already checked on exactly `body` by
 * its transport: the local HTTP server runs checkRequestHead on the head and verifyRequestSignature
 * on the HMAC it computed while the body streamed in, so the body is not hashed twice.
 */
export interface VerifiedIngestRequest {
  /** The exact raw body bytes the signature was verified on. */
  body: Uint8Array;
  /** Correlation id (API Gateway's request id): logged and set on every queued message. */
  requestId: string;
  /** ISO 8601 time the request arrived. */
  receivedAt: string;
}

/** A webhook request, as any transport (API Gateway, the local HTTP server) delivers it. */
export interface IngestRequest extends VerifiedIngestRequest {
  method: string;
  path: string;
  /** Header names in any case. */
  headers: Readonly<Record<string, string | undefined>>;
}

/** The logger methods the core uses (a Powertools Logger fits). */
export type IngestLogger = Pick<Logger, "info" | "warn" | "error">;

/** What a request already verified needs: where its notifications go, and where its line is logged. */
export interface AcceptDependencies {
  queue: NotificationQueue;
  logger?: IngestLogger;
}

export interface IngestCoreDependencies extends AcceptDependencies {
  keys: SigningKeyStore;
  /** Largest accepted body, in bytes. */
  maxBodyBytes: number;
}

/** The 200 body: how many notifications were enqueued and their event identities, in order. */
export interface IngestAccepted {
  accepted: number;
  ids: string[];
}

const SHA256_HEX = /^[0-9a-fA-F]{64}$/;

const silentLogger: IngestLogger = { info() {}, warn() {}, error() {} };

/** The 413 for a body over the limit (also used by the API Gateway adapter before decoding). */
export function payloadTooLarge(maxBodyBytes: number): HttpError {
  return new HttpError(413, "payload_too_large", `Request body exceeds the ${maxBodyBytes}-byte limit`);
}

/**
 * Answers one webhook request: 200 `{"accepted": N, "ids": [...]}` once every notification is
 * enqueued, otherwise the error answer of docs/PROTOCOL.md's table. Never throws: an unexpected failure
 * is logged and answered 500.
 *
 * A request is all or nothing for the sender, but not necessarily on the queue: when enqueueing
 * fails part-way the answer is 503 and Sqreen resends the whole request, so some notifications can
 * be enqueued twice. Each message carries its stable event identity (`event_id`) for consumers to
 * deduplicate.
 */
export function ingestRequest(request: IngestRequest, deps: IngestCoreDependencies): Promise<HttpAnswer> {
  const logger = deps.logger ?? silentLogger;
  return answered(request, logger, async () => {
    checkRequestHead({ ...request, bodyBytes: request.body.byteLength }, deps.maxBodyBytes);
    const signature = signatureOf(request.headers);
    await verifyRequestSignature(deps.keys, (keys) => verifySignature(request.body, signature, keys), logger);
    return accept(request, deps.queue);
  });
}

/**
 * ingestRequest for a request whose transport already made the checks before the body's
 * (checkRequestHead, verifyRequestSignature): the same parsing, validation, enqueue, answer and
 * log line. Only for a caller that verified the signature on exactly `request.body`.
 */
export function ingestVerifiedRequest(
  request: VerifiedIngestRequest,
  deps: AcceptDependencies,
): Promise<HttpAnswer> {
  return answered(request, deps.logger ?? silentLogger, () => accept(request, deps.queue));
}

/**
 * The answer of `work`, and the request's one log line, named by its correlation id (a field of
 * the line, not of the logger: the local relay's one logger serves concurrent requests).
 */
async function answered(
  request: VerifiedIngestRequest,
  logger: IngestLogger,
  work: () => Promise<IngestAccepted>,
): Promise<HttpAnswer> {
  const correlation_id = request.requestId;
  try {
    const result = await work();
    logger.info("Webhook accepted", {
      outcome: "accepted",
      status: 200,
      accepted: result.accepted,
      eventIds: result.ids,
      correlation_id,
    });
    return jsonAnswer(200, result);
  } catch (error) {
    const answer = errorAnswer(error);
    const code = error instanceof HttpError ? error.code : "internal_error";
    if (answer.statusCode >= 500) {
      // The error (and its causes) are logged, never the request: it carries the signature and
      // notifications with personal data.
      logger.error("Webhook failed", {
        outcome: "failed",
        status: answer.statusCode,
        code,
        error,
        correlation_id,
      });
    } else {
      logger.warn("Webhook rejected", {
        outcome: "rejected",
        status: answer.statusCode,
        code,
        correlation_id,
      });
    }
    return answer;
  }
}

/** What is known of a request before its body: the request line, the headers, maybe the size. */
export interface RequestHead {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | undefined>>;
  /** The body's size, when known (a Content-Length, or the body itself). */
  bodyBytes?: number | undefined;
}

/**
 * The checks that need no body, in the order the core runs them: route (404), method (405), size
 * when known (413), then a signature header that is missing or cannot be a signature (401).
 * Throws the HttpError to answer; the local HTTP server runs them before reading a body.
 */
export function checkRequestHead(head: RequestHead, maxBodyBytes: number): void {
  if (head.path !== WEBHOOK_PATH) throw new HttpError(404, "not_found", "No such route");
  if (head.method.toUpperCase() !== "POST") throw new MethodNotAllowedError(["POST"]);
  if (head.bodyBytes !== undefined && head.bodyBytes > maxBodyBytes) throw payloadTooLarge(maxBodyBytes);
  const signature = signatureOf(head.headers);
  if (!signature) throw new HttpError(401, "missing_signature", "X-Sqreen-Integrity header is required");
  if (!SHA256_HEX.test(signature)) throw invalidSignature();
}

/** The `X-Sqreen-Integrity` value, trimmed. */
export function signatureOf(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  return headerValue(headers, SIGNATURE_HEADER)?.trim();
}

function invalidSignature(): HttpError {
  return new HttpError(401, "invalid_signature", "X-Sqreen-Integrity signature is invalid");
}

/** Parses, validates and enqueues a verified body's notifications. */
async function accept(request: VerifiedIngestRequest, queue: NotificationQueue): Promise<IngestAccepted> {
  const notifications = parseNotifications(request.body);

  const queued = notifications.map((notification, index): QueuedNotification => {
    const item: QueuedNotification = {
      eventId: eventIdentityOf(notification),
      type: notificationTypeOf(notification),
      apiVersion: apiVersionOf(notification),
      body: messageJson(notification),
      requestId: request.requestId,
      receivedAt: request.receivedAt,
    };
    assertCanTravel(notification, item, index);
    return item;
  });

  try {
    await queue.enqueue(queued);
  } catch (error) {
    // A queue that says why (the local relay's bounded backlog) is answered as it says.
    if (error instanceof HttpError) throw error;
    throw new HttpError(503, "queue_unavailable", "The ingest queue did not accept every notification", {
      cause: error,
    });
  }
  return { accepted: queued.length, ids: queued.map((item) => item.eventId) };
}

/**
 * 413 unless the notification fits whole in one queue message and the Alert route will make of it
 * fits in one SNS message, each with its attributes (MAX_MESSAGE_BYTES). Truncating would deliver
 * a different alert than Sqreen sent: what cannot travel is refused, with the request, before
 * anything is queued.
 *
 * Up to NOTIFICATION_BYTES_ALWAYS_ACCEPTED the Alert fits by construction (normalize bounds the
 * summary it adds; test/unit/contracts/alert-size.test.ts checks the worst case), so only a larger
 * notification has its Alert built here, as route builds it (the same normalize, receive time
 * and serialization) and measured. (Building every Alert made the core's 1000-notification
 * request about five times slower: p50 12 to 70 ms on this project's 2-core machine.)
 * Only whether the alert is internal is not known here (the relay's own ids are route's
 * setting), and `false` is the longer of the two, so the measure is an upper bound.
 */
function assertCanTravel(notification: JsonObject, item: QueuedNotification, index: number): void {
  // Real notifications are a few KB: bounded from the body's length, they need no byte count.
  const bodyBytesAtMost = item.body.length * MAX_UTF8_BYTES_PER_UNIT;
  if (
    bodyBytesAtMost <= NOTIFICATION_BYTES_ALWAYS_ACCEPTED &&
    bodyBytesAtMost + MAX_QUEUE_ATTRIBUTE_BYTES <= MAX_MESSAGE_BYTES
  )
    return;
  const messageBytes = queuedMessageBytes(item);
  if (messageBytes > MAX_MESSAGE_BYTES) throw notificationTooLarge(index, "its queue message");
  // The body is part of the message, so a message under the bound needs no count of its own.
  if (
    messageBytes <= NOTIFICATION_BYTES_ALWAYS_ACCEPTED ||
    Buffer.byteLength(item.body, "utf8") <= NOTIFICATION_BYTES_ALWAYS_ACCEPTED
  )
    return;
  const alert = normalizeNotification(notification, { receivedAt: item.receivedAt, ownApplicationIds: [] });
  if (alertMessage(alert).bytes > MAX_MESSAGE_BYTES)
    throw notificationTooLarge(index, "the alert it becomes");
}

function notificationTooLarge(index: number, what: string): HttpError {
  return new HttpError(
    413,
    "notification_too_large",
    `Notification at index ${index} is too large: ${what} would exceed the ${MAX_MESSAGE_BYTES}-byte message limit`,
  );
}

/**
 * 401 unless `matches` (the HMAC of the raw body against `X-Sqreen-Integrity`) holds for a current
 * key; the header's presence and format are checked before (checkRequestHead). When no cached key
 * matches, the keys are read again once (the secret may have just been rotated; the store
 * rate-limits these reads so forged requests cannot hammer it) before the request is refused.
 * The local HTTP server calls it with the HMAC it computed while the body streamed in.
 */
export async function verifyRequestSignature(
  keyStore: SigningKeyStore,
  matches: (keys: readonly string[]) => boolean,
  logger: IngestLogger,
): Promise<void> {
  let keys = await readKeys(keyStore);
  if (keys.length > 0 && matches(keys)) return;
  keys = await readKeys(keyStore, true);
  if (keys.length === 0) {
    logger.error(
      "No signing key is configured: put each Sqreen application's webhook secret in the signing-keys secret " +
        '(SIGNING_KEYS_SECRET_ID) as {"keys": ["<secret>", ...]}. Until then every webhook is answered 503 ' +
        "and Sqreen keeps retrying.",
      { keyStore: keyStore.source ?? "unnamed" },
    );
    throw new HttpError(503, "signing_keys_not_configured", "Signing keys are not configured");
  }
  if (!matches(keys)) throw invalidSignature();
}

/** The store's keys, or the 503 a store failure is answered with (never a 401). */
export async function readKeys(keyStore: SigningKeyStore, forceRefresh = false): Promise<readonly string[]> {
  try {
    return await keyStore.getKeys(forceRefresh ? { forceRefresh } : undefined);
  } catch (error) {
    // Never 401: refusing a genuine request as forged because the store was down would lose it.
    throw new HttpError(503, "key_store_unavailable", "The signing key store is unavailable", {
      cause: error,
    });
  }
}

/** Strict: a body that is not UTF-8 is refused, not decoded with replacement characters. */
const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** Body bytes → the notifications, or the 400/422 answer. Error messages never quote the body. */
function parseNotifications(body: Uint8Array): JsonObject[] {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new HttpError(400, "invalid_encoding", "Body is not valid UTF-8");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The SyntaxError quotes the body: it is dropped, not attached as a cause.
    throw new HttpError(400, "invalid_json", "Body is not valid JSON");
  }
  if (!Array.isArray(parsed)) {
    throw new HttpError(422, "invalid_batch", "Body must be a JSON array of Sqreen notifications");
  }
  if (parsed.length === 0)
    throw new HttpError(422, "empty_batch", "Body must hold at least one notification");
  if (parsed.length > MAX_NOTIFICATIONS_PER_REQUEST) {
    throw new HttpError(
      422,
      "too_many_notifications",
      `Body holds more than ${MAX_NOTIFICATIONS_PER_REQUEST} notifications`,
    );
  }
  const result = notificationBatchSchema.safeParse(parsed);
  if (!result.success) {
    const index = result.error.issues[0]?.path[0];
    throw new HttpError(
      422,
      "invalid_notification",
      typeof index === "number"
        ? `Notification at index ${index} is not a Sqreen notification`
        : "Body is not a batch of Sqreen notifications",
    );
  }
  if (nestingDepthExceeds(parsed, MAX_JSON_DEPTH)) {
    // JSON.parse accepts any depth, but JSON.stringify and every recursive walk after it (event
    // identity, normalization) overflow the stack past a few thousand levels: that would answer
    // 500 and Sqreen would retry a request that can never succeed.
    throw new HttpError(
      422,
      "nesting_too_deep",
      `Body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  // The parsed originals, not the schema's output: backends forward the notification untouched,
  // key order included.
  return parsed as JsonObject[];
}

/**
 * Deepest nesting of arrays and objects a request may have (the body's array is level 1). Real
 * notifications nest about 6 levels (`message.ips[].geo.point[]`); past a few thousand levels
 * recursive code (JSON.stringify included) overflows the stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when `value` nests arrays/objects deeper than `limit` levels. Recursive, but it never goes
 * deeper than `limit` calls whatever the input, and allocates nothing (it runs on every request).
 */
function nestingDepthExceeds(value: unknown, limit: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (limit === 0) return true;
  if (Array.isArray(value)) {
    for (const child of value) if (nestingDepthExceeds(child, limit - 1)) return true;
    return false;
  }
  const object = value as JsonObject;
  for (const key in object) if (nestingDepthExceeds(object[key], limit - 1)) return true;
  return false;
}

function headerValue(
  headers: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const wanted = name.toLowerCase();
  // API Gateway and Node's server give header names in lower case: no scan for them.
  if (Object.hasOwn(headers, wanted)) return headers[wanted];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
