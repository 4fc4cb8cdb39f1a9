/**
 * The ingest queue: what ingest hands over (one message per notification) and the SQS adapter
 * that sends it with SendMessageBatch. The local stack implements NotificationQueue in process.
 */
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import {
  attributeValue,
  MAX_ATTRIBUTE_VALUE_LENGTH,
  MAX_BATCH_ENTRIES,
  MAX_MESSAGE_BYTES,
  messageBytes,
  QUEUE_ATTRIBUTES,
} from "../contracts/messages.js";
import { backoffDelay, type Sleep, sleep } from "../runtime/backoff.js";
import { packBatches } from "../runtime/batches.js";
import { DependencyUnavailableError } from "../runtime/errors.js";

/** One notification, ready for the queue. Message attributes are built from the metadata. */
export interface QueuedNotification {
  /** Stable event identity (eventIdentityOf): the same on every resend, for deduplication. */
  eventId: string;
  /** `message_type` / `sqreen_payload_type`, or `unknown`. */
  type: string;
  apiVersion: "1" | "2";
  /** The notification as JSON: the message body. */
  body: string;
  /** The ingest request's correlation id. */
  requestId: string;
  /** ISO 8601 time the request was received. */
  receivedAt: string;
}

/**
 * Durably enqueues notifications, all or nothing from the caller's point of view: it resolves only
 * once every notification is accepted by the queue, and rejects with DependencyUnavailableError
 * otherwise (some may then already be enqueued: the sender retries the whole request, and
 * consumers deduplicate on the `event_id` attribute).
 */
export interface NotificationQueue {
  enqueue(notifications: readonly QueuedNotification[]): Promise<void>;
}

/**
 * The SQS message attribute values of a queued notification (QUEUE_ATTRIBUTES), each a valid
 * attribute value (attributeValue: characters SQS accepts, bounded, never empty). The event
 * identity already is one (eventIdentityOf), so `event_id` is exactly the notification's identity.
 */
export function queueAttributeValues(notification: QueuedNotification): Record<string, string> {
  return {
    [QUEUE_ATTRIBUTES.notificationType]: attributeValue(notification.type),
    [QUEUE_ATTRIBUTES.eventId]: attributeValue(notification.eventId),
    [QUEUE_ATTRIBUTES.apiVersion]: attributeValue(notification.apiVersion),
    [QUEUE_ATTRIBUTES.requestId]: attributeValue(notification.requestId),
    [QUEUE_ATTRIBUTES.receivedAt]: attributeValue(notification.receivedAt),
  };
}

/** The SQS message attributes of a queued notification (queueAttributeValues, all `String`). */
export function queueMessageAttributes(
  notification: QueuedNotification,
): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(queueAttributeValues(notification))) {
    attributes[name] = { DataType: "String", StringValue: value };
  }
  return attributes;
}

/** Bytes SQS counts for a queued notification's message against MAX_MESSAGE_BYTES. */
export function queuedMessageBytes(notification: QueuedNotification): number {
  return messageBytes(notification.body, queueAttributeValues(notification));
}

/**
 * UTF-8 bytes of a string are at most 3 per UTF-16 unit (a surrogate pair is 4 bytes for 2 units),
 * so this bounds a string's bytes from its length alone, without counting them.
 */
export const MAX_UTF8_BYTES_PER_UNIT = 3;

/**
 * At most this many bytes of queue attributes (what queuedMessageBytes adds to the body): each
 * value is at most MAX_ATTRIBUTE_VALUE_LENGTH units (attributeValue), each name is fixed and
 * each type is `String`.
 */
export const MAX_QUEUE_ATTRIBUTE_BYTES = Object.values(QUEUE_ATTRIBUTES).reduce(
  (bytes, name) =>
    bytes +
    Buffer.byteLength(name, "utf8") +
    "String".length +
    MAX_ATTRIBUTE_VALUE_LENGTH * MAX_UTF8_BYTES_PER_UNIT,
  0,
);

/** Bytes SQS counts for an entry against its 256 KiB limit: body plus attribute names, types and values. */
export function entryPayloadBytes(entry: SendMessageBatchRequestEntry): number {
  let bytes = Buffer.byteLength(entry.MessageBody ?? "", "utf8");
  for (const [name, attribute] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name, "utf8");
    bytes += Buffer.byteLength(attribute.DataType ?? "", "utf8");
    bytes += Buffer.byteLength(attribute.StringValue ?? "", "utf8");
  }
  return bytes;
}

/**
 * Splits entries, in order, into SendMessageBatch calls of at most 10 entries and at most
 * `maxBatchBytes` of payload in total (SQS refuses a larger call whole).
 */
export function planBatches(
  entries: readonly SendMessageBatchRequestEntry[],
  maxBatchBytes: number = MAX_MESSAGE_BYTES,
): SendMessageBatchRequestEntry[][] {
  return packBatches(entries, entryPayloadBytes, { maxEntries: MAX_BATCH_ENTRIES, maxBytes: maxBatchBytes });
}

export interface SqsNotificationQueueOptions {
  /** The module-scope SQS client. */
  client: SQSClient;
  queueUrl: string;
  /** Attempts per SendMessageBatch call, the first included (default 4). */
  maxAttempts?: number;
  /** SendMessageBatch calls in flight at once (default 10). */
  concurrency?: number;
  /** First retry delay in milliseconds, doubled each attempt, with full jitter (default 50). */
  baseDelayMs?: number;
  /** Injectable wait, so tests need not sleep. */
  sleep?: Sleep;
}

interface BatchOutcome {
  /** Entries still not accepted after every attempt. */
  failed: number;
  /** Why, as SQS error codes or SDK error names: never message bodies. */
  reasons: string[];
}

/**
 * NotificationQueue on SQS. One message per notification; SendMessageBatch calls of at most 10
 * entries and 256 KiB, sent in parallel with bounded concurrency. Entries SQS reports in `Failed`
 * are retried a few times with short jittered backoff, except sender faults (the entry itself is
 * invalid: resending it cannot help); a call that throws is retried too, unless the SDK classed
 * the error as a non-throttling client fault (access denied, no such queue). An entry counts as
 * enqueued only when SQS lists it in `Successful`.
 *
 * Duplicates: a call that times out after SQS accepted it, or a request that fails part-way and is
 * retried by Sqreen, enqueues some notifications twice. Every message carries the notification's
 * stable event identity in its `event_id` attribute so consumers can deduplicate.
 */
export class SqsNotificationQueue implements NotificationQueue {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #maxAttempts: number;
  readonly #concurrency: number;
  readonly #baseDelayMs: number;
  readonly #sleep: Sleep;

  constructor(options: SqsNotificationQueueOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.#concurrency = Math.max(1, options.concurrency ?? 10);
    this.#baseDelayMs = options.baseDelayMs ?? 50;
    this.#sleep = options.sleep ?? sleep;
  }

  async enqueue(notifications: readonly QueuedNotification[]): Promise<void> {
    if (notifications.length === 0) return;
    // Ids only need to be unique within a call; the position in the request is, and it is short.
    const entries = notifications.map(
      (notification, index): SendMessageBatchRequestEntry => ({
        Id: `n${index}`,
        MessageBody: notification.body,
        MessageAttributes: queueMessageAttributes(notification),
      }),
    );
    const batches = planBatches(entries);
    const outcomes: BatchOutcome[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      // Once a batch has failed for good the request is answered 503 and retried whole: sending
      // the remaining batches would only add duplicates.
      while (next < batches.length && outcomes.every((outcome) => outcome.failed === 0)) {
        const batch = batches[next++];
        if (batch) outcomes.push(await this.#sendBatch(batch));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, batches.length) }, worker));

    const failed = outcomes.reduce((sum, outcome) => sum + outcome.failed, 0);
    if (failed > 0) {
      const notSent = batches.slice(outcomes.length).reduce((sum, batch) => sum + batch.length, 0);
      const reasons = [...new Set(outcomes.flatMap((outcome) => outcome.reasons))];
      throw new DependencyUnavailableError(
        `${failed + notSent} of ${notifications.length} notifications were not enqueued (${reasons.join(", ")})`,
      );
    }
  }

  async #sendBatch(batch: readonly SendMessageBatchRequestEntry[]): Promise<BatchOutcome> {
    let pending = [...batch];
    let reasons: string[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.#client.send(
          new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: pending }),
        );
        const accepted = new Set((result.Successful ?? []).map((entry) => entry.Id));
        const rejected = new Map((result.Failed ?? []).map((entry) => [entry.Id, entry]));
        pending = pending.filter((entry) => !accepted.has(entry.Id));
        if (pending.length === 0) return { failed: 0, reasons: [] };
        reasons = pending.map((entry) => rejected.get(entry.Id)?.Code ?? "NotAcknowledged");
        // A sender fault means the entry itself is invalid: no retry can succeed.
        if (pending.some((entry) => rejected.get(entry.Id)?.SenderFault === true)) break;
      } catch (error) {
        reasons = [errorName(error)];
        if (!isRetryableError(error)) break;
      }
      if (attempt >= this.#maxAttempts) break;
      // Full jitter: concurrent batches that failed together do not retry in lockstep.
      await this.#sleep(backoffDelay(this.#baseDelayMs, attempt, { fixedShare: 0 }));
    }
    return { failed: pending.length, reasons };
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "UnknownError";
}

/**
 * Network errors, server faults and throttling may pass on retry; other client faults (access
 * denied, queue does not exist, invalid request) will not.
 */
function isRetryableError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return true;
  const sdkError = error as { $fault?: unknown; $retryable?: { throttling?: unknown }; name?: unknown };
  if (sdkError.$fault !== "client") return true;
  return sdkError.$retryable?.throttling === true || /throttl/i.test(String(sdkError.name ?? ""));
}
