/**
 * The wire contracts between the functions: what ingest puts on the queue, and what route
 * publishes on the topic. The CDK filter policies, the local pipeline and the integration tier all
 * read these names from here, so a rename cannot silently break routing.
 */

/** SQS message attributes ingest sets on every queued notification (all `String`). */
export const QUEUE_ATTRIBUTES = {
  /** `message_type` / `sqreen_payload_type`, or `unknown`. */
  notificationType: "notification_type",
  /** The stable event identity (PROTOCOL.md), for downstream deduplication. */
  eventId: "event_id",
  /** `"1"` or `"2"`. */
  apiVersion: "api_version",
  /** The ingest request's correlation id, to follow one request through the logs. */
  requestId: "request_id",
  /** ISO 8601 time the request was accepted. */
  receivedAt: "received_at",
} as const;

/**
 * SNS message attributes route sets on every published alert (all `String`). Subscription filter
 * policies match on these and nothing else.
 */
export const ALERT_ATTRIBUTES = {
  /** Alert `sourceType`, e.g. `security_event`, `pulse`, `account_takeover`, `test`. */
  type: "type",
  /** Alert `kind`: security_event, incident, security_response, test, unknown. */
  kind: "kind",
  severity: "severity",
  /** `"true"` or `"false"`. */
  internal: "internal",
  /** The environment, or `unknown` when the notification has none. */
  environment: "environment",
  /** The application id, or `unknown` (test notifications carry none). */
  application: "application",
} as const;

export type AlertAttributeName = (typeof ALERT_ATTRIBUTES)[keyof typeof ALERT_ATTRIBUTES];

/** Value used for an attribute the notification does not carry: SNS rejects empty strings. */
export const UNKNOWN_ATTRIBUTE_VALUE = "unknown";

/** The five delivery backends, one function and one subscription each. */
export const BACKENDS = ["log", "email", "http", "sms", "slack"] as const;
export type Backend = (typeof BACKENDS)[number];

/** Largest message body SQS and SNS accept (256 KiB). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/**
 * Largest single notification ingest accepts, serialized. The alert route publishes carries the
 * notification plus its summary, and must still fit in one SNS message, so this leaves 64 KiB of
 * room. A larger notification cannot travel whole; ingest refuses the request (413) rather than
 * truncating an alert.
 */
export const MAX_NOTIFICATION_BYTES = 192 * 1024;

/**
 * The fields of the log line route writes for each record it hands back to the queue (unroutable,
 * or not accepted by the topic). Route reports those records as partial batch failures and never
 * throws, so Lambda's Errors metric never sees them: the stack counts these lines with a metric
 * filter on route's log group instead, and alarms on that count.
 */
export const FAILED_RECORD_LOG_FIELDS = { outcome: "failed" } as const;
