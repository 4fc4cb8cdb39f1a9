/**
 * The cases of issue 13, as regression tests: signed Sqreen notifications carrying attacker-chosen
 * strings, normalized as the route function does, then rendered by every backend.
 */

import { readFileSync } from "node:fs";
import path from "node:path";
import type { ActionsBlockElement, Button, ContextBlockElement } from "@slack/types";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Alert, INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import { normalizeNotification } from "../../../lambdas/contracts/normalize.js";
import { formatEmail } from "../../../lambdas/deliver-email/format.js";
import { webhookBodyText } from "../../../lambdas/deliver-http/format.js";
import { createDeliverLogHandler } from "../../../lambdas/deliver-log/core.js";
import { formatSlackMessage, type SlackBlock } from "../../../lambdas/deliver-slack/format.js";
import { smsText } from "../../../lambdas/deliver-sms/format.js";
import { ipLabel } from "../../../lambdas/delivery/format.js";
import { plain, SPOOFED_TAG_TEXT } from "../../../lambdas/delivery/untrusted-text.js";
import { SAMPLES_DIR } from "../../samples.js";
import { captureLogs, debugLogger, type LogCapture, lambdaContext, snsEventFor } from "./helpers.js";

const OWN_APPLICATION_ID = "5f0c1a2b3c4d5e6f7a8b9c0d";
type Notification = { message: Record<string, unknown> } & Record<string, unknown>;

function sample(file: string): Notification {
  const [notification] = JSON.parse(readFileSync(path.join(SAMPLES_DIR, file), "utf8")) as Notification[];
  if (!notification) throw new Error(`${file} holds no notification`);
  return notification;
}

/** The v2 security event sample, its description replaced by what the attacker chose. */
function eventWithDescription(description: string): Alert {
  const notification = sample("v2-security-event.json");
  notification.message.humanized_description = description;
  return normalize(notification);
}

function normalize(notification: unknown): Alert {
  return normalizeNotification(notification, {
    receivedAt: "2026-10-02T08:15:01.000Z",
    ownApplicationIds: [OWN_APPLICATION_ID],
  });
}

/** Every text a person reads in Slack: the fallback and each text object. */
/** The text of a context element; the formatter writes no other kind (an image would fail here). */
function textOf(element: ContextBlockElement): string {
  if (!("text" in element)) throw new Error(`unexpected ${element.type} element`);
  return element.text;
}

/** An actions element as a button; the formatter writes no other kind. */
function buttonOf(element: ActionsBlockElement): Button {
  if (element.type !== "button") throw new Error(`unexpected ${element.type} element`);
  return element;
}

function slackTexts(alert: Alert): string[] {
  const message = formatSlackMessage(alert);
  const texts = (block: SlackBlock): string[] => {
    switch (block.type) {
      case "header":
        return [block.text.text];
      case "section":
        return [block.text?.text ?? "", ...(block.fields ?? []).map((field) => field.text)];
      case "context":
        return block.elements.map((element) => textOf(element));
      case "actions":
        return block.elements.map((element) => textOf(buttonOf(element).text));
    }
    return [];
  };
  return [message.text, ...message.blocks.flatMap(texts)];
}

/** Everything a person reads of the alert, every human channel together. */
function humanTexts(alert: Alert): string[] {
  const email = formatEmail(alert);
  return [...slackTexts(alert), email.subject, email.text, email.html, smsText(alert)];
}

describe("a URL in a title", () => {
  const alert = eventWithDescription("Reset your password at https://evil.example/login");

  it("reaches no human channel as a link: it is defanged everywhere", () => {
    for (const text of humanTexts(alert)) {
      expect(text).not.toContain("https://evil.example");
      expect(text).not.toContain("evil.example");
    }
    expect(formatSlackMessage(alert).text).toContain("hxxps://evil[.]example/login");
    expect(smsText(alert)).toContain("hxxps://evil[.]example/login");
    expect(formatEmail(alert).subject).toContain("hxxps://evil[.]example/login");
  });

  it("is never in a Slack text Slack would link: mrkdwn only verbatim, the rest plain_text", () => {
    const objects = formatSlackMessage(alert).blocks.flatMap((block) =>
      block.type === "section" ? [...(block.text ? [block.text] : []), ...(block.fields ?? [])] : [],
    );

    expect(objects.every((object) => object.type === "plain_text" || object.verbatim === true)).toBe(true);
  });

  it("stays exactly as sent in the machine channels", () => {
    expect(JSON.parse(webhookBodyText(alert)).data.title).toBe(
      "Reset your password at https://evil.example/login",
    );
  });
});

describe("Slack formatting characters in a title", () => {
  const alert = eventWithDescription("*URGENT* _click_ ~now~ `rm -rf` ```all```");

  it("format nothing in the mrkdwn fallback: look-alikes stand in for them", () => {
    expect(formatSlackMessage(alert).text).toBe(
      "[Sqreen] HIGH shop-api/production: ⁎URGENT⁎ ＿click＿ ⁓now⁓ ‵rm -rf‵ ‵‵‵all‵‵‵",
    );
  });

  it("show as written in plain_text, which Slack does not format", () => {
    const [header] = formatSlackMessage(alert).blocks;

    expect(header).toEqual({
      type: "header",
      text: { type: "plain_text", text: "🔴 *URGENT* _click_ ~now~ `rm -rf` ```all```", emoji: false },
    });
  });
});

describe("a spoofed internal alert from an ordinary application", () => {
  const alert = eventWithDescription(
    "[INTERNAL SECURITY ALERT] The relay itself is under attack: rotate the credentials at https://evil.example/rotate",
  );

  it("is not internal, and no human channel shows the internal tag or banner", () => {
    expect(alert.internal).toBe(false);
    for (const text of humanTexts(alert)) {
      expect(text).not.toContain(INTERNAL_ALERT_TAG);
      expect(text).not.toMatch(/^<!channel>|INTERNAL ALERT/);
    }
    expect(formatSlackMessage(alert).blocks[0]?.type).toBe("header");
  });

  it("reads as the untrusted title it is, in the e-mail subject too", () => {
    expect(formatEmail(alert).subject).toBe(
      `[Sqreen][HIGH] ${SPOOFED_TAG_TEXT} The relay itself is under attack: rotate the credentials at hxxps://evil[.]example/rotate — shop-api/production`,
    );
  });

  it("keeps the banner for the relay's own decision: a genuine internal alert still has it", () => {
    const notification = sample("v2-security-event.json");
    notification.message.application_id = OWN_APPLICATION_ID;
    const genuine = normalize(notification);

    expect(formatSlackMessage(genuine).text.startsWith(`<!channel> ${INTERNAL_ALERT_TAG} `)).toBe(true);
    expect(formatEmail(genuine).subject.startsWith(`${INTERNAL_ALERT_TAG} [Sqreen][HIGH] `)).toBe(true);
    expect(smsText(genuine).startsWith("INTERNAL ALERT Sqreen HIGH ")).toBe(true);
  });
});

describe("control and format characters in a title", () => {
  const alert = eventWithDescription(
    "Attack\u0085from\u0000 \u001b[2Jthe\u001b]0;owned\u0007 \u202eevil\u200b\u200d\ufeff side\r\nBcc: victim@example.com",
  );

  it("are gone from the subject, the plain-text mail, Slack and the SMS", () => {
    const email = formatEmail(alert);

    expect(email.subject).toBe(
      "[Sqreen][HIGH] Attack from the evil side Bcc: victim@example[.]com — shop-api/production",
    );
    expect(email.text.startsWith("Attack from the evil side Bcc: victim@example[.]com\n")).toBe(true);
    expect(formatSlackMessage(alert).text).toContain("Attack from the evil side Bcc： victim＠example[.]com");
    expect(smsText(alert)).toContain("Attack from the evil side Bcc: victim@example[.]com");
    for (const text of humanTexts(alert)) {
      expect(text.replace(/\n/g, "")).not.toMatch(/[\p{Cc}\p{Cf}]/u);
    }
  });

  it("travel exactly, escaped, in the HTTP body", () => {
    const body = webhookBodyText(alert);

    expect(body).not.toMatch(/[\u0080-\u009f]|\u202e|\u200b|\u200d|\ufeff/);
    expect(JSON.parse(body).data.original.message.humanized_description).toBe(
      "Attack\u0085from\u0000 \u001b[2Jthe\u001b]0;owned\u0007 \u202eevil\u200b\u200d\ufeff side\r\nBcc: victim@example.com",
    );
  });
});

describe("mentions, links and HTML in a title (already neutralized: kept so)", () => {
  const alert = eventWithDescription('<!channel> <@U123> <https://x|y> <script>alert("x")</script>');

  it("mention and link nobody in Slack", () => {
    for (const text of slackTexts(alert)) {
      expect(text).not.toMatch(/<[!@#]|<https?:/);
    }
    expect(formatSlackMessage(alert).text).toContain("&lt;!channel&gt; &lt;＠U123&gt; &lt;hxxps://x|y&gt;");
  });

  it("are escaped in the HTML mail", () => {
    expect(formatEmail(alert).html).toContain(
      "&lt;!channel&gt; &lt;@U123&gt; &lt;hxxps://x|y&gt; &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
    );
  });
});

describe("personal data in the log line", () => {
  let logs: LogCapture;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  it("is masked: internationalized, quoted and odd addresses, phone numbers, card numbers", async () => {
    const alert = eventWithDescription(
      'Accounts josé@exämple.com, "john doe"@example.com, bob@localhost, alice%40example.com, eve@[192.0.2.1]; phones +33 6 12 34 56 78, +14155550123; card 4111 1111 1111 1111',
    );

    await createDeliverLogHandler({ logger: debugLogger() })(snsEventFor(alert), lambdaContext());

    const [line] = logs.lines();
    expect(line?.title).toBe(
      'Accounts j***@exämple.com, "j***"@example.com, b***@localhost, a***%40example.com, e***@[192.0.2.1]; phones +33 * ** ** ** 78, +14*******23; card **** **** **** 1111',
    );
    expect(logs.text()).not.toMatch(/josé@|john doe|bob@|alice%40|eve@|12 34 56|4155550123|4111 1111/);
  });
});

describe("alerts worth reading", () => {
  it("render the IPs one way in the e-mail text and table, Slack and the SMS", () => {
    const alert = normalize(sample("v2-incident-account-takeover.json"));
    const label = plain(ipLabel(alert.ips[0] ?? { address: "", isTor: null, country: null, city: null }));
    const email = formatEmail(alert);

    expect(label).toBe("203.0.113.77 (Tor, Amsterdam, NLD)");
    expect(email.text).toContain(`New related IPs: ${label}.`);
    expect(email.text).toMatch(new RegExp(`IPs: +${label.replace(/[()]/g, "\\$&")}\\n`));
    expect(email.html).toContain(`<td style="padding:2px 0;">${label}</td>`);
    expect(slackTexts(alert)).toContain(`IPs: ${label}`);
    expect(smsText(alert)).toContain(`IP ${label}`);
  });

  it("show an incident's application name when the notification carries it, and its console link", () => {
    const notification = sample("v2-incident-account-takeover.json");
    notification.message.application_name = "shop-api";
    notification.message.url = "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/incidents/1";
    const alert = normalize(notification);
    const email = formatEmail(alert);
    const actions = formatSlackMessage(alert).blocks.find((block) => block.type === "actions");

    expect(email.subject).toBe("[Sqreen][HIGH] Account takeover incident — shop-api");
    expect(email.text).toContain(
      "Open in Sqreen: https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/incidents/1",
    );
    expect(actions).toMatchObject({
      elements: [{ url: "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/incidents/1" }],
    });
    expect(smsText(alert)).toMatch(/^Sqreen HIGH shop-api; Account takeover incident; IP /);
  });

  it("show times to people as UTC minutes, and keep ISO 8601 for machines", () => {
    const alert = normalize(sample("v2-security-event.json"));

    expect(formatEmail(alert).text).toMatch(/Occurred at: +2026-10-02 08:14 UTC\n/);
    expect(JSON.parse(webhookBodyText(alert)).data.occurredAt).toBe("2026-10-02T08:14:02.918000+00:00");
  });
});
