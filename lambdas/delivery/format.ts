/**
 * Pieces of wording every backend shares, so an alert reads the same in a mailbox, on a phone
 * and in Slack. Pure functions of the Alert; each backend escapes for its own medium.
 */
import type { Alert, AlertIp, AlertKind, Severity } from "../contracts/alert.js";
import { maskEmail } from "../runtime/logger.js";

/** `high` → `HIGH`. */
export function severityLabel(severity: Severity): string {
  return severity.toUpperCase();
}

const KIND_LABELS: Record<AlertKind, string> = {
  security_event: "Security event",
  incident: "Incident",
  security_response: "Security response",
  test: "Test notification",
  unknown: "Notification",
};

/** `incident` → `Incident`: what kind of thing happened, for humans. */
export function kindLabel(kind: AlertKind): string {
  return KIND_LABELS[kind];
}

/** The application's name (or id, or null). */
export function applicationLabel(alert: Pick<Alert, "applicationName" | "applicationId">): string | null {
  return alert.applicationName ?? alert.applicationId;
}

/** `shop-api/production`, `shop-api`, `production`, or null when the alert names neither. */
export function scopeLabel(
  alert: Pick<Alert, "applicationName" | "applicationId" | "environment">,
): string | null {
  const parts = [applicationLabel(alert), alert.environment].filter(
    (part): part is string => part !== null && part.length > 0,
  );
  return parts.length > 0 ? parts.join("/") : null;
}

/** `198.51.100.23 (DEU, Berlin, Tor)`. */
export function ipLabel(ip: AlertIp): string {
  const facts = [ip.country, ip.city, ip.isTor ? "Tor" : null].filter(
    (fact): fact is string => fact !== null && fact.length > 0,
  );
  return facts.length > 0 ? `${ip.address} (${facts.join(", ")})` : ip.address;
}

/**
 * Every IP the alert carries on one line, then how many more the notification named (the Alert
 * carries the first ones only), or null when there is none.
 */
export function ipsLabel(alert: Pick<Alert, "ips" | "ipsOmitted">): string | null {
  if (alert.ips.length === 0) return null;
  const more = alert.ipsOmitted > 0 ? ` and ${alert.ipsOmitted} more` : "";
  return `${alert.ips.map(ipLabel).join(", ")}${more}`;
}

/**
 * The console link if it is an http(s) URL, else null: an alert field ends up in an `href` and a
 * Slack button, where a `javascript:` URL would be an attack, not a link.
 */
export function safeLink(link: string | null): string | null {
  if (link === null) return null;
  try {
    const url = new URL(link);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

const EMAIL_PATTERN = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** Masks every e-mail address inside free text (Sqreen descriptions quote attacked accounts). */
export function maskEmailsIn(text: string): string {
  return text.replace(EMAIL_PATTERN, (address) => maskEmail(address));
}

/** Cuts `text` to at most `max` characters, ending with `ellipsis` when it had to cut. */
export function truncate(text: string, max: number, ellipsis = "…"): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - ellipsis.length)).trimEnd()}${ellipsis}`;
}

/** Collapses line breaks and runs of blanks: for one-line contexts (subjects, SMS, headers). */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
