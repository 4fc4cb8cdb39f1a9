/**
 * Digests as people read them (lambdas/digest/render.ts): `N alerts` where it is seen first, the
 * aggregate in every channel, and text copied from notifications inert, as in single alerts.
 */
import { describe, expect, it } from "vitest";
import { INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import type { SlackBlock } from "../../../lambdas/deliver-slack/format.js";
import { gsm7Length, SMS_MAX_LENGTH } from "../../../lambdas/deliver-sms/format.js";
import { SPOOFED_TAG_TEXT } from "../../../lambdas/delivery/untrusted-text.js";
import { digestEmail, digestSms, slackDigest } from "../../../lambdas/digest/render.js";
import { SPOOFED_INTERNAL_TAGS } from "../delivery/spoofed-tags.js";
import { entry, summary } from "./helpers.js";

const BURST = summary(
  Array.from({ length: 997 }, (_, index) =>
    entry({
      alertId: String(index),
      severity: index === 5 ? "high" : "low",
      category: index % 10 === 0 ? "xss" : "sql_injection",
      at: `2026-10-02T10:${String(29 + Math.floor(index / 100)).padStart(2, "0")}:00.000Z`,
    }),
  ),
);

/** Whether `text` holds one of the hostile controls (a bidi override, BEL, ESC). */
const hasControl = (text: string) => ["\u202e", "\u0007", "\u001b"].some((control) => text.includes(control));

/** Every text of a Slack message: the fallback, and each text object and button. */
function slackTexts(message: ReturnType<typeof slackDigest>): string[] {
  const texts = (block: SlackBlock): string[] => {
    switch (block.type) {
      case "header":
        return [block.text.text];
      case "section":
        return [...(block.text ? [block.text.text] : []), ...(block.fields ?? []).map((field) => field.text)];
      case "actions":
        return block.elements.map((element) => (element.type === "button" ? element.text.text : ""));
      default:
        return [];
    }
  };
  return [message.text, ...message.blocks.flatMap(texts)];
}

describe("a digest", () => {
  it("states `N alerts` in the Slack fallback text, the e-mail subject and the SMS", () => {
    expect(slackDigest(BURST).text).toContain("997 alerts");
    expect(digestEmail(BURST).subject).toContain("997 alerts");
    expect(digestSms(BURST)).toContain("997 alerts");
  });

  it("shows the highest severity, counts per severity and category, top IPs, the period and links", () => {
    const { text } = digestEmail(BURST);
    expect(text).toContain("Highest severity: HIGH");
    expect(text).toContain("HIGH 1, LOW 996");
    expect(text).toContain("sql_injection 897, xss 100");
    expect(text).toContain("198.51.100.23 (DEU) ×997");
    expect(text).toContain("2026-10-02 10:29 UTC to 2026-10-02 10:38 UTC");
    expect(text).toContain("Open in Sqreen: https://my.sqreen.com/application/x/events/1");
    const slack = slackTexts(slackDigest(BURST)).join("\n");
    for (const fact of ["HIGH 1, LOW 996", "sql_injection 897, xss 100", "198.51.100.23 (DEU) ×997"]) {
      expect(slack).toContain(fact);
    }
    const button = slackDigest(BURST).blocks.find((block) => block.type === "actions");
    expect(button).toMatchObject({ elements: [{ url: "https://my.sqreen.com/application/x/events/1" }] });
  });

  it("fits one GSM-7 SMS, however long what the notification named", () => {
    expect(gsm7Length(digestSms(BURST))).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    const long = summary([entry({ ips: [{ address: "2001:db8::1".repeat(20), country: null }] })], {
      application: "🚀".repeat(300),
      environment: "é".repeat(300),
    });
    const text = digestSms(long);
    expect(gsm7Length(text)).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    expect(text.startsWith("Sqreen digest 1 alert, highest LOW")).toBe(true);
  });

  it("carries the relay's tag only for a window of internal alerts, never @channel", () => {
    const internal = summary([entry({ internal: true })]);
    expect(slackDigest(internal).text.startsWith(INTERNAL_ALERT_TAG)).toBe(true);
    expect(digestEmail(internal).subject.startsWith(INTERNAL_ALERT_TAG)).toBe(true);
    expect(digestSms(internal).startsWith("INTERNAL ALERT")).toBe(true);
    expect(slackTexts(slackDigest(internal)).join("\n")).not.toContain("<!channel>");
    expect(slackDigest(BURST).text).not.toContain(INTERNAL_ALERT_TAG);
  });
});

describe("hostile text in a digest", () => {
  const hostile = summary(
    [
      entry({
        category: "<!channel> *bold* <https://evil.example|click> <@U123>",
        ips: [{ address: "https://evil.example/login", country: "<script>alert(1)</script>" }],
        link: "javascript:alert(1)",
        at: "<b>not a time</b>",
        applicationName: "<!channel> *shop* evil.example",
      }),
      ...SPOOFED_INTERNAL_TAGS.map((tag, index) =>
        entry({ alertId: `spoof-${index}`, category: tag, link: null }),
      ),
    ],
    { application: "<!here> evil.example", environment: "\u202eprod\u0007\u001b[2J" },
  );

  it("acts in no Slack text: no mention, link, formatting or relay tag", () => {
    const message = slackDigest(hostile);
    for (const text of slackTexts(message)) {
      expect(text).not.toMatch(/<[!@#]|<https?:|\|click>/);
      expect(text).not.toContain("https://evil.example");
      expect(text).not.toContain("evil.example");
      expect(text).not.toContain(INTERNAL_ALERT_TAG);
      expect(hasControl(text)).toBe(false);
    }
    // Untrusted text in the mrkdwn fallback formats nothing.
    expect(message.text).not.toContain("*bold*");
    expect(message.blocks.some((block) => block.type === "actions")).toBe(false);
    expect(slackTexts(message).join("\n")).toContain(SPOOFED_TAG_TEXT);
  });

  it("acts in no e-mail: HTML escaped, no link but Sqreen's, no relay tag", () => {
    const email = digestEmail(hostile);
    expect(email.html).not.toContain("<script");
    expect(email.html).not.toContain("<b>");
    expect(email.html).not.toMatch(/href="(?!https:\/\/my\.sqreen\.com)/);
    expect(email.html).not.toContain("javascript:");
    for (const part of [email.subject, email.text, email.html]) {
      expect(part).not.toContain("evil.example");
      expect(part).not.toContain(INTERNAL_ALERT_TAG);
      expect(hasControl(part)).toBe(false);
    }
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  it("acts in no SMS: GSM-7, one segment, no link, no relay marker", () => {
    const text = digestSms(hostile);
    expect(gsm7Length(text)).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    expect(text).not.toContain("evil.example");
    expect(text).not.toContain("INTERNAL ALERT");
  });
});
