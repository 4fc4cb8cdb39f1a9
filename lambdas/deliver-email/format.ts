/**
 * The e-mail an alert becomes: a one-line subject, a plain-text body and the same content as
 * HTML. Every value copied from the notification is rendered inert for its part of the message
 * (lambdas/delivery/untrusted-text.ts): on one line in the subject (no header injection), without
 * control characters or live links in the text, escaped in the HTML. Only the relay's decision
 * adds the internal tag and notice, and only an http(s) console link becomes an `href`.
 */

import { type Alert, INTERNAL_ALERT_TAG } from "../contracts/alert.js";
import type { EmailSecret } from "../contracts/backend-secrets.js";
import {
  alertRef,
  applicationLabel,
  environmentLabel,
  internalNotice,
  ipsLabel,
  safeLink,
  scopeLabel,
  severityLabel,
  timeLabel,
  typeLabel,
} from "../delivery/format.js";
import {
  escapeHtml,
  type HumanChannel,
  render,
  untrusted,
  type Wording,
} from "../delivery/untrusted-text.js";
import { truncate } from "../runtime/text.js";

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
  const subject: Wording = [
    alert.internal ? `${INTERNAL_ALERT_TAG} ` : "",
    `[Sqreen][${severityLabel(alert.severity)}] `,
    untrusted(alert.title),
    scope ? [" — ", scope] : "",
  ];
  return truncate(render(subject, "email-subject"), MAX_SUBJECT_LENGTH);
}

/** The label/value lines of the summary table, rendered by each body for its channel. */
function facts(alert: Alert): [string, Wording][] {
  const rows: [string, Wording | null][] = [
    ["Severity", severityLabel(alert.severity)],
    ["Type", typeLabel(alert)],
    ["Application", applicationLabel(alert)],
    ["Environment", environmentLabel(alert)],
    ["IPs", ipsLabel(alert.ips, alert.ipsOmitted)],
    ["Occurred at", timeLabel(alert.occurredAt)],
    ["Received at", timeLabel(alert.receivedAt)],
    ["Alert ref", alertRef(alert)],
    ["Alert id", untrusted(alert.id)],
  ];
  return rows.filter((row): row is [string, Wording] => row[1] !== null);
}

/** The internal notice that opens both bodies: what happened to the relay's own application. */
function internalLines(alert: Alert): Wording {
  return [INTERNAL_ALERT_TAG, " ", internalNotice(alert), " Administrators are notified on every channel."];
}

/** The plain-text body. */
export function emailText(alert: Alert): string {
  const channel: HumanChannel = "email-text";
  const lines: string[] = [];
  if (alert.internal) lines.push(render(internalLines(alert), channel), "");
  lines.push(render(untrusted(alert.title), channel), "", render(untrusted(alert.text), channel), "");
  const rows = facts(alert);
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  for (const [label, value] of rows) lines.push(`${`${label}:`.padEnd(width)} ${render(value, channel)}`);
  const link = safeLink(alert.link);
  if (link) lines.push("", `Open in Sqreen: ${link}`);
  lines.push("", "-- ", "Sent by sqreen-relay.");
  return `${lines.join("\n")}\n`;
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
  const html = (wording: Wording) => render(wording, "email-html");
  const parts: string[] = [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family:Arial,Helvetica,sans-serif;color:#111827;">',
  ];
  if (alert.internal) {
    parts.push(
      `<p style="background:#7f1d1d;color:#ffffff;padding:8px;font-weight:bold;">${html(internalLines(alert))}</p>`,
    );
  }
  parts.push(
    `<h2 style="margin:0 0 8px 0;"><span style="color:${SEVERITY_COLOURS[alert.severity]};">[${html(severityLabel(alert.severity))}]</span> ${html(untrusted(alert.title))}</h2>`,
    `<p>${html(untrusted(alert.text))}</p>`,
    '<table style="border-collapse:collapse;">',
  );
  for (const [label, value] of facts(alert)) {
    parts.push(
      `<tr><th style="text-align:left;padding:2px 12px 2px 0;">${html(label)}</th><td style="padding:2px 0;">${html(value)}</td></tr>`,
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
