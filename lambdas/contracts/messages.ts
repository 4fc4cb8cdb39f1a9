/**
 * The wire contracts between the functions: what ingest puts on the queue, and what route
 * publishes on the topic. The CDK filter policies, the local pipeline and the integration tier all
 * read these names from here, so a rename cannot silently break routing.
 */

/** SQS message attributes ingest sets on every queued notification (all `String`). */
export const QUEUE_ATTRIBUTES = {
  /** `message_type` / `sqreen_payload_type`, or `unknown`. */
  notificationType: "notification_type",
  /** The stable event identity (docs/PROTOCOL.md), for downstream deduplication. */
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

/**
 * The backends whose sends are recorded for exactly-once delivery (lambdas/delivery/idempotency.ts):
 * every one but log, whose only effect is a line in its own log group. A log line written twice
 * for an alert delivered twice is harmless (both carry the alert id), and guarding it cost two
 * DynamoDB writes per alert; so deliver-log runs unguarded and has no access to the table.
 */
export const GUARDED_BACKENDS = ["email", "http", "sms", "slack"] as const satisfies readonly Backend[];
export type GuardedBackend = (typeof GUARDED_BACKENDS)[number];

/**
 * Largest message SQS and SNS accept (256 KiB), counting the body and every message attribute's
 * name, data type and value.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Most entries one SQS SendMessageBatch or SNS PublishBatch call takes. */
export const MAX_BATCH_ENTRIES = 10;

/**
 * A notification up to this size (serialized) always travels: the Alert route publishes is the
 * notification plus a summary that lambdas/contracts/normalize.ts bounds to well under the 64 KiB
 * left (test/unit/contracts/alert-size.test.ts checks the worst case). A larger one is accepted as
 * long as its queue message and its Alert, attributes included, each fit in MAX_MESSAGE_BYTES;
 * ingest refuses the others (413) rather than truncating an alert.
 */
export const NOTIFICATION_BYTES_ALWAYS_ACCEPTED = 192 * 1024;

/**
 * Longest message attribute value sent. Real values (types, environments, application ids, event
 * ids) are far shorter; this stops an absurd field from bloating every message and filter
 * evaluation, and bounds what an event identity may be before it is hashed (notification.ts).
 */
export const MAX_ATTRIBUTE_VALUE_LENGTH = 256;

/**
 * A value SQS and SNS accept as a `String` message attribute: attributeCharacters of it, and
 * nothing left (null, empty, blank) becomes `unknown`.
 */
export function attributeValue(
  value: string | null | undefined,
  maxLength: number = MAX_ATTRIBUTE_VALUE_LENGTH,
): string {
  if (typeof value !== "string") return UNKNOWN_ATTRIBUTE_VALUE;
  const result = attributeCharacters(value, maxLength);
  return result.trim().length > 0 ? result : UNKNOWN_ATTRIBUTE_VALUE;
}

/**
 * `value` with the characters outside the XML range SQS and SNS allow in attributes (control
 * characters, U+FFFE, U+FFFF, lone surrogates) replaced by U+FFFD, cut at `maxLength` UTF-16
 * units on a code point boundary.
 */
export function attributeCharacters(value: string, maxLength: number): string {
  if (value.length <= maxLength && isPrintableAscii(value)) return value;
  let result = "";
  for (const char of value) {
    const next = isAttributeCharacter(char) ? char : "\uFFFD";
    if (result.length + next.length > maxLength) break;
    result += next;
  }
  return result;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * True when `value` is printable ASCII only: valid everywhere SQS, SNS and JSON take text, one
 * byte a character. Far cheaper to test than the character-by-character checks it lets callers
 * skip for the ids and labels real notifications carry.
 */
export function isPrintableAscii(value: string): boolean {
  return PRINTABLE_ASCII.test(value);
}

/**
 * #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF, as the SQS and SNS APIs
 * document. `char` is one code point (a lone surrogate is one too, and is refused).
 */
function isAttributeCharacter(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    code >= 0x10000
  );
}

/**
 * A value as an SQS or SNS message body: its JSON, with U+FFFE and U+FFFF escaped. They are valid
 * in JSON and UTF-8 but SQS refuses messages containing them; escaped, the text parses back to
 * the same value. (JSON.stringify already escapes control characters and lone surrogates.)
 */
export function messageJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\uFFFE\uFFFF]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16)}`,
  );
}

/** Bytes SQS and SNS count for a message: its body plus each attribute's name, type and value. */
export function messageBytes(body: string, attributes: Readonly<Record<string, string>>): number {
  let bytes = Buffer.byteLength(body, "utf8");
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name, "utf8") + STRING_TYPE_BYTES + Buffer.byteLength(value, "utf8");
  }
  return bytes;
}

/** Every attribute is sent with data type `String`. */
const STRING_TYPE_BYTES = "String".length;

/**
 * The fields of the log line route writes for each record it hands back to the queue (unroutable,
 * or not accepted by the topic). Route reports those records as partial batch failures and never
 * throws, so Lambda's Errors metric never sees them: the stack counts these lines with a metric
 * filter on route's log group instead, and alarms on that count.
 */
export const FAILED_RECORD_LOG_FIELDS = { outcome: "failed" } as const;
