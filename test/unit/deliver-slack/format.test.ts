import type { ActionsBlock, ContextBlock, HeaderBlock, SectionBlock } from "@slack/types";
import { describe, expect, it } from "vitest";
import { INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import { formatSlackMessage, type SlackBlock } from "../../../lambdas/deliver-slack/format.js";
import { alertRef } from "../../../lambdas/delivery/format.js";
import { loadAlert } from "../delivery/helpers.js";

function blocksOf<T extends SlackBlock["type"]>(
  blocks: SlackBlock[],
  type: T,
): Extract<SlackBlock, { type: T }>[] {
  return blocks.filter((block): block is Extract<SlackBlock, { type: T }> => block.type === type);
}

describe("the Slack message", () => {
  const message = formatSlackMessage(loadAlert("security-event"));

  it("has a fallback text with the severity, the scope and the title", () => {
    expect(message.text).toBe("[Sqreen] HIGH shop-api/production: Attack tentative from 198.51.100.23");
  });

  it("opens with a plain-text header of the severity emoji and the title, emoji codes off", () => {
    const [header] = blocksOf(message.blocks, "header") as HeaderBlock[];

    expect(message.blocks[0]?.type).toBe("header");
    expect(header?.text).toEqual({
      type: "plain_text",
      text: "🔴 Attack tentative from 198.51.100.23",
      emoji: false,
    });
  });

  it("lists severity, application, environment, type and IPs as plain-text fields", () => {
    const fields = (blocksOf(message.blocks, "section") as SectionBlock[]).flatMap(
      (block) => block.fields ?? [],
    );

    expect(fields).toEqual(
      [
        "Severity: HIGH",
        "Application: shop-api",
        "Environment: production",
        "Type: Security event (security_event)",
        "IPs: 198.51.100.23 (Berlin, DEU)",
      ].map((text) => ({ type: "plain_text", text, emoji: false })),
    );
  });

  it("has a button to the Sqreen console, and the alert's reference, id and time as context", () => {
    const [actions] = blocksOf(message.blocks, "actions") as ActionsBlock[];
    const [context] = blocksOf(message.blocks, "context") as ContextBlock[];

    expect(actions?.elements[0]).toMatchObject({
      type: "button",
      url: "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd",
    });
    expect(context?.elements[0]).toEqual({
      type: "plain_text",
      text: `Ref ${alertRef({ id: "651a7c3e9f2b4d0012ab34cd" })} · alert id 651a7c3e9f2b4d0012ab34cd · occurred 2026-10-02 08:14 UTC`,
      emoji: false,
    });
  });

  it("opens an internal alert with a verbatim banner saying what happened, and tags text and header", () => {
    const internal = formatSlackMessage(loadAlert("internal"));
    const [header] = blocksOf(internal.blocks, "header") as HeaderBlock[];
    const first = internal.blocks[0] as SectionBlock;

    expect(internal.text.startsWith(`<!channel> ${INTERNAL_ALERT_TAG} [Sqreen] CRITICAL`)).toBe(true);
    expect(first.text).toEqual({
      type: "mrkdwn",
      text: `<!channel> 🚨 *${INTERNAL_ALERT_TAG}* Sqreen opened an incident on the relay's own application sqreen-relay (production).`,
      verbatim: true,
    });
    expect(header?.text.text).toBe(`🚨 ${INTERNAL_ALERT_TAG} Massive account takeover attempts on the relay`);
  });

  it("escapes &, < and > of alert fields so they cannot mention or link, and defangs URLs", () => {
    const hostile = formatSlackMessage(loadAlert("hostile"));
    const texts = (blocksOf(hostile.blocks, "section") as SectionBlock[]).map(
      (block) => block.text?.text ?? "",
    );

    expect(hostile.text).toContain('&lt;script&gt;alert("pwned")&lt;/script&gt; &amp; &lt;!channel&gt;');
    expect(hostile.text).not.toContain("<!channel>");
    expect(texts.join("\n")).toContain(
      "Visit &lt;hxxps://evil[.]example|this link&gt; &amp; ping &lt;@U123&gt;.",
    );
  });

  it("has no button when the link is not an http(s) URL", () => {
    expect(blocksOf(formatSlackMessage(loadAlert("hostile")).blocks, "actions")).toEqual([]);
  });
});
