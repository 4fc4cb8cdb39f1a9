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
import type { Context, SNSEvent } from "aws-lambda";
import { type Alert, INTERNAL_ALERT_TAG } from "../contracts/alert.js";
import type { Backend } from "../contracts/messages.js";
import { publishDeliveryMetrics } from "../ledger/delivery-metrics.js";
import { deadLetteredEntry, entriesForFailure, entriesForOutcome, ledgerSubject } from "../ledger/entry.js";
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
import { alertFromSnsEvent } from "./sns-event.js";

export interface DeliverHandlerOptions {
  backend: Backend;
  deliver: DeliverFunction;
  logger: Logger;
  /** Idempotency seam (see DeliveryGuard); deliveries run unguarded when omitted. */
  guard?: DeliveryGuard;
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

export type DeliverHandler = middy.MiddyfiedHandler<SNSEvent, void, Error, Context>;

/**
 * The middy chain every delivery function exports: parse, deliver, log one line with the outcome;
 * on failure log the classified error and rethrow it so the platform retries and finally
 * dead-letters the event.
 */
export function createDeliverHandler(options: DeliverHandlerOptions): DeliverHandler {
  const { backend, deliver, logger, guard } = options;
  const ledger = options.recording?.ledger;
  const lastAttempt = options.recording?.lastAttempt;
  const metrics = options.recording?.metrics;
  return middy<SNSEvent, void, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event: SNSEvent, context: Context): Promise<void> => {
      let alert: Alert;
      try {
        alert = alertFromSnsEvent(event);
      } catch (error) {
        const failure = classifyFailure(error);
        logger.error(`Alert message rejected by ${backend}`, {
          backend,
          snsMessageId: event?.Records?.[0]?.Sns?.MessageId,
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
      // Counted while the delivery runs, so the ledger's read adds no time to it.
      const attempt = ledger
        ? recordSafely(logger, { ...ledgerContext, outcome: "count" }, () =>
            ledger.failedAttempts(backend, alert.id),
          ).then((failures) => (failures ?? 0) + 1)
        : Promise.resolve(1);
      try {
        const outcome = await (guard ? guard(deliveryKey(backend, alert), run, context) : run());
        if (ledger) {
          const entries = entriesForOutcome(subject, outcome, await attempt, new Date().toISOString());
          await recordSafely(logger, { ...ledgerContext, outcome: outcome.status }, () =>
            ledger.record(entries),
          );
          if (metrics) publishDeliveryMetrics(metrics, backend, entries);
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
        logger.error(`${prefix}Alert delivery by ${backend} failed`, {
          ...fields,
          outcome: "failed",
          errorName: failure.name,
          // What a retry can fix; Lambda retries and dead-letters every failure alike.
          retryable: !(failure instanceof PermanentDeliveryError || failure instanceof ConfigurationError),
          reason: failure.message,
        });
        if (ledger) {
          const tried = await attempt;
          const now = new Date().toISOString();
          const entries = entriesForFailure(
            subject,
            { message: failure.message, destinations: destinationsOf(failure) },
            tried,
            now,
          );
          if (lastAttempt !== undefined && tried >= lastAttempt)
            entries.push(deadLetteredEntry(subject, failure.message, now));
          await recordSafely(logger, { ...ledgerContext, outcome: "failed" }, () => ledger.record(entries));
          if (metrics) publishDeliveryMetrics(metrics, backend, entries);
        }
        throw failure;
      }
    });
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
