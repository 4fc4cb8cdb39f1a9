/**
 * The seams between the delivery chain, the backends and the idempotency guard: what a delivery
 * returns, how one send of a fan-out is guarded, and the key of one alert on one backend.
 */
import type { Context } from "aws-lambda";
import type { Alert } from "../contracts/alert.js";
import type { Backend } from "../contracts/messages.js";

/**
 * Lambda's own retries of a failed asynchronous (SNS) invocation before the on-failure
 * destination: the stack configures them (lib/constructs/delivery-backend.ts), and the chain
 * records `dead-lettered` with the failure of the last attempt.
 */
export const DELIVERY_RETRY_ATTEMPTS = 2;

/** What a backend did with one alert. */
export interface DeliveryOutcome {
  /**
   * `skipped`: the secret names recipients, but none this alert concerns (administrators only, and
   * the alert is not internal); not a failure. A secret naming nobody at all is never skipped: it
   * fails as BackendNotConfiguredError (lambdas/delivery/secret-source.ts).
   */
  status: "delivered" | "skipped" | "digested";
  /** Recipients, numbers or targets reached. */
  delivered: number;
  /**
   * What happened at each destination (an e-mail recipient, a phone number, an HTTP target, a
   * Slack channel), as the delivery ledger records it. `destination` is the masked label only
   * (`s***@example.com`, `+33*****78`, a URL's origin, a channel's name), never the value itself.
   */
  destinations?: DestinationOutcome[];
  /** Why, when skipped. */
  reason?: string;
  /** Extra fields for the outcome log line (identifiers and masked values only). */
  details?: Record<string, unknown>;
}

/** One destination's part of a delivery. */
export interface DestinationOutcome {
  destination: string;
  /**
   * `delivered`: sent now; `duplicate`: an earlier attempt already sent it (the idempotency
   * record answered); `digested`: held for the digest `digestId`; `skipped`: not for it (`reason`).
   */
  status: "delivered" | "duplicate" | "digested" | "skipped";
  /** The window (lambdas/digest/seams.ts) the alert is counted in, when digested. */
  digestId?: string;
  reason?: string;
}

/** A destination a delivery failed to reach, with why (masked, as in an error message). */
export interface DestinationFailure {
  destination: string;
  status: "failed";
  reason: string;
}

/** What happened at one destination, the failures included: what the ledger records. */
export type DestinationResult = DestinationOutcome | DestinationFailure;

/** A delivery error that says what happened at each destination (the fan-outs throw these). */
export type WithDestinations<E extends Error> = E & { destinations: DestinationResult[] };

/** Attaches the per-destination results to the combined failure of a fan-out. */
export function withDestinations<E extends Error>(
  error: E,
  destinations: DestinationResult[],
): WithDestinations<E> {
  return Object.assign(error, { destinations });
}

/** The per-destination results a failure carries, if any. */
export function destinationsOf(error: unknown): DestinationResult[] | undefined {
  if (!(error instanceof Error) || !("destinations" in error)) return undefined;
  return Array.isArray(error.destinations) ? (error.destinations as DestinationResult[]) : undefined;
}

/**
 * Runs one send of a fan-out (one e-mail recipient, phone number, HTTP target or Slack channel)
 * at most once per alert, backend and `recipient`, or returns the recorded result of the earlier
 * send. `recipient` names the destination (an address, a number, a URL); it is hashed into the
 * key, never stored or logged. `send`'s result is recorded as JSON.
 */
export type SendOnce = <T>(recipient: string, send: () => Promise<T>) => Promise<T>;

/**
 * The field a guarded `once` adds (true) to a send's result when it answered with the result an
 * earlier attempt recorded instead of sending: the ledger's `duplicate`.
 */
export const REPLAYED_SEND = "replayed";

/** The `once` of an unguarded delivery: every send runs. */
export const sendEveryTime: SendOnce = (_recipient, send) => send();

/**
 * A backend's delivery of one alert. `once`, when given, guards each send of a fan-out so that a
 * retry after a partial failure reaches only the recipients the failed attempt missed.
 */
export type DeliverFunction = (alert: Alert, once?: SendOnce) => Promise<DeliveryOutcome>;

/**
 * The idempotency seam (lambdas/delivery/idempotency.ts implements it with Powertools idempotency,
 * in the `IDEMPOTENCY_TABLE_NAME` table in AWS and in the local relay's SQLite database locally): it receives the key
 * (deliveryKey), the delivery and the invocation's context, and either runs the delivery (handing
 * it a `once` for its sends under the same key) or returns the recorded outcome of an earlier run.
 * The context's remaining time bounds how long an interrupted run blocks the platform's retry.
 */
export type DeliveryGuard = (
  key: DeliveryKey,
  run: (once?: SendOnce) => Promise<DeliveryOutcome>,
  context?: Context,
) => Promise<DeliveryOutcome>;

/**
 * The idempotency key of one alert on one backend, as its parts: the same alert on two backends is
 * two deliveries. The guard encodes the parts unambiguously (never joined with a separator: an
 * alert id is text from the notification).
 */
export type DeliveryKey = readonly [backend: Backend, alertId: string];

export function deliveryKey(backend: Backend, alert: Pick<Alert, "id">): DeliveryKey {
  return [backend, alert.id];
}
