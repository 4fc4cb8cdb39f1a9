/**
 * The e-mail an alert becomes: a one-line subject, a plain-text body and the same content as
 * HTML. Every alert field is escaped in the HTML (Sqreen titles quote attack payloads such as
 * `<script>`), and only http(s) links become `href`s.
 */
import { type Alert, INTERNAL_ALERT_TAG } from "../contracts/alert.js";
import type { EmailSecret } from "../contracts/backend-secrets.js";
import {
  applicationLabel,
  ipsLabel,
  kindLabel,
  oneLine,
  safeLink,
  scopeLabel,
  severityLabel,
  truncate,
} from "../delivery/format.js";

export interface FormattedEmail {
  subject: string;
  text: string;
  html: string;
}

/** Subjects stay well under the 998-character header limit and readable in a mail list. */
const MAX_SUBJECT_LENGTH = 200;

/** `[Sqreen][HIGH] Attack tentative from 198.51.100.23 — shop-api/production`, tagged when internal. */
export function emailSubject(alert: Alert): string {
  const scope = scopeLabel(alert);
  const tag = alert.internal ? `${INTERNAL_ALERT_TAG} ` : "";
  // oneLine: a line break in a title must not end the header (header injection).
  const subject = `${tag}[Sqreen][${severityLabel(alert.severity)}] ${oneLine(alert.title)}${scope ? ` — ${scope}` : ""}`;
  return truncate(oneLine(subject), MAX_SUBJECT_LENGTH);
}

/** The label/value lines of the summary table; values are raw (escaped by each renderer). */
function facts(alert: Alert): [string, string][] {
  const rows: [string, string | null][] = [
    ["Severity", severityLabel(alert.severity)],
    ["Type", `${kindLabel(alert.kind)} (${alert.sourceType})`],
    ["Application", applicationLabel(alert)],
    ["Environment", alert.environment],
    ["IPs", ipsLabel(alert)],
    ["Occurred at", alert.occurredAt],
    ["Received at", alert.receivedAt],
    ["Alert id", alert.id],
  ];
  return rows.filter((row): row is [string, string] => row[1] !== null && row[1].length > 0);
}

const INTERNAL_NOTICE =
  "The relay itself is under attack: this alert concerns one of its own Sqreen applications. Administrators are notified on every channel.";

/** The plain-text body. */
export function emailText(alert: Alert): string {
  const lines: string[] = [];
  if (alert.internal) lines.push(`${INTERNAL_ALERT_TAG} ${INTERNAL_NOTICE}`, "");
  lines.push(alert.title, "", alert.text, "");
  const rows = facts(alert);
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  for (const [label, value] of rows) lines.push(`${`${label}:`.padEnd(width)} ${value}`);
  const link = safeLink(alert.link);
  if (link) lines.push("", `Open in Sqreen: ${link}`);
  lines.push("", "-- ", "Sent by sqreen-relay.");
  return `${lines.join("\n")}\n`;
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const SEVERITY_COLOURS: Record<Alert["severity"], string> = {
  info: "#6b7280",
  low: "#2563eb",
  medium: "#d97706",
  high: "#dc2626",
  critical: "#7f1d1d",
};

/** The HTML body: inline styles only, as mail clients drop style sheets. */
export function emailHtml(alert: Alert): string {
  const parts: string[] = [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family:Arial,Helvetica,sans-serif;color:#111827;">',
  ];
  if (alert.internal) {
    parts.push(
      `<p style="background:#7f1d1d;color:#ffffff;padding:8px;font-weight:bold;">${escapeHtml(INTERNAL_ALERT_TAG)} ${escapeHtml(INTERNAL_NOTICE)}</p>`,
    );
  }
  parts.push(
    `<h2 style="margin:0 0 8px 0;"><span style="color:${SEVERITY_COLOURS[alert.severity]};">[${escapeHtml(severityLabel(alert.severity))}]</span> ${escapeHtml(alert.title)}</h2>`,
    `<p style="white-space:pre-wrap;">${escapeHtml(alert.text)}</p>`,
    '<table style="border-collapse:collapse;">',
  );
  for (const [label, value] of facts(alert)) {
    parts.push(
      `<tr><th style="text-align:left;padding:2px 12px 2px 0;">${escapeHtml(label)}</th><td style="padding:2px 0;">${escapeHtml(value)}</td></tr>`,
    );
  }
  parts.push("</table>");
  const link = safeLink(alert.link);
  if (link) parts.push(`<p><a href="${escapeHtml(link)}">Open in Sqreen</a></p>`);
  parts.push('<p style="color:#6b7280;font-size:12px;">Sent by sqreen-relay.</p>', "</body></html>");
  return parts.join("\n");
}

/** Subject, text and HTML of the alert's e-mail. */
export function formatEmail(alert: Alert): FormattedEmail {
  return { subject: emailSubject(alert), text: emailText(alert), html: emailHtml(alert) };
}

/**
 * Who receives the alert: `to` always, `adminTo` too for internal alerts; deduplicated ignoring
 * case (an administrator listed in both gets one message), in configuration order.
 */
export function emailRecipients(alert: Pick<Alert, "internal">, secret: EmailSecret): string[] {
  const all = alert.internal ? [...secret.to, ...secret.adminTo] : secret.to;
  const seen = new Set<string>();
  return all.filter((address) => {
    const key = address.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
