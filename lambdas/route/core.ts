/**
 * The route core: one queued notification in, one alert on the topic out. Knows nothing of SQS
 * or SNS: the record's body and attributes come as plain values, the topic as an
 * `AlertPublisher`.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { type Alert, INTERNAL_ALERT_TAG } from "../contracts/alert.js";
import { FAILED_RECORD_LOG_FIELDS } from "../contracts/messages.js";
import { normalizeNotification } from "../contracts/normalize.js";
import { RelayError } from "../runtime/errors.js";
import type { AlertPublisher } from "./sns-topic.js";

/** The queued message body is not JSON. It goes back to the queue, then to its dead-letter queue. */
export class UnparseableMessageError extends RelayError {
  override name = "UnparseableMessageError";
}

/** What ingest recorded about the message (its SQS message attributes), all optional. */
export interface RouteMessageAttributes {
  /** When the relay accepted the request (ISO 8601); the alert's `receivedAt`. */
  receivedAt?: string | undefined;
  /** The ingest request's correlation id, logged to follow one request through. */
  requestId?: string | undefined;
  /** The queue's message id, logged to find the record. */
  messageId?: string | undefined;
}

export interface RouteCoreDependencies {
  publisher: AlertPublisher;
  ownApplicationIds: ReadonlySet<string> | readonly string[];
  logger: Pick<Logger, "debug" | "error">;
  /** Stands in for `receivedAt` when the message does not carry it. */
  now?: () => Date;
}

/**
 * Parses one queued notification (`messageJson(notification)`, as ingest enqueues it),
 * normalizes it, logs one debug line of identifiers (tagged `[INTERNAL SECURITY ALERT]` when the
 * relay itself is the target) and publishes the alert. Resolves with the alert once the topic accepted
 * it. Throws `UnparseableMessageError` for a body that is not JSON, `InvalidNotificationError`
 * for JSON that is not an object, and whatever the publisher rejects with.
 *
 * Everything before the publish is synchronous, so records routed in parallel all reach the
 * publisher in the same turn of the event loop and share its batches.
 */
export async function routeNotification(
  sqsBody: string,
  attributes: RouteMessageAttributes,
  deps: RouteCoreDependencies,
): Promise<Alert> {
  const record = { requestId: attributes.requestId, messageId: attributes.messageId };
  let alert: Alert;
  try {
    // The parser's own message quotes the body, which may hold personal data: never pass it on.
    const notification = parseJson(sqsBody);
    alert = normalizeNotification(notification, {
      receivedAt: attributes.receivedAt || (deps.now?.() ?? new Date()).toISOString(),
      ownApplicationIds: deps.ownApplicationIds,
    });
  } catch (error) {
    deps.logger.error("Unroutable message: it returns to the queue, then its dead-letter queue", {
      ...FAILED_RECORD_LOG_FIELDS,
      ...record,
      error,
    });
    throw error;
  }
  // Every line about an internal alert carries the tag, so one log query finds them all.
  const tag = alert.internal ? `${INTERNAL_ALERT_TAG} ` : "";
  const identifiers = {
    alertId: alert.id,
    type: alert.sourceType,
    kind: alert.kind,
    severity: alert.severity,
    internal: alert.internal,
    applicationId: alert.applicationId,
    environment: alert.environment,
    ...record,
  };
  // Debug only: at INFO a notification makes one line where it is accepted (ingest) and one per
  // delivery outcome, which name the alert too; a routing line more was a seventh of them.
  deps.logger.debug(`${tag}Routing alert`, identifiers);
  try {
    await deps.publisher.publish(alert);
  } catch (error) {
    deps.logger.error(`${tag}Publishing alert failed: the record returns to the queue`, {
      ...FAILED_RECORD_LOG_FIELDS,
      ...identifiers,
      error,
    });
    throw error;
  }
  return alert;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new UnparseableMessageError("The queued message body is not valid JSON");
  }
}
