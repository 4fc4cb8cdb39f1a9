/**
 * The Slack message an alert becomes (Block Kit): a header with the severity emoji and title,
 * the key facts as fields, the text, a button to the Sqreen console, and the alert id as context.
 * Internal alerts (the relay itself under attack) open with a `<!channel>` mention and carry
 * INTERNAL_ALERT_TAG in the fallback text and the header.
 *
 * Every alert field placed in mrkdwn is escaped (`&`, `<`, `>`), so a title such as
 * `<!channel>` or `<https://evil|click>` shows as text instead of pinging or linking. Header and
 * button texts are plain_text, which Slack never parses for mentions or links.
 */
import { type Alert, INTERNAL_ALERT_TAG, type Severity } from "../contracts/alert.js";
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

export interface PlainText {
  type: "plain_text";
  text: string;
  emoji?: boolean;
}
export interface Mrkdwn {
  type: "mrkdwn";
  text: string;
}
export interface HeaderBlock {
  type: "header";
  text: PlainText;
}
export interface SectionBlock {
  type: "section";
  text?: Mrkdwn;
  fields?: Mrkdwn[];
}
export interface ActionsBlock {
  type: "actions";
  elements: { type: "button"; text: PlainText; url: string; style?: "primary" | "danger" }[];
}
export interface ContextBlock {
  type: "context";
  elements: Mrkdwn[];
}
export type SlackBlock = HeaderBlock | SectionBlock | ActionsBlock | ContextBlock;

export interface SlackMessage {
  /** Fallback for notifications and clients that cannot show blocks; always set. */
  text: string;
  blocks: SlackBlock[];
}

/**
 * Slack's limits: header text 150, section text 3000, field text 2000 characters. Values are cut
 * to half before escaping (which lengthens them), then the result is cut again as a last guard.
 */
const MAX_HEADER = 150;
const MAX_SECTION = 3000;
const MAX_FIELD = 2000;

export const SEVERITY_EMOJI: Record<Severity, string> = {
  info: ":information_source:",
  low: ":large_blue_circle:",
  medium: ":large_orange_circle:",
  high: ":red_circle:",
  critical: ":rotating_light:",
};

/** Escapes the three characters Slack mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function field(label: string, value: string): Mrkdwn {
  return {
    type: "mrkdwn",
    text: truncate(`*${label}*\n${escapeMrkdwn(truncate(value, MAX_FIELD / 2))}`, MAX_FIELD),
  };
}

/** The fallback text: `[Sqreen] HIGH shop-api/production: title`, led by the mention and tag when internal. */
export function slackFallbackText(alert: Alert): string {
  const scope = scopeLabel(alert);
  const summary = `[Sqreen] ${severityLabel(alert.severity)}${scope ? ` ${escapeMrkdwn(scope)}` : ""}: ${escapeMrkdwn(oneLine(alert.title))}`;
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
        text: `<!channel> :rotating_light: *${INTERNAL_ALERT_TAG}* The relay itself is under attack: this alert concerns one of its own Sqreen applications.`,
      },
    });
  }
  const tag = alert.internal ? `${INTERNAL_ALERT_TAG} ` : "";
  blocks.push({
    type: "header",
    text: {
      type: "plain_text",
      text: truncate(`${SEVERITY_EMOJI[alert.severity]} ${tag}${oneLine(alert.title)}`, MAX_HEADER),
      emoji: true,
    },
  });
  const fields = [
    field("Severity", severityLabel(alert.severity)),
    field("Application", applicationLabel(alert) ?? "unknown"),
    field("Environment", alert.environment ?? "unknown"),
    field("Type", `${kindLabel(alert.kind)} (${alert.sourceType})`),
  ];
  const ips = ipsLabel(alert);
  if (ips) fields.push(field("IPs", ips));
  blocks.push({ type: "section", fields });
  if (alert.text.trim().length > 0) {
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: truncate(escapeMrkdwn(truncate(alert.text, MAX_SECTION / 2)), MAX_SECTION),
      },
    });
  }
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
  const occurred = alert.occurredAt ? ` · occurred ${escapeMrkdwn(alert.occurredAt)}` : "";
  blocks.push({
    type: "context",
    elements: [{ type: "mrkdwn", text: `Alert id \`${escapeMrkdwn(alert.id)}\`${occurred}` }],
  });
  return { text: slackFallbackText(alert), blocks };
}
