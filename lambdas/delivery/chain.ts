/**
 * What every delivery function shares: unpacking the alert from its SNS event, one log line per
 * alert with the outcome, and failure handling. Each backend only supplies `deliver(alert)`.
 *
 * The functions are invoked asynchronously by SNS. Throwing is how a delivery asks to be retried:
 * Lambda retries the event twice, then sends it to the backend's on-failure dead-letter queue with
 * the error's message as the reason. So every error thrown from here has a message fit for a log:
 * error names, statuses, masked addresses, URL origins; never a secret, a token or an address.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, SNSEvent } from "aws-lambda";
import * as z from "zod";
import { ALERT_KINDS, type Alert, INTERNAL_ALERT_TAG, SEVERITIES } from "../contracts/alert.js";
import type { Backend } from "../contracts/messages.js";
import {
  ConfigurationError,
  PermanentDeliveryError,
  RelayError,
  TransientDeliveryError,
} from "../runtime/errors.js";
import { classifyAwsError, combineFailures } from "./retry.js";

/** What a backend did with one alert. */
export interface DeliveryOutcome {
  /**
   * `skipped`: the secret names recipients, but none this alert concerns (administrators only, and
   * the alert is not internal); not a failure. A secret naming nobody at all is never skipped: it
   * fails as BackendNotConfiguredError (lambdas/delivery/secret-source.ts).
   */
  status: "delivered" | "skipped";
  /** Recipients, numbers or targets reached. */
  delivered: number;
  /** Why, when skipped. */
  reason?: string;
  /** Extra fields for the outcome log line (identifiers and masked values only). */
  details?: Record<string, unknown>;
}

/**
 * Runs one send of a fan-out (one e-mail recipient, phone number, HTTP target or Slack channel)
 * at most once per alert, backend and `recipient`, or returns the recorded result of the earlier
 * send. `recipient` names the destination (an address, a number, a URL); it is hashed into the
 * key, never stored or logged. `send`'s result is recorded as JSON.
 */
export type SendOnce = <T>(recipient: string, send: () => Promise<T>) => Promise<T>;

/** The `once` of an unguarded delivery: every send runs. */
export const sendEveryTime: SendOnce = (_recipient, send) => send();

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
  for (const recipient of recipients) {
    try {
      const key = fanOut.key ? fanOut.key(recipient) : recipient;
      const { messageId } = await once(key, () => fanOut.send(recipient));
      reached.push(fanOut.mask(recipient));
      context.logger.debug(`${fanOut.channel} sent`, {
        alertId: context.alertId,
        recipient: fanOut.mask(recipient),
        messageId,
      });
    } catch (error) {
      failures.push(classifyAwsError(error, `${fanOut.channel} to ${fanOut.mask(recipient)}`));
    }
  }
  if (failures.length > 0) {
    throw combineFailures(
      `${fanOut.channel} failed for ${failures.length} of ${recipients.length} ${fanOut.plural}`,
      failures,
    );
  }
  return { status: "delivered", delivered: reached.length, details: { recipients: reached } };
}

/**
 * A backend's delivery of one alert. `once`, when given, guards each send of a fan-out so that a
 * retry after a partial failure reaches only the recipients the failed attempt missed.
 */
export type DeliverFunction = (alert: Alert, once?: SendOnce) => Promise<DeliveryOutcome>;

/**
 * The idempotency seam (lambdas/delivery/idempotency.ts implements it with Powertools idempotency,
 * in the `IDEMPOTENCY_TABLE_NAME` table in AWS and in memory locally): it receives the key
 * (deliveryKey), the delivery and the invocation's context, and either runs the delivery (handing
 * it a `once` for its sends under the same key) or returns the recorded outcome of an earlier run.
 * The context's remaining time bounds how long an interrupted run blocks the platform's retry.
 */
export type DeliveryGuard = (
  key: string,
  run: (once?: SendOnce) => Promise<DeliveryOutcome>,
  context?: Context,
) => Promise<DeliveryOutcome>;

/** The idempotency key of one alert on one backend: the same alert on two backends is two deliveries. */
export function deliveryKey(backend: Backend, alert: Pick<Alert, "id">): string {
  return `${backend}#${alert.id}`;
}

const ipSchema = z.object({
  address: z.string(),
  isTor: z.boolean().nullable().default(null),
  country: z.string().nullable().default(null),
  city: z.string().nullable().default(null),
});

/**
 * The Alert as it travels on the topic. The route function builds it, so validation is a guard
 * against garbage, not a negotiation: identity and the fields every backend formats are required,
 * the descriptive ones default to null so an older or newer publisher still gets through.
 */
const alertSchema = z.object({
  id: z.string().min(1),
  sourceType: z.string().min(1),
  kind: z.enum(ALERT_KINDS).catch("unknown"),
  apiVersion: z.enum(["1", "2"]),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  text: z.string(),
  applicationId: z.string().nullable().default(null),
  applicationName: z.string().nullable().default(null),
  environment: z.string().nullable().default(null),
  link: z.string().nullable().default(null),
  ips: z.array(ipSchema).default([]),
  ipsOmitted: z.number().int().nonnegative().default(0),
  internal: z.boolean(),
  occurredAt: z.string().nullable().default(null),
  receivedAt: z.string(),
  original: z.unknown(),
});

/**
 * The alert carried by an SNS event (`Message` = the Alert as JSON). SNS gives a subscribed
 * function exactly one record; anything else, or a message that is not an Alert, is an error
 * (PermanentDeliveryError: retrying cannot fix it, the dead-letter queue keeps it for a look).
 */
export function alertFromSnsEvent(event: SNSEvent): Alert {
  const records = event?.Records;
  if (!Array.isArray(records) || records.length !== 1) {
    throw new PermanentDeliveryError(
      `Expected exactly one SNS record, got ${Array.isArray(records) ? records.length : "none"}`,
    );
  }
  const message = records[0]?.Sns?.Message;
  if (typeof message !== "string") throw new PermanentDeliveryError("SNS record has no Message");
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new PermanentDeliveryError("SNS message is not JSON");
  }
  const result = alertSchema.safeParse(json);
  if (!result.success) {
    // Paths and reasons only: the values may be personal data.
    const problems = result.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw new PermanentDeliveryError(`SNS message is not an alert: ${problems.join("; ")}`);
  }
  return result.data;
}

export interface DeliverHandlerOptions {
  backend: Backend;
  deliver: DeliverFunction;
  logger: Logger;
  /** Idempotency seam (see DeliveryGuard); deliveries run unguarded when omitted. */
  guard?: DeliveryGuard;
}

export type DeliverHandler = middy.MiddyfiedHandler<SNSEvent, void, Error, Context>;

/**
 * The middy chain every delivery function exports: parse, deliver, log one line with the outcome;
 * on failure log the classified error and rethrow it so the platform retries and finally
 * dead-letters the event.
 */
export function createDeliverHandler(options: DeliverHandlerOptions): DeliverHandler {
  const { backend, deliver, logger, guard } = options;
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
      // Internal alerts (the relay itself under attack) are tagged on every line (PROTOCOL.md).
      const prefix = alert.internal ? `${INTERNAL_ALERT_TAG} ` : "";
      // Unguarded, the backend is called with the alert alone, as it always was.
      const run = (once?: SendOnce) => (once ? deliver(alert, once) : deliver(alert));
      try {
        const outcome = await (guard ? guard(deliveryKey(backend, alert), run, context) : run());
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
