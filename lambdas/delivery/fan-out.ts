/**
 * Fan-outs: one alert sent to several recipients (e-mail addresses, phone numbers: one after the
 * other) or targets (HTTP targets, Slack channels: in parallel). Every send goes through `once`,
 * so a retry reaches only what a failed attempt missed; every one is attempted, then the combined
 * failure is thrown if any failed (transient if any was).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { PermanentDeliveryError, TransientDeliveryError } from "../runtime/errors.js";
import {
  type DeliveryOutcome,
  type DestinationOutcome,
  type DestinationResult,
  REPLAYED_SEND,
  type SendOnce,
  sendEveryTime,
  withDestinations,
} from "./outcome.js";
import { classifyAwsError, combineFailures } from "./retry.js";

/** How one AWS-backed fan-out (e-mail, SMS) names, masks and keys its recipients. */
export interface RecipientFanOut {
  /** `e-mail`, `SMS`: used in log lines and failure messages. */
  channel: string;
  /** `recipients`, `numbers`: used in the failure summary and when there is nobody to send to. */
  plural: string;
  /** What may appear of a recipient in logs and errors. */
  mask: (recipient: string) => string;
  /** The idempotency key of a recipient; the recipient itself by default. */
  key?: (recipient: string) => string;
  /** Why an alert can concern none of the configured recipients: the outcome line's reason. */
  whenNobody: string;
  send: (recipient: string) => Promise<{ messageId?: string }>;
}

/**
 * Sends to each recipient one after the other (AWS accounts have per-second send rates, and
 * recipients are few), each send through `once` so that a retry reaches only the recipients a
 * failed attempt missed. Every recipient is attempted; then the combined failure is thrown if any
 * send failed (transient if any was), with masked recipients only. Nobody to send to for this
 * alert is a success (`skipped`, with `fanOut.whenNobody` as the reason): there is nothing a
 * retry could do.
 */
export async function sendToEachRecipient(
  recipients: readonly string[],
  fanOut: RecipientFanOut,
  context: { alertId: string; once?: SendOnce | undefined; logger: Pick<Logger, "debug"> },
): Promise<DeliveryOutcome> {
  if (recipients.length === 0) {
    return { status: "skipped", delivered: 0, reason: fanOut.whenNobody };
  }
  const once = context.once ?? sendEveryTime;
  const failures: (PermanentDeliveryError | TransientDeliveryError)[] = [];
  const reached: string[] = [];
  const destinations: DestinationResult[] = [];
  for (const recipient of recipients) {
    try {
      const key = fanOut.key ? fanOut.key(recipient) : recipient;
      const result = await once(key, () => fanOut.send(recipient));
      const { messageId } = result;
      reached.push(fanOut.mask(recipient));
      destinations.push({ destination: fanOut.mask(recipient), status: sendStatus(result) });
      context.logger.debug(`${fanOut.channel} sent`, {
        alertId: context.alertId,
        recipient: fanOut.mask(recipient),
        messageId,
      });
    } catch (error) {
      const failure = classifyAwsError(error, `${fanOut.channel} to ${fanOut.mask(recipient)}`);
      failures.push(failure);
      destinations.push({ destination: fanOut.mask(recipient), status: "failed", reason: failure.message });
    }
  }
  return settle(
    `${fanOut.channel} failed for`,
    `${recipients.length} ${fanOut.plural}`,
    failures,
    destinations,
    {
      recipients: reached,
    },
  );
}

/** One destination of a parallel fan-out, and how it appears in logs and errors. */
export interface FanOutTarget {
  /** What `once` keys the send by (a URL): hashed into the key, never logged. */
  key: string;
  /** What may be logged of it: a URL's origin, a channel's name. */
  label: string;
}

/** How one parallel fan-out (HTTP targets, Slack channels) names its destinations. */
export interface ParallelFanOut<Target extends FanOutTarget, Result extends object> {
  /** `HTTP delivery`, `Slack delivery`: the failure summary's subject. */
  what: string;
  /** `targets`, `channels`. */
  plural: string;
  /** The outcome's details key for what was reached. */
  reachedKey: string;
  /** The label's key in each reached entry (`target`, `channel`). */
  labelKey: string;
  send: (target: Target) => Promise<Result>;
  /** The delivery error for anything `send` threw that is not one yet. */
  unexpected: (error: unknown, target: Target) => PermanentDeliveryError | TransientDeliveryError;
}

/**
 * Sends to every target at once (receivers are independent, and a slow one must not delay the
 * others), each through `once`. A failing target never stops the others.
 */
export async function sendToEachInParallel<Target extends FanOutTarget, Result extends object>(
  targets: readonly Target[],
  fanOut: ParallelFanOut<Target, Result>,
  once: SendOnce = sendEveryTime,
  details: Record<string, unknown> = {},
): Promise<DeliveryOutcome> {
  const results = await Promise.allSettled(
    targets.map((target) => once(target.key, () => fanOut.send(target))),
  );
  const failures: (PermanentDeliveryError | TransientDeliveryError)[] = [];
  const reached: Record<string, unknown>[] = [];
  const destinations: DestinationResult[] = [];
  results.forEach((result, index) => {
    const target = targets[index] as Target;
    if (result.status === "fulfilled") {
      reached.push({ [fanOut.labelKey]: target.label, ...result.value });
      destinations.push({ destination: target.label, status: sendStatus(result.value) });
    } else {
      const failure = asDeliveryError(result.reason, target, fanOut);
      failures.push(failure);
      destinations.push({ destination: target.label, status: "failed", reason: failure.message });
    }
  });
  return settle(`${fanOut.what} failed for`, `${targets.length} ${fanOut.plural}`, failures, destinations, {
    ...details,
    [fanOut.reachedKey]: reached,
  });
}

/**
 * The end of a fan-out: the combined failure (transient if any was), carrying every destination's
 * result for the ledger, when a send failed; else the delivered outcome.
 */
function settle(
  failedFor: string,
  ofAll: string,
  failures: readonly (PermanentDeliveryError | TransientDeliveryError)[],
  destinations: DestinationResult[],
  details: Record<string, unknown>,
): DeliveryOutcome {
  if (failures.length > 0) {
    throw withDestinations(
      combineFailures(`${failedFor} ${failures.length} of ${ofAll}`, [...failures]),
      destinations,
    );
  }
  const reached = destinations.filter(isReached);
  return { status: "delivered", delivered: reached.length, destinations: reached, details };
}

/** Every destination once nothing failed (the type cannot know that). */
function isReached(result: DestinationResult): result is DestinationOutcome {
  return result.status !== "failed";
}

/** `duplicate` when `once` answered with an earlier attempt's recorded send (REPLAYED_SEND). */
function sendStatus(result: object): "delivered" | "duplicate" {
  return REPLAYED_SEND in result && result[REPLAYED_SEND] === true ? "duplicate" : "delivered";
}

function asDeliveryError<Target extends FanOutTarget>(
  error: unknown,
  target: Target,
  fanOut: ParallelFanOut<Target, object>,
): PermanentDeliveryError | TransientDeliveryError {
  if (error instanceof PermanentDeliveryError || error instanceof TransientDeliveryError) return error;
  return fanOut.unexpected(error, target);
}
