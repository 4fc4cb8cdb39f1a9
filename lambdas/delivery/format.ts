/**
 * Pieces of wording every backend shares, so an alert reads the same in a mailbox, on a phone
 * and in Slack: the same labels, one rendering of IPs and times, the same internal notice.
 * Each returns Wording (lambdas/delivery/untrusted-text.ts): the relay's words as strings, values
 * copied from the notification marked untrusted, for each backend to render for its medium.
 */
import { createHash } from "node:crypto";
import type { Alert, AlertIp, AlertKind, Severity } from "../contracts/alert.js";
import { shown, untrusted, type Wording } from "./untrusted-text.js";

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

/** `Security event (security_event)`: the kind, and Sqreen's own type name. */
export function typeLabel(alert: Pick<Alert, "kind" | "sourceType">): Wording {
  return [kindLabel(alert.kind), " (", untrusted(alert.sourceType), ")"];
}

/** The application's name, else its id, else null. */
export function applicationLabel(alert: Pick<Alert, "applicationName" | "applicationId">): Wording | null {
  return shown(alert.applicationName) ?? shown(alert.applicationId);
}

/** The environment, or null. */
export function environmentLabel(alert: Pick<Alert, "environment">): Wording | null {
  return shown(alert.environment);
}

/** `shop-api/production`, `shop-api`, `production`, or null when the alert names neither. */
export function scopeLabel(
  alert: Pick<Alert, "applicationName" | "applicationId" | "environment">,
): Wording | null {
  const application = applicationLabel(alert);
  const environment = environmentLabel(alert);
  if (application && environment) return [application, "/", environment];
  return application ?? environment;
}

/**
 * `203.0.113.77 (Tor, Amsterdam, NLD)`: the one rendering of an IP, in every channel and in the
 * alert's text. Tor first (it changes what an operator does), then city and country.
 */
export function ipLabel(ip: AlertIp): Wording {
  const facts: Wording[] = [];
  if (ip.isTor) facts.push("Tor");
  const city = shown(ip.city);
  const country = shown(ip.country);
  if (city) facts.push(city);
  if (country) facts.push(country);
  if (facts.length === 0) return untrusted(ip.address);
  return [untrusted(ip.address), " (", joinWording(facts, ", "), ")"];
}

/**
 * Every IP given, in the alert's order, then how many more the notification named (`omitted`:
 * the Alert carries the first ones only), or null when there is none.
 */
export function ipsLabel(ips: readonly AlertIp[], omitted = 0): Wording | null {
  if (ips.length === 0) return null;
  const listed = joinWording(ips.map(ipLabel), ", ");
  return omitted > 0 ? [listed, ` and ${omitted} more`] : listed;
}

/** `parts` with `separator` between each two. */
export function joinWording(parts: readonly Wording[], separator: string): Wording {
  return parts.flatMap((part, index) => (index === 0 ? [part] : [separator, part]));
}

/** An ISO 8601 date-time with at least minutes, as Sqreen and the relay write them. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/**
 * `2026-10-02 10:29 UTC`: how people are shown a time (machine channels keep ISO 8601). Null
 * for a value that is not an ISO date-time.
 */
export function humanTime(iso: string | null): string | null {
  if (iso === null || !ISO_DATE_TIME.test(iso)) return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A time for people: `humanTime`, or the value as the notification wrote it when it is not ISO. */
export function timeLabel(value: string | null): Wording | null {
  return humanTime(value) ?? shown(value);
}

/**
 * A short reference to the alert (`3f2a9c1b`): the first 8 hex digits of the SHA-256 of its id.
 * Every channel shows it and the log line carries it as `alertRef`, so an SMS read at night leads
 * to the e-mail, the Slack message and the logs of the same alert. A hash rather than a prefix:
 * Sqreen ids start with a timestamp, so the alerts of one burst share their first characters.
 */
export function alertRef(alert: Pick<Alert, "id">): string {
  return createHash("sha256").update(alert.id).digest("hex").slice(0, 8);
}

/**
 * What happened, in a few words: the kind, then the title (`Security event: Attack tentative from
 * 198.51.100.23`); the title alone when it already says the kind (`Account takeover incident`).
 */
export function whatHappened(alert: Pick<Alert, "kind" | "title">): Wording {
  const kind = kindLabel(alert.kind);
  const title = shown(alert.title);
  if (title === null) return kind;
  if (alert.title.toLowerCase().includes(kind.toLowerCase())) return title;
  return [kind, ": ", title];
}

/**
 * What happened to the relay's own application, for the banner of an internal alert:
 * attacked, an incident, a playbook that ran. Only the relay's internal decision shows it.
 */
export function internalNotice(
  alert: Pick<Alert, "kind" | "applicationName" | "applicationId" | "environment">,
): Wording {
  const name = applicationLabel(alert);
  const environment = environmentLabel(alert);
  const application: Wording = [
    name ? ["the relay's own application ", name] : "one of the relay's own applications",
    environment ? [" (", environment, ")"] : "",
  ];
  switch (alert.kind) {
    case "security_event":
      return ["Sqreen reported an attack on ", application, "."];
    case "incident":
      return ["Sqreen opened an incident on ", application, "."];
    case "security_response":
      return ["Sqreen ran a playbook to protect ", application, "."];
    default:
      return ["Sqreen sent a notification about ", application, "."];
  }
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
