/**
 * The Slack message an alert becomes (Block Kit): a header with the severity emoji and title,
 * the key facts as fields, the text, a button to the Sqreen console, and the alert's reference
 * as context. Internal alerts (about the relay's own application) open with a `<!channel>`
 * banner saying what happened, and carry INTERNAL_ALERT_TAG in the fallback text and the header.
 *
 * Values copied from the notification go in `plain_text` objects with `emoji: false`, which
 * Slack never parses for mentions, links, formatting or `:emoji:` codes; they are made inert
 * besides (lambdas/delivery/untrusted-text.ts: defanged, no control characters, no spoofed tag) and
 * `&`, `<`, `>` escaped, as Slack asks of every text object. Only two texts are mrkdwn: the
 * fallback `text` (always mrkdwn for Slack) and the internal banner (`verbatim: true`, so Slack
 * adds no link of its own); untrusted values in them also have their formatting characters
 * replaced by look-alikes.
 */

import type {
  ActionsBlock,
  ContextBlock,
  HeaderBlock,
  MrkdwnElement,
  PlainTextElement,
  SectionBlock,
} from "@slack/types";
import { type Alert, INTERNAL_ALERT_TAG, type Severity } from "../contracts/alert.js";
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
import { render, untrusted, type Wording } from "../delivery/untrusted-text.js";
import { truncate } from "../runtime/text.js";

/** Block Kit as Slack's own types describe it (`@slack/types`, which `@slack/webhook` sends). */
export type PlainText = PlainTextElement;
export type Mrkdwn = MrkdwnElement;
export type TextObject = PlainText | Mrkdwn;
export type SlackBlock = HeaderBlock | SectionBlock | ActionsBlock | ContextBlock;

export interface SlackMessage {
  /** Fallback for notifications and clients that cannot show blocks; always set. */
  text: string;
  blocks: SlackBlock[];
}

/** Slack's limits: header text 150, section text 3000, field text 2000 characters. */
const MAX_HEADER = 150;
const MAX_SECTION = 3000;
const MAX_FIELD = 2000;

/** Unicode emoji rather than `:codes:`, so the header can be `emoji: false`. */
export const SEVERITY_EMOJI: Record<Severity, string> = {
  info: "ℹ️",
  low: "🔵",
  medium: "🟠",
  high: "🔴",
  critical: "🚨",
};

/** Cuts escaped Slack text to `max` characters, dropping an `&entity;` the cut would split. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : truncate(text, max).replace(/&[a-z]*…$/, "…");
}

/** A plain_text object of `wording`, cut to `max`: nothing in it is parsed by Slack. */
function plainText(wording: Wording, max: number): PlainText {
  return { type: "plain_text", text: cut(render(wording, "slack-plain"), max), emoji: false };
}

/** The fallback text: `[Sqreen] HIGH shop-api/production: title`, led by the mention and tag when internal. */
export function slackFallbackText(alert: Alert): string {
  const scope = scopeLabel(alert);
  const summary = render(
    [`[Sqreen] ${severityLabel(alert.severity)}`, scope ? [" ", scope] : "", ": ", untrusted(alert.title)],
    "slack-mrkdwn",
  );
  return alert.internal ? `<!channel> ${INTERNAL_ALERT_TAG} ${summary}` : summary;
}

/** The Block Kit message for one alert. */
export function formatSlackMessage(alert: Alert): SlackMessage {
  const blocks: SlackBlock[] = [];
  if (alert.internal) {
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `<!channel> 🚨 *${INTERNAL_ALERT_TAG}* ${render(internalNotice(alert), "slack-mrkdwn")}`,
        verbatim: true,
      },
    });
  }
  blocks.push({
    type: "header",
    text: plainText(
      [
        SEVERITY_EMOJI[alert.severity],
        " ",
        alert.internal ? `${INTERNAL_ALERT_TAG} ` : "",
        untrusted(alert.title),
      ],
      MAX_HEADER,
    ),
  });
  const facts: [string, Wording | null][] = [
    ["Severity", severityLabel(alert.severity)],
    ["Application", applicationLabel(alert) ?? "unknown"],
    ["Environment", environmentLabel(alert) ?? "unknown"],
    ["Type", typeLabel(alert)],
    ["IPs", ipsLabel(alert.ips, alert.ipsOmitted)],
  ];
  const fields = facts
    .filter((fact): fact is [string, Wording] => fact[1] !== null)
    .map(([label, value]) => plainText([label, ": ", value], MAX_FIELD));
  blocks.push({ type: "section", fields });
  const text = plainText(untrusted(alert.text), MAX_SECTION);
  // Slack refuses an empty text object.
  if (text.text.length > 0) blocks.push({ type: "section", text });
  const link = safeLink(alert.link);
  if (link) {
    blocks.push({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open in Sqreen" },
          url: link,
          ...(alert.internal || alert.severity === "critical" ? { style: "danger" as const } : {}),
        },
      ],
    });
  }
  const occurred = timeLabel(alert.occurredAt);
  blocks.push({
    type: "context",
    elements: [
      plainText(
        [
          `Ref ${alertRef(alert)} · alert id `,
          untrusted(alert.id),
          occurred ? [" · occurred ", occurred] : "",
        ],
        MAX_SECTION,
      ),
    ],
  });
  return { text: slackFallbackText(alert), blocks };
}
