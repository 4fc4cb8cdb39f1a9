/**
 * The one shape every Sqreen notification is normalized into by the route function, and the body
 * of every message on the alerts topic. Backends format it for humans; they never look at the
 * Sqreen wire format except through `original`, which they may forward untouched.
 */
import * as z from "../runtime/schema.js";

/** Ordered from least to most urgent; the order is the one filters compare with. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The family a notification belongs to, whatever its API version. */
export const ALERT_KINDS = ["security_event", "incident", "security_response", "test", "unknown"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** A string or null, null when absent: the descriptive fields an older or newer publisher may omit. */
const nullableString = () => z._default(z.nullable(z.string()), null);

/**
 * `value` when it is one of ALERT_KINDS, else `unknown`. What `z.catch` would do, written out:
 * zod/mini's catch reaches its helpers through a nested namespace, which keeps all of zod's
 * util module (about 10 KB) in every bundle that validates an alert.
 */
function alertKindOf(value: unknown): AlertKind {
  return (ALERT_KINDS as readonly unknown[]).includes(value) ? (value as AlertKind) : "unknown";
}

const alertIpSchema = z.object({
  address: z.string(),
  isTor: z._default(z.nullable(z.boolean()), null),
  /** ISO 3166 alpha-3 code as Sqreen sends it, or null. */
  country: nullableString(),
  city: nullableString(),
});

/**
 * The Alert, and its validation as it travels on the topic. The route function builds it, so
 * validation is a guard against garbage, not a negotiation: identity and the fields every backend
 * formats are required, the descriptive ones default to null so an older or newer publisher still
 * gets through.
 */
export const alertSchema = z.object({
  /** Stable event identity (docs/PROTOCOL.md): the same event resent by Sqreen keeps the same id. */
  id: z.string().check(z.minLength(1)),
  /** `message_type` (v2) or `sqreen_payload_type` (v1), verbatim: `security_event`, `pulse`, `account_takeover`... */
  sourceType: z.string().check(z.minLength(1)),
  /** A kind this version does not know (a newer publisher's), or none, reads as `unknown`. */
  kind: z.pipe(z.optional(z.unknown()), z.transform(alertKindOf)),
  apiVersion: z.enum(["1", "2"]),
  severity: z.enum(SEVERITIES),
  title: z.string(),
  /** One paragraph of plain text a human can act on. */
  text: z.string(),
  applicationId: nullableString(),
  applicationName: nullableString(),
  environment: nullableString(),
  /** Link to the Sqreen console, when the notification carries one. */
  link: nullableString(),
  /** The first IPs the notification names (at most MAX_ALERT_IPS of normalize.ts), each once. */
  ips: z._default(z.array(alertIpSchema), []),
  /** IPs the notification names beyond `ips` (0 when it carries them all); `original` has them. */
  ipsOmitted: z._default(z.int().check(z.nonnegative()), 0),
  /** True when the application id is one of the relay's own: the relay itself is under attack. */
  internal: z.boolean(),
  /** When Sqreen says the event happened (ISO 8601), or null. */
  occurredAt: nullableString(),
  /** When the relay accepted the request that carried it (ISO 8601). */
  receivedAt: z.string(),
  /** The notification exactly as parsed from the request, for backends that forward it. */
  original: z.unknown(),
});

export type AlertIp = z.infer<typeof alertIpSchema>;
export type Alert = z.infer<typeof alertSchema>;

/** The tag every log line about an internal alert carries (docs/PROTOCOL.md). */
export const INTERNAL_ALERT_TAG = "[INTERNAL SECURITY ALERT]";

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Severities at or above `minimum`, in order. */
export function severitiesAtLeast(minimum: Severity): Severity[] {
  return SEVERITIES.slice(severityRank(minimum));
}
