/**
 * A digest (lambdas/digest/rules.ts: DigestSummary) as each human channel shows it: a Slack
 * Block Kit message, an e-mail (subject, text and HTML) and one SMS. Each states `N alerts` where
 * a person sees it first (the Slack fallback text, the e-mail subject, the SMS), then the highest
 * severity, the counts per severity and per category, the top IPs with their countries and
 * counts, the first and last time and the console links.
 *
 * Every value copied from a notification (application, environment, categories, IP addresses and
 * countries) goes through lambdas/delivery/untrusted-text.ts exactly as in the single-alert
 * formatters: no mention, link, markup or HTML in it acts. Digests never `<!channel>`: the first
 * alerts of the window went out alone (and pinged); the digest says how much followed.
 */

import { INTERNAL_ALERT_TAG } from "../contracts/alert.js";
import type { SlackMessage } from "../deliver-slack/format.js";
import { SEVERITY_EMOJI } from "../deliver-slack/format.js";
import { gsm7Length, SMS_INTERNAL_MARKER, SMS_MAX_LENGTH, toGsm7 } from "../deliver-sms/format.js";
import { humanTime, joinWording, kindLabel, safeLink, severityLabel } from "../delivery/format.js";
import { escapeHtml, render, shown, untrusted, type Wording } from "../delivery/untrusted-text.js";
import { truncate } from "../runtime/text.js";
import type { DigestSummary } from "./rules.js";
import { UNKNOWN_GROUP_PART } from "./rules.js";

/** `997 alerts` (`1 alert`): the number every channel states. */
export function alertCount(count: number): string {
  return `${count} ${count === 1 ? "alert" : "alerts"}`;
}

/** `shop-api/production`: the application (its name, else the group's id) and environment, untrusted. */
function scope(summary: DigestSummary): Wording {
  const part = (value: string): Wording =>
    value === UNKNOWN_GROUP_PART ? "unknown" : (shown(value) ?? "unknown");
  const application = shown(summary.applicationName) ?? part(summary.group.application);
  return [application, "/", part(summary.group.environment)];
}

/** `997 alerts (Security event, shop-api/production), highest HIGH`. */
function headline(summary: DigestSummary): Wording {
  return [
    `${alertCount(summary.count)} (${kindLabel(summary.group.kind)}, `,
    scope(summary),
    `), highest ${severityLabel(summary.highest)}`,
  ];
}

/** `CRITICAL 2, HIGH 10, LOW 985`. */
function severitiesLine(summary: DigestSummary): Wording {
  return summary.perSeverity.map(({ severity, count }) => `${severityLabel(severity)} ${count}`).join(", ");
}

/** `sql_injection 900, xss 97`, and how many more. */
function categoriesLine(summary: DigestSummary): Wording {
  const listed = joinWording(
    summary.categories.map(({ name, count }) => [untrusted(name), ` ${count}`]),
    ", ",
  );
  return summary.otherCategories > 0 ? [listed, `, others ${summary.otherCategories}`] : listed;
}

/** `198.51.100.23 (DEU) 500, 203.0.113.9 12`, and how many more distinct IPs. */
function ipsLine(summary: DigestSummary): Wording | null {
  if (summary.topIps.length === 0) return null;
  const listed = joinWording(
    summary.topIps.map(({ address, country, count }) => {
      const where = shown(country);
      return [untrusted(address), where ? [" (", where, ")"] : "", ` ×${count}`];
    }),
    ", ",
  );
  const more = summary.distinctIps - summary.topIps.length;
  return more > 0 ? [listed, ` and ${more} more`] : listed;
}

/** `2026-10-02 10:29 UTC to 2026-10-02 10:30 UTC` (the times as written when they are no ISO dates). */
function periodLine(summary: DigestSummary): Wording {
  const time = (iso: string): Wording => humanTime(iso) ?? shown(iso) ?? "unknown";
  return summary.first === summary.last
    ? time(summary.first)
    : [time(summary.first), " to ", time(summary.last)];
}

/** `3 sent alone earlier in the window`, or null. */
function aloneLine(summary: DigestSummary): string | null {
  return summary.sentAlone > 0 ? `${alertCount(summary.sentAlone)} of this window sent alone before` : null;
}

/** The digest's facts, label then value, for the e-mail and Slack. */
function facts(summary: DigestSummary): [string, Wording][] {
  const rows: [string, Wording | null][] = [
    ["Alerts", String(summary.count)],
    ["Highest severity", severityLabel(summary.highest)],
    ["Per severity", severitiesLine(summary)],
    ["Per category", categoriesLine(summary)],
    ["Top IPs", ipsLine(summary)],
    ["Period", periodLine(summary)],
    ["Sent alone", aloneLine(summary)],
  ];
  return rows.filter((row): row is [string, Wording] => row[1] !== null);
}

const tag = (summary: DigestSummary) => (summary.internal ? `${INTERNAL_ALERT_TAG} ` : "");

// Slack ---------------------------------------------------------------------------------------

const MAX_SLACK_HEADER = 150;
const MAX_SLACK_FIELD = 2000;

/** The Block Kit digest: a header, the facts as fields, a button per console link. */
export function slackDigest(summary: DigestSummary): SlackMessage {
  const plain = (wording: Wording, max: number) => ({
    type: "plain_text" as const,
    text: truncate(render(wording, "slack-plain"), max).replace(/&[a-z]*…$/, "…"),
    emoji: false,
  });
  const text = render(
    [`${tag(summary)}[Sqreen digest] ${severityLabel(summary.highest)} `, headline(summary)],
    "slack-mrkdwn",
  );
  const blocks: SlackMessage["blocks"] = [
    {
      type: "header",
      text: plain(
        [SEVERITY_EMOJI[summary.highest], " ", tag(summary), "Sqreen digest: ", headline(summary)],
        MAX_SLACK_HEADER,
      ),
    },
    {
      type: "section",
      fields: facts(summary).map(([label, value]) => plain([label, ": ", value], MAX_SLACK_FIELD)),
    },
  ];
  if (summary.links.length > 0) {
    blocks.push({
      type: "actions",
      elements: summary.links.map((link, index) => ({
        type: "button" as const,
        text: {
          type: "plain_text" as const,
          text: `Open in Sqreen${summary.links.length > 1 ? ` (${index + 1})` : ""}`,
        },
        url: link,
      })),
    });
  }
  return { text, blocks };
}

// E-mail --------------------------------------------------------------------------------------

const MAX_SUBJECT_LENGTH = 200;

/** `[Sqreen digest][HIGH] 997 alerts (Security event, shop-api/production), highest HIGH`. */
export function digestEmailSubject(summary: DigestSummary): string {
  return truncate(
    render(
      [tag(summary), `[Sqreen digest][${severityLabel(summary.highest)}] `, headline(summary)],
      "email-subject",
    ),
    MAX_SUBJECT_LENGTH,
  );
}

export function digestEmailText(summary: DigestSummary): string {
  const lines = [render([tag(summary), headline(summary)], "email-text"), ""];
  const rows = facts(summary);
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  for (const [label, value] of rows)
    lines.push(`${`${label}:`.padEnd(width)} ${render(value, "email-text")}`);
  for (const link of summary.links) lines.push("", `Open in Sqreen: ${link}`);
  lines.push("", "-- ", "Sent by sqreen-relay: a digest of the alerts held back in this window.");
  return `${lines.join("\n")}\n`;
}

export function digestEmailHtml(summary: DigestSummary): string {
  const html = (wording: Wording) => render(wording, "email-html");
  const parts = [
    "<!DOCTYPE html>",
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family:Arial,Helvetica,sans-serif;color:#111827;">',
    `<h2 style="margin:0 0 8px 0;">${html([tag(summary), headline(summary)])}</h2>`,
    '<table style="border-collapse:collapse;">',
  ];
  for (const [label, value] of facts(summary)) {
    parts.push(
      `<tr><th style="text-align:left;padding:2px 12px 2px 0;">${html(label)}</th><td style="padding:2px 0;">${html(value)}</td></tr>`,
    );
  }
  parts.push("</table>");
  for (const link of summary.links) {
    const safe = safeLink(link);
    if (safe) parts.push(`<p><a href="${escapeHtml(safe)}">Open in Sqreen</a></p>`);
  }
  parts.push(
    '<p style="color:#6b7280;font-size:12px;">Sent by sqreen-relay: a digest of the alerts held back in this window.</p>',
    "</body></html>",
  );
  return parts.join("\n");
}

export function digestEmail(summary: DigestSummary): { subject: string; text: string; html: string } {
  return {
    subject: digestEmailSubject(summary),
    text: digestEmailText(summary),
    html: digestEmailHtml(summary),
  };
}

// SMS -----------------------------------------------------------------------------------------

/**
 * One GSM-7 segment: `Sqreen digest 997 alerts HIGH+ shop-api/production Security event; 10:29-10:39 UTC; IP 198.51.100.23 x500`.
 * The count and severity lead and are never cut; the scope, then the IP, make room.
 */
export function digestSms(summary: DigestSummary): string {
  const gsm7 = (wording: Wording) => toGsm7(render(wording, "sms"));
  const head = `${summary.internal ? `${SMS_INTERNAL_MARKER} ` : ""}Sqreen digest ${alertCount(summary.count)}, highest ${severityLabel(summary.highest)}`;
  const what = [kindLabel(summary.group.kind), " ", gsm7(scope(summary))].join("");
  const first = humanTime(summary.first);
  const last = humanTime(summary.last);
  const period = first && last ? `${first.slice(11, 16)}-${last.slice(11, 16)} UTC` : null;
  const [top] = summary.topIps;
  const ip = top ? `IP ${gsm7(untrusted(top.address))} x${top.count}` : null;
  const parts = [head, what, period, ip].filter((part): part is string => part !== null);
  const text = parts.join("; ");
  if ((gsm7Length(text) ?? Number.POSITIVE_INFINITY) <= SMS_MAX_LENGTH) return text;
  // Too long (a long application name or IPv6 address): the head comes first and always fits.
  const characters = [...text];
  while ((gsm7Length(`${characters.join("").trimEnd()}...`) ?? 0) > SMS_MAX_LENGTH) characters.pop();
  return `${characters.join("").trimEnd()}...`;
}
