/**
 * A human backend's own queue, consumed by the backend's function (lambdas/digest/seams.ts:
 * DigestQueueMessage): `close-window` sends a window's digest, `deliver-later` delivers an alert
 * again once its destination's rate limit has passed. Records are handled one after the other
 * (a destination's rate limit is per sender); each failed one is reported in
 * `batchItemFailures`, so the queue retries it and finally dead-letters it (redrivable).
 *
 * A closed window's digest is sent through the idempotency guard, keyed by the backend and the
 * window id, and its one send through `once`, keyed by the destination: a redelivered close
 * message (SQS delivers at least once; `closeWindowAt` may fire twice) sends nothing twice.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { INTERNAL_ALERT_TAG } from "../contracts/alert.js";
import {
  type DeliveryGuard,
  type DeliveryKey,
  type DeliveryOutcome,
  sendEveryTime,
} from "../delivery/outcome.js";
import { entriesForFailure, entriesForOutcome, type LedgerSubject } from "../ledger/entry.js";
import { type DeliveryLedger, recordSafely } from "../ledger/ledger.js";
import { formatIssues } from "../runtime/config.js";
import { PermanentDeliveryError, RelayError, TransientDeliveryError } from "../runtime/errors.js";
import type { DigestDeps } from "./admission.js";
import { type DigestSummary, destinationKey, summarizeWindow } from "./rules.js";
import { type DigestQueueMessage, digestQueueMessageSchema, type HumanBackend } from "./seams.js";

/** How a backend sends a digest to one of the destinations its secret names now. */
export interface DigestChannel<Destination> {
  backend: HumanBackend;
  /** Every destination the secret names now, administrators' included. */
  destinations(): Promise<readonly Destination[]>;
  /** The address, number or webhook URL (what `once` keys the send by, hashed). */
  address(destination: Destination): string;
  /** What may be logged of it. */
  label(destination: Destination): string;
  /** Sends the digest; rejects with a delivery error, as the backend's sends do. */
  send(destination: Destination, summary: DigestSummary): Promise<object>;
}

/** Delivers a `deliver-later` alert again, as the topic would (the chain's SNS path). */
export type Redeliver = (alertMessage: string, deferrals: number, context: Context) => Promise<void>;

/** What the delivery chain (lambdas/delivery/chain.ts) needs of the backend's queue. */
export interface BackendQueue {
  digests: DigestDeps;
  consume(event: SQSEvent, context: Context, redeliver: Redeliver): Promise<SQSBatchResponse>;
}

/** Whether `event` came from an SQS queue (the backend's own) rather than the alerts topic. */
export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) && (records[0] as { eventSource?: unknown } | undefined)?.eventSource === "aws:sqs"
  );
}

/** The idempotency key of a window's digest on a backend (window ids are the store's, never notification text). */
export function digestKey(backend: HumanBackend, windowId: string): DeliveryKey {
  return [backend, `digest-window ${windowId}`];
}

export interface BackendQueueOptions<Destination> {
  channel: DigestChannel<Destination>;
  digests: DigestDeps;
  logger: Logger;
  guard?: DeliveryGuard | undefined;
  /**
   * The delivery ledger: each digest's send is recorded under its window id (the `digestId` its
   * alerts' `digested` entries name), so `npm run relay -- trace <digest id>` follows it too.
   */
  ledger?: DeliveryLedger | undefined;
}

/** The consumer of a human backend's own queue. */
export function createBackendQueue<Destination>(options: BackendQueueOptions<Destination>): BackendQueue {
  const { channel, digests, logger, guard, ledger } = options;
  const now = digests.now ?? Date.now;
  const backend = channel.backend;

  async function closeWindow(windowId: string, context: Context): Promise<void> {
    const closed = await digests.store.close(windowId, now());
    if (closed.status === "not-due") {
      await digests.queue.closeWindowAt(windowId, closed.closesAt, now());
      logger.debug(`Digest window not due yet on ${backend}: scheduled again`, { backend, windowId });
      return;
    }
    if (closed.status === "unknown") {
      logger.warn(`Digest window unknown to ${backend} (expired): nothing to send`, {
        backend,
        windowId,
        outcome: "skipped",
      });
      return;
    }
    if (closed.entries.length === 0) return;
    const summary = summarizeWindow(closed);
    const fields = {
      backend,
      windowId,
      alerts: summary.count,
      highest: summary.highest,
      kind: summary.group.kind,
      internal: summary.internal,
    };
    const prefix = summary.internal ? `${INTERNAL_ALERT_TAG} ` : "";
    const destination = (await channel.destinations()).find(
      (candidate) => destinationKey(backend, channel.address(candidate)) === closed.group.destination,
    );
    if (destination === undefined) {
      // The secret changed since the window opened: nobody to send this digest to any more.
      logger.warn(`${prefix}Digest skipped by ${backend}`, {
        ...fields,
        outcome: "skipped",
        reason: "the destination is no longer in the backend's secret",
      });
      return;
    }
    const label = channel.label(destination);
    const run = async (once = sendEveryTime): Promise<DeliveryOutcome> => {
      await once(channel.address(destination), () => channel.send(destination, summary));
      return {
        status: "delivered",
        delivered: 1,
        destinations: [{ destination: label, status: "delivered", digestId: windowId }],
      };
    };
    const subject: LedgerSubject = {
      alertId: windowId,
      eventId: windowId,
      backend,
      acceptedAt: new Date(closed.openedAt).toISOString(),
    };
    const record = (outcome: string, entries: () => ReturnType<typeof entriesForOutcome>) =>
      ledger
        ? recordSafely(logger, { backend, alertId: windowId, outcome }, () => ledger.record(entries()))
        : Promise.resolve();
    let outcome: DeliveryOutcome;
    try {
      outcome = await (guard ? guard(digestKey(backend, windowId), run, context) : run());
    } catch (error) {
      const reason = error instanceof RelayError ? error.message : "Unexpected failure sending the digest";
      await record("failed", () =>
        entriesForFailure(
          subject,
          { message: reason, destinations: undefined },
          1,
          new Date().toISOString(),
        ).map((entry) => ({ ...entry, destination: label })),
      );
      throw error;
    }
    await record(outcome.status, () => entriesForOutcome(subject, outcome, 1, new Date().toISOString()));
    logger.info(`${prefix}Digest ${outcome.status} by ${backend}`, {
      ...fields,
      outcome: outcome.status,
      destination: label,
      ...outcome.details,
    });
  }

  async function handle(message: DigestQueueMessage, context: Context, redeliver: Redeliver): Promise<void> {
    if (message.action === "close-window") await closeWindow(message.windowId, context);
    else await redeliver(message.alert, message.deferrals ?? 0, context);
  }

  return {
    digests,
    async consume(event, context, redeliver) {
      const batchItemFailures: SQSBatchItemFailure[] = [];
      for (const record of event.Records) {
        try {
          await handle(parseRecord(record), context, redeliver);
        } catch (error) {
          const failure = describe(error);
          logger.error(`Message of ${backend}'s queue failed`, {
            backend,
            sqsMessageId: record.messageId,
            outcome: "failed",
            errorName: failure.name,
            reason: failure.message,
          });
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      }
      return { batchItemFailures };
    },
  };
}

/** The message of a record, or PermanentDeliveryError (paths and reasons only: values may be personal data). */
function parseRecord(record: SQSRecord): DigestQueueMessage {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch {
    throw new PermanentDeliveryError("Queue message is not JSON");
  }
  const result = digestQueueMessageSchema.safeParse(json);
  if (!result.success) {
    throw new PermanentDeliveryError(
      `Queue message refused: ${formatIssues(result.error.issues).join("; ")}`,
    );
  }
  return result.data;
}

/** Our errors as they are; anything else by its name only (its message may quote an address). */
function describe(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientDeliveryError(`Unexpected ${name} in the backend's queue`, { cause: error });
}
