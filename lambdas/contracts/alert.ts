/**
 * The one shape every Sqreen notification is normalized into by the route function, and the body
 * of every message on the alerts topic. Backends format it for humans; they never look at the
 * Sqreen wire format except through `original`, which they may forward untouched.
 */

/** Ordered from least to most urgent; the order is the one filters compare with. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The family a notification belongs to, whatever its API version. */
export const ALERT_KINDS = ["security_event", "incident", "security_response", "test", "unknown"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface AlertIp {
  address: string;
  isTor: boolean | null;
  /** ISO 3166 alpha-3 code as Sqreen sends it, or null. */
  country: string | null;
  city: string | null;
}

export interface Alert {
  /** Stable event identity (PROTOCOL.md): the same event resent by Sqreen keeps the same id. */
  id: string;
  /** `message_type` (v2) or `sqreen_payload_type` (v1), verbatim: `security_event`, `pulse`, `account_takeover`... */
  sourceType: string;
  kind: AlertKind;
  apiVersion: "1" | "2";
  severity: Severity;
  title: string;
  /** One paragraph of plain text a human can act on. */
  text: string;
  applicationId: string | null;
  applicationName: string | null;
  environment: string | null;
  /** Link to the Sqreen console, when the notification carries one. */
  link: string | null;
  /** The first IPs the notification names (at most MAX_ALERT_IPS of normalize.ts), each once. */
  ips: AlertIp[];
  /** IPs the notification names beyond `ips` (0 when it carries them all); `original` has them. */
  ipsOmitted: number;
  /** True when the application id is one of the relay's own: the relay itself is under attack. */
  internal: boolean;
  /** When Sqreen says the event happened (ISO 8601), or null. */
  occurredAt: string | null;
  /** When the relay accepted the request that carried it (ISO 8601). */
  receivedAt: string;
  /** The notification exactly as parsed from the request, for backends that forward it. */
  original: unknown;
}

/** The tag every log line about an internal alert carries (PROTOCOL.md). */
export const INTERNAL_ALERT_TAG = "[INTERNAL SECURITY ALERT]";

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** Severities at or above `minimum`, in order. */
export function severitiesAtLeast(minimum: Severity): Severity[] {
  return SEVERITIES.slice(severityRank(minimum));
}
