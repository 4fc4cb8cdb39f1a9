/**
 * The middy chain every delivery function exports: unpacking the alert from its SNS event, one log
 * line per alert with the outcome, and failure handling. Each backend only supplies
 * `deliver(alert)`.
 *
 * The functions are invoked asynchronously by SNS. Throwing is how a delivery asks to be retried:
 * Lambda retries the event twice, then sends it to the backend's on-failure dead-letter queue with
 * the error's message as the reason. So every error thrown from here has a message fit for a log:
 * error names, statuses, masked addresses, URL origins; never a secret, a token or an address.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import middy from "@middy/core";
import type { Context, SNSEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type Alert, INTERNAL_ALERT_TAG } from "../contracts/alert.js";
import type { Backend } from "../contracts/messages.js";
import type { BackendQueue } from "../digest/consumer.js";
import { isSqsEvent } from "../digest/consumer.js";
import { DEFAULT_RATE_LIMIT_WAIT_SECONDS, MAX_DEFERRALS } from "../digest/defaults.js";
import { publishDeliveryMetrics } from "../ledger/delivery-metrics.js";
import {
  deadLetteredEntry,
  entriesForFailure,
  entriesForOutcome,
  type LedgerEntry,
  ledgerSubject,
} from "../ledger/entry.js";
import { type DeliveryLedger, recordSafely } from "../ledger/ledger.js";
import {
  ConfigurationError,
  PermanentDeliveryError,
  RelayError,
  TransientDeliveryError,
} from "../runtime/errors.js";
import {
  type DeliverFunction,
  type DeliveryGuard,
  deliveryKey,
  destinationsOf,
  type SendOnce,
} from "./outcome.js";
import { alertFromMessage, alertFromSnsEvent } from "./sns-event.js";

export interface DeliverHandlerOptions {
  backend: Backend;
  deliver: DeliverFunction;
  logger: Logger;
  /** Idempotency seam (see DeliveryGuard); deliveries run unguarded when omitted. */
  guard?: DeliveryGuard;
  /**
   * The backend's own queue (human backends with digests on, lambdas/digest/consumer.ts): its SQS
   * events (digest closes, deliveries waiting for a rate limit) are consumed here too, and a
   * delivery refused for its rate waits on it instead of failing.
   */
  backendQueue?: BackendQueue | undefined;
  /** Where each outcome is recorded; nothing is recorded when omitted. */
  recording?: DeliveryRecording | undefined;
}

/** The delivery ledger (lambdas/ledger/ledger.ts) a delivery function records its outcomes in. */
export interface DeliveryRecording {
  ledger: DeliveryLedger;
  /**
   * The attempt after whose failure the platform dead-letters the event (AWS: 1 + the retries of
   * the asynchronous invocation config), so the chain records `dead-lettered` with that failure.
   * Omitted locally: the local dead-letter store records it in the transaction that moves it.
   */
  lastAttempt?: number | undefined;
  /** Where the per-backend delivery metrics go (Powertools Metrics, EMF); AWS only. */
  metrics?: Metrics | undefined;
}

export type DeliverHandler = middy.MiddyfiedHandler<
  SNSEvent | SQSEvent,
  SQSBatchResponse | undefined,
  Error,
  Context
>;

/**
 * The middy chain every delivery function exports: parse, deliver, log one line with the outcome;
 * on failure log the classified error and rethrow it so the platform retries and finally
 * dead-letters the event.
 */
export function createDeliverHandler(options: DeliverHandlerOptions): DeliverHandler {
  const { backend, deliver, logger, guard, backendQueue } = options;
  const ledger = options.recording?.ledger;
  const lastAttempt = options.recording?.lastAttempt;
  const metrics = options.recording?.metrics;

  const deliverAlert = async (
    read: () => Alert,
    message: unknown,
    snsMessageId: unknown,
    deferrals: number,
    context: Context,
  ): Promise<void> => {
    let alert: Alert;
    try {
      alert = read();
    } catch (error) {
      const failure = classifyFailure(error);
      logger.error(`Alert message rejected by ${backend}`, {
        backend,
        snsMessageId,
        outcome: "rejected",
        errorName: failure.name,
        reason: failure.message,
      });
      throw failure;
    }
    const fields = {
      alertId: alert.id,
      type: alert.sourceType,
      kind: alert.kind,
      severity: alert.severity,
      internal: alert.internal,
      backend,
    };
    // Internal alerts (the relay itself under attack) are tagged on every line (docs/PROTOCOL.md).
    const prefix = alert.internal ? `${INTERNAL_ALERT_TAG} ` : "";
    // Unguarded, the backend is called with the alert alone, as it always was.
    const run = (once?: SendOnce) => (once ? deliver(alert, once) : deliver(alert));
    const subject = ledgerSubject(alert, backend);
    const ledgerContext = { backend, alertId: alert.id };
    const record = async (outcome: string, entries: LedgerEntry[]) => {
      if (!ledger) return;
      await recordSafely(logger, { ...ledgerContext, outcome }, () => ledger.record(entries));
      if (metrics) publishDeliveryMetrics(metrics, backend, entries);
    };
    // Counted while the delivery runs, so the ledger's read adds no time to it.
    const attempt = ledger
      ? recordSafely(logger, { ...ledgerContext, outcome: "count" }, () =>
          ledger.failedAttempts(backend, alert.id),
        ).then((failures) => (failures ?? 0) + 1)
      : Promise.resolve(1);
    try {
      const outcome = await (guard ? guard(deliveryKey(backend, alert), run, context) : run());
      if (ledger) {
        await record(
          outcome.status,
          entriesForOutcome(subject, outcome, await attempt, new Date().toISOString()),
        );
      }
      logger.info(`${prefix}Alert ${outcome.status} by ${backend}`, {
        ...fields,
        outcome: outcome.status,
        delivered: outcome.delivered,
        ...(outcome.reason ? { reason: outcome.reason } : {}),
        ...outcome.details,
      });
    } catch (error) {
      const failure = classifyFailure(error);
      const failedEntries = async () =>
        entriesForFailure(
          subject,
          { message: failure.message, destinations: destinationsOf(failure) },
          await attempt,
          new Date().toISOString(),
        );
      let reason = failure.message;
      // Outside the guard, whose in-progress record the failure already removed: the alert
      // waits on the backend's queue, and its per-send records keep reached destinations
      // from a second send when it is delivered again.
      if (
        backendQueue &&
        backendQueue.digests.policy !== false &&
        typeof message === "string" &&
        isRateLimited(failure) &&
        deferrals < MAX_DEFERRALS
      ) {
        const waitSeconds = failure.retryAfterSeconds ?? DEFAULT_RATE_LIMIT_WAIT_SECONDS;
        const now = (backendQueue.digests.now ?? Date.now)();
        try {
          await backendQueue.digests.queue.deliverLaterAt(
            message,
            now + waitSeconds * 1000,
            now,
            deferrals + 1,
          );
          logger.warn(`${prefix}Alert delivery by ${backend} waits for the destination's rate limit`, {
            ...fields,
            outcome: "deferred",
            waitSeconds,
            deferrals: deferrals + 1,
            reason: failure.message,
          });
          // `deferred`, not `failed`: a wait is no attempt the platform counts towards its dead letters.
          if (ledger) {
            const entries = (await failedEntries()).map((entry) =>
              entry.outcome === "failed"
                ? {
                    ...entry,
                    outcome: "deferred" as const,
                    reason: `${entry.reason ?? reason}; waits ${waitSeconds} s`,
                  }
                : entry,
            );
            await record("deferred", entries);
          }
          return;
        } catch (queueError) {
          // The queue refused too: fail as without it, so the platform retries the delivery.
          reason = `${failure.message}; waiting on the backend's queue failed too: ${classifyFailure(queueError).message}`;
        }
      }
      logger.error(`${prefix}Alert delivery by ${backend} failed`, {
        ...fields,
        outcome: "failed",
        errorName: failure.name,
        // What a retry can fix; Lambda retries and dead-letters every failure alike.
        retryable: !(failure instanceof PermanentDeliveryError || failure instanceof ConfigurationError),
        reason,
      });
      if (ledger) {
        const entries = await failedEntries();
        const tried = await attempt;
        if (lastAttempt !== undefined && tried >= lastAttempt) {
          entries.push(deadLetteredEntry(subject, failure.message, new Date().toISOString()));
        }
        await record("failed", entries);
      }
      throw failure;
    }
  };

  return middy<SNSEvent | SQSEvent, SQSBatchResponse | undefined, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event, context): Promise<SQSBatchResponse | undefined> => {
      if (isSqsEvent(event)) {
        if (!backendQueue) {
          throw new PermanentDeliveryError(`deliver-${backend} has no queue of its own to consume`);
        }
        return backendQueue.consume(event, context, (message, deferrals, ctx) =>
          deliverAlert(() => alertFromMessage(message), message, undefined, deferrals, ctx),
        );
      }
      const sns = event as SNSEvent;
      const record = sns?.Records?.[0]?.Sns;
      await deliverAlert(() => alertFromSnsEvent(sns), record?.Message, record?.MessageId, 0, context);
      return undefined;
    });
}

function isRateLimited(failure: RelayError): failure is TransientDeliveryError {
  return failure instanceof TransientDeliveryError && failure.rateLimited;
}

/**
 * Our own errors are thrown as they are (their messages are built to be logged). Anything else is
 * a bug or an unforeseen library failure whose message may quote a URL or an address: only its
 * name travels, wrapped as transient so the platform still retries.
 */
function classifyFailure(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientDeliveryError(`Unexpected ${name} during delivery`, { cause: error });
}
