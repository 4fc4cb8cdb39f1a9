/**
 * Sqreen notification (v1 or v2, any type) → one `Alert`. Pure and lenient: every field of a real
 * delivery may be missing, null or of another type, so nothing here throws for an object; a
 * field that cannot be read is simply left out of the summary. The notification itself travels
 * untouched in `original`.
 */

import stripAnsi from "strip-ansi";
import { humanTime, ipsLabel } from "../delivery/format.js";
import { plain } from "../delivery/untrusted-text.js";
import { RelayError } from "../runtime/errors.js";
import { truncate } from "../runtime/text.js";
import type { Alert, AlertIp, AlertKind, Severity } from "./alert.js";
import { isPrintableAscii } from "./messages.js";
import {
  apiVersionOf,
  applicationIdOf,
  bodyOf,
  eventIdentityOf,
  isV2,
  type JsonObject,
  notificationTypeOf,
} from "./notification.js";

/** The value handed to `normalizeNotification` was not a JSON object (an array, a string, null...). */
export class InvalidNotificationError extends RelayError {
  override name = "InvalidNotificationError";
}

export interface NormalizeContext {
  /** When the relay accepted the request that carried the notification (ISO 8601). */
  receivedAt: string;
  /** The relay's own Sqreen application ids: alerts about them are internal security alerts. */
  ownApplicationIds: ReadonlySet<string> | readonly string[];
}

/*
 * The summary is bounded, so that the Alert (summary + `original`) always fits in one SNS message
 * when the notification fits in NOTIFICATION_BYTES_ALWAYS_ACCEPTED (messages.ts), and so that a
 * human channel never gets a wall of text: every string copied from the notification is cut at
 * a length below, terminal escape sequences removed, other control characters made spaces, lone
 * surrogates, U+FFFE and U+FFFF replaced by U+FFFD (so each character costs at most 3 bytes of
 * JSON), and at most MAX_ALERT_IPS IPs are carried,
 * the others counted in `ipsOmitted`. The notification itself travels whole in `original`.
 * test/unit/contracts/alert-size.test.ts builds the worst case.
 */

/** Titles feed e-mail subjects, SMS and Slack headers: keep them short. */
export const MAX_TITLE_LENGTH = 200;
/** One paragraph; the full detail stays in `original`. */
export const MAX_TEXT_LENGTH = 2000;
/** Application id and name, environment, source type: real ones are a few dozen characters. */
export const MAX_FIELD_LENGTH = 256;
/** A console link longer than this is dropped (a cut link would be a broken one). */
export const MAX_LINK_LENGTH = 2048;
/** Sqreen's dates are ISO 8601, about 32 characters. */
const MAX_DATE_LENGTH = 64;
/** An IPv6 CIDR is at most 49 characters. */
const MAX_IP_ADDRESS_LENGTH = 64;
const MAX_CITY_LENGTH = 64;
/** Sqreen sends ISO 3166 alpha-3 codes. */
const MAX_COUNTRY_LENGTH = 16;
/**
 * IPs the Alert carries, in the notification's order; `ipsOmitted` counts the rest (an incident
 * may list thousands). Enough for a human to act on; HTTP receivers get them all in `original`.
 */
export const MAX_ALERT_IPS = 50;
/** IPs named in the text; the `ips` array keeps more. */
const MAX_IPS_IN_TEXT = 5;

/**
 * v2 incident types known by name. Any v2 message carrying `incident_thread` is an incident too,
 * so a new incident kind is recognised without a code change.
 */
const KNOWN_INCIDENT_TYPES: ReadonlySet<string> = new Set(["account_takeover", "http_scan"]);

/**
 * Severity of an alert, from its kind and (for security events) Sqreen's risk score.
 *
 * | Notification                                        | Condition                 | Severity   |
 * | --------------------------------------------------- | ------------------------- | ---------- |
 * | security event (v1 `risk`, v2 `risk_coefficient`)   | risk ≥ 90                 | `critical` |
 * |                                                     | 70 ≤ risk < 90            | `high`     |
 * |                                                     | 40 ≤ risk < 70            | `medium`   |
 * |                                                     | 0 ≤ risk < 40             | `low`      |
 * |                                                     | risk missing or invalid¹  | `medium`   |
 * | incident (v1 `pulse`, v2 `account_takeover`, ...)   | always                    | `high`     |
 * | security response (a playbook ran)                  | always                    | `medium`   |
 * | test ("test your configuration")                    | always                    | `info`     |
 * | any other type                                      | always                    | `medium`   |
 *
 * ¹ Invalid: not a number (a numeric string such as `"75"` is read as a number), not finite, or
 * outside 0-100.
 */
export function severityOf(kind: AlertKind, risk: unknown): Severity {
  switch (kind) {
    case "security_event":
      return severityOfRisk(risk);
    case "incident":
      return "high";
    case "security_response":
      return "medium";
    case "test":
      return "info";
    case "unknown":
      return "medium";
  }
}

/** Security-event severity from a 0-100 risk score; see {@link severityOf}. */
export function severityOfRisk(risk: unknown): Severity {
  const score = riskScore(risk);
  if (score === null) return "medium";
  if (score >= 90) return "critical";
  if (score >= 70) return "high";
  if (score >= 40) return "medium";
  return "low";
}

/**
 * Normalizes one Sqreen notification (v1 or v2, any type, known or not) into an `Alert`.
 *
 * Never throws for an object, whatever its fields hold; throws `InvalidNotificationError` for
 * anything else (array, string, number, null). Severity follows {@link severityOf}. `internal`
 * is true when the application id is one of `context.ownApplicationIds`, except for test
 * notifications, which carry no application id and are never internal.
 */
export function normalizeNotification(notification: unknown, context: NormalizeContext): Alert {
  if (!isObject(notification)) {
    throw new InvalidNotificationError(
      `A notification must be a JSON object, got ${Array.isArray(notification) ? "an array" : typeof notification === "object" ? "null" : typeof notification}`,
    );
  }
  const body = bodyOf(notification);
  const sourceType = notificationTypeOf(notification);
  const kind = kindOf(sourceType, body);
  const risk = riskOf(notification, body);
  // A blank id is no id (and must not become an SNS attribute value).
  const applicationId = applicationIdOf(notification)?.trim() || null;
  const application = isObject(body.application) ? body.application : {};
  const ips = ipsOf(body);
  const facts: Facts = {
    kind,
    sourceType: bounded(sourceType, MAX_FIELD_LENGTH) ?? sourceType,
    body,
    risk: riskScore(risk),
    applicationId: bounded(applicationId, MAX_FIELD_LENGTH),
    applicationName: bounded(text(body.application_name) ?? text(application.name), MAX_FIELD_LENGTH),
    environment: bounded(text(body.environment) ?? text(application.environment), MAX_FIELD_LENGTH),
    ips,
  };
  const own = context.ownApplicationIds;
  const ownIds: ReadonlySet<string> = own instanceof Set ? own : new Set(own);
  const title = titleOf(facts);
  const carried = ips.slice(0, MAX_ALERT_IPS);
  return {
    id: eventIdentityOf(notification),
    sourceType: facts.sourceType,
    kind,
    apiVersion: apiVersionOf(notification),
    severity: severityOf(kind, risk),
    title: truncate(title, MAX_TITLE_LENGTH),
    text: truncate(textOf(facts), MAX_TEXT_LENGTH),
    applicationId: facts.applicationId,
    applicationName: facts.applicationName,
    environment: facts.environment,
    link: linkOf(body),
    ips: carried,
    ipsOmitted: ips.length - carried.length,
    // Decided on the whole id, before it is bounded for display.
    internal: kind !== "test" && applicationId !== null && ownIds.has(applicationId),
    occurredAt: bounded(occurredAtOf(notification, body), MAX_DATE_LENGTH),
    receivedAt: context.receivedAt,
    original: notification,
  };
}

/** What the title and text are written from. */
interface Facts {
  kind: AlertKind;
  sourceType: string;
  body: JsonObject;
  risk: number | null;
  applicationId: string | null;
  applicationName: string | null;
  environment: string | null;
  ips: AlertIp[];
}

function kindOf(sourceType: string, body: JsonObject): AlertKind {
  if (sourceType === "security_event") return "security_event";
  if (sourceType === "security_response") return "security_response";
  if (sourceType === "test") return "test";
  if (sourceType === "pulse" || KNOWN_INCIDENT_TYPES.has(sourceType) || "incident_thread" in body) {
    return "incident";
  }
  return "unknown";
}

/** v2 calls it `risk_coefficient`, v1 `risk`; either is read from either, in that order. */
function riskOf(notification: JsonObject, body: JsonObject): unknown {
  return isV2(notification) ? (body.risk_coefficient ?? body.risk) : (body.risk ?? body.risk_coefficient);
}

function riskScore(risk: unknown): number | null {
  const score =
    typeof risk === "number" ? risk : typeof risk === "string" && risk.trim() !== "" ? Number(risk) : NaN;
  return Number.isFinite(score) && score >= 0 && score <= 100 ? score : null;
}

function titleOf(facts: Facts): string {
  const { body } = facts;
  switch (facts.kind) {
    case "security_event":
      return (
        text(body.humanized_description) ??
        `Security event: ${text(body.event_kind) ?? text(body.event_category) ?? "unspecified"}`
      );
    case "incident":
      return text(body.humanized_title) ?? `${capitalize(humanize(incidentGenre(facts)))} incident`;
    case "security_response": {
      const playbook = playbookName(body);
      return playbook ? `Security response: ${playbook}` : "Security response";
    }
    case "test":
      return "Sqreen test notification";
    case "unknown":
      return (
        text(body.humanized_title) ??
        text(body.humanized_description) ??
        `Sqreen notification: ${humanize(facts.sourceType)}`
      );
  }
}

function textOf(facts: Facts): string {
  const { body } = facts;
  const where = whereOf(facts, "on");
  const sentences: string[] = [];
  switch (facts.kind) {
    case "security_event": {
      const category = [text(body.event_category), text(body.event_kind)].filter(isString).join(" / ");
      const risk = facts.risk === null ? "" : `, risk ${facts.risk}/100`;
      sentences.push(`Sqreen reported a security event${category ? ` (${category})` : ""}${where}${risk}.`);
      sentences.push(text(body.humanized_description) ?? "");
      sentences.push(ipSentence("IPs", facts.ips));
      sentences.push(dateSentence("Occurred at", body.date_occurred));
      break;
    }
    case "incident": {
      const status = text(body.incident_status);
      sentences.push(
        `Sqreen detected an incident (${humanize(incidentGenre(facts))})${where}${status ? `, status ${status}` : ""}.`,
      );
      const humanizedTitle = text(body.humanized_title);
      if (humanizedTitle) sentences.push(humanizedTitle);
      // Only v1 pulses say whether Sqreen stopped the attack.
      if (body.blocked === true) sentences.push("Sqreen blocked it.");
      if (body.blocked === false) sentences.push("Sqreen did not block it.");
      const geos = text(body.humanized_geos);
      const ipCount = typeof body.ip_addresses_count === "number" ? body.ip_addresses_count : null;
      const seen = [
        geos ? `Seen from ${geos}` : null,
        ipCount === null ? null : `${ipCount} IP address${ipCount === 1 ? "" : "es"} involved`,
      ].filter(isString);
      if (seen.length > 0) sentences.push(`${capitalize(seen.join("; "))}.`);
      sentences.push(ipSentence("New related IPs", facts.ips));
      sentences.push(dateSentence("Started at", body.date_started));
      break;
    }
    case "security_response": {
      const playbook = playbookName(body);
      sentences.push(`Sqreen ran ${playbook ? `the playbook ${playbook}` : "a playbook"}${where}.`);
      sentences.push(ipSentence("Targeted IPs", facts.ips));
      const properties = isObject(body.properties) ? body.properties : {};
      // User identifiers are often e-mail addresses: count them, never copy them here.
      if (Array.isArray(properties.user_identifiers) && properties.user_identifiers.length > 0) {
        const count = properties.user_identifiers.length;
        sentences.push(`${count} user account${count === 1 ? "" : "s"} targeted.`);
      }
      break;
    }
    case "test":
      sentences.push(`Sqreen sent a test notification${whereOf(facts, "for")} to check this webhook.`);
      sentences.push("No action is needed.");
      break;
    case "unknown":
      sentences.push(
        `Sqreen sent a notification of a type the relay does not know (${facts.sourceType})${where}.`,
      );
      sentences.push(text(body.humanized_title) ?? "");
      sentences.push(text(body.humanized_description) ?? "");
      sentences.push(ipSentence("IPs", facts.ips));
      sentences.push(dateSentence("Occurred at", body.date_occurred));
      break;
  }
  return sentences
    .filter((sentence) => sentence.length > 0)
    .map(endSentence)
    .join(" ");
}

/** ` on shop-api in production`, ` on application 64b7…`, ` in staging`, or nothing. */
function whereOf(facts: Facts, preposition: "on" | "for"): string {
  const application =
    facts.applicationName ?? (facts.applicationId ? `application ${facts.applicationId}` : null);
  const environment = facts.environment ? ` in ${facts.environment}` : "";
  return `${application ? ` ${preposition} ${application}` : ""}${environment}`;
}

function incidentGenre(facts: Facts): string {
  return text(facts.body.pulse_genre) ?? (facts.sourceType === "pulse" ? "unspecified" : facts.sourceType);
}

/** v1 and v2 send `playbook: {id, name}`; a bare string is read as the name. */
function playbookName(body: JsonObject): string | null {
  const playbook = body.playbook;
  return isObject(playbook) ? text(playbook.name) : text(playbook);
}

/** The IPs as every channel shows them (ipsLabel), the first few only. */
function ipSentence(label: string, ips: readonly AlertIp[]): string {
  const named = ipsLabel(ips.slice(0, MAX_IPS_IN_TEXT));
  if (named === null) return "";
  const more = ips.length > MAX_IPS_IN_TEXT ? ` and ${ips.length - MAX_IPS_IN_TEXT} more` : "";
  return `${label}: ${plain(named)}${more}.`;
}

/** `Occurred at 2026-10-02 08:14 UTC.`: the text is for people (the ISO value is `occurredAt`). */
function dateSentence(label: string, value: unknown): string {
  const date = text(value);
  return date ? `${label} ${humanTime(date) ?? date}.` : "";
}

/**
 * `ips[]` (events, tests), `new_related_ips[]` (incidents) and `properties.ips[].ip_cidr`
 * (responses), in that order, each address once.
 */
function ipsOf(body: JsonObject): AlertIp[] {
  const properties = isObject(body.properties) ? body.properties : {};
  const candidates = [...arrayOf(body.ips), ...arrayOf(body.new_related_ips), ...arrayOf(properties.ips)];
  const seen = new Set<string>();
  const ips: AlertIp[] = [];
  for (const candidate of candidates) {
    if (!isObject(candidate)) continue;
    const address = text(candidate.address) ?? text(candidate.ip_cidr);
    if (!address || seen.has(address)) continue;
    seen.add(address);
    const geo = isObject(candidate.geo) ? candidate.geo : {};
    ips.push({
      address: truncate(address, MAX_IP_ADDRESS_LENGTH),
      isTor: typeof candidate.is_tor === "boolean" ? candidate.is_tor : null,
      country: bounded(text(geo.code), MAX_COUNTRY_LENGTH),
      city: bounded(text(geo.city), MAX_CITY_LENGTH),
    });
  }
  return ips;
}

/**
 * v2 events `event_url`, v1 events, pulses and tests `url`. Only http(s) links are kept: backends
 * render this as a clickable link, and a `javascript:` URL must never become one.
 */
function linkOf(body: JsonObject): string | null {
  for (const candidate of [body.event_url, body.url]) {
    const value = text(candidate);
    if (value && value.length <= MAX_LINK_LENGTH && /^https?:\/\/[^\s]+$/i.test(value) && URL.canParse(value))
      return value;
  }
  return null;
}

/**
 * The first date the notification gives for the event itself, else (v2) when Sqreen created the
 * notification. Kept verbatim: Sqreen's dates are ISO 8601 already.
 */
function occurredAtOf(notification: JsonObject, body: JsonObject): string | null {
  return (
    text(body.date_occurred) ??
    text(body.date_started) ??
    text(body.date_created) ??
    text(body.date_last_updated) ??
    text(notification.date_created)
  );
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isString(value: string | null): value is string {
  return value !== null;
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * A string with content, whitespace collapsed to single spaces (one paragraph), or null. What
 * no human channel can show and JSON would escape to six bytes is made readable (`readable`).
 */
function text(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const collapsed = readable(value).replace(/\s+/g, " ").trim();
  return collapsed.length > 0 ? collapsed : null;
}

/** U+FFFE, U+FFFF, and (in a `u` regex) lone surrogates only. */
const UNREADABLE = /[\uFFFE\uFFFF\uD800-\uDFFF]/gu;
const CONTROL = /\p{Cc}/gu;

/**
 * Terminal escape sequences removed whole, other control characters (NUL, NEL, ...) made spaces,
 * and what JSON cannot carry as UTF-8 (lone surrogates, U+FFFE, U+FFFF) made U+FFFD: text a person
 * can read, at most 3 bytes a character. Human channels still render it as untrusted text
 * (lambdas/delivery/untrusted-text.ts); `original` keeps the notification exactly.
 */
function readable(value: string): string {
  if (isPrintableAscii(value)) return value;
  return stripAnsi(value).replace(CONTROL, " ").replace(UNREADABLE, "\uFFFD");
}

/** `value` made readable and cut at `maxLength`, or null. */
function bounded(value: string | null, maxLength: number): string | null {
  return value === null ? null : truncate(readable(value), maxLength);
}

function humanize(type: string): string {
  return type.replace(/[_-]+/g, " ").trim() || type;
}

function capitalize(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}

function endSentence(sentence: string): string {
  return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
}
