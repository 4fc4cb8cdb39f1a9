import { describe, expect, it } from "vitest";
import { INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import {
  type ActionsBlock,
  type ContextBlock,
  formatSlackMessage,
  type HeaderBlock,
  type SectionBlock,
  type SlackBlock,
} from "../../../lambdas/deliver-slack/format.js";
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

  it("opens with a header of the severity emoji and the title", () => {
    const [header] = blocksOf(message.blocks, "header") as HeaderBlock[];

    expect(message.blocks[0]?.type).toBe("header");
    expect(header?.text).toEqual({
      type: "plain_text",
      text: ":red_circle: Attack tentative from 198.51.100.23",
      emoji: true,
    });
  });

  it("lists severity, application, environment, type and IPs as fields", () => {
    const fields = (blocksOf(message.blocks, "section") as SectionBlock[]).flatMap(
      (block) => block.fields ?? [],
    );

    expect(fields.map((field) => field.text)).toEqual([
      "*Severity*\nHIGH",
      "*Application*\nshop-api",
      "*Environment*\nproduction",
      "*Type*\nSecurity event (security_event)",
      "*IPs*\n198.51.100.23 (DEU, Berlin)",
    ]);
  });

  it("has a button to the Sqreen console and the alert id as context", () => {
    const [actions] = blocksOf(message.blocks, "actions") as ActionsBlock[];
    const [context] = blocksOf(message.blocks, "context") as ContextBlock[];

    expect(actions?.elements[0]?.url).toBe(
      "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd",
    );
    expect(context?.elements[0]?.text).toContain("`651a7c3e9f2b4d0012ab34cd`");
  });

  it("marks an internal alert with a channel mention and the tag in text and header", () => {
    const internal = formatSlackMessage(loadAlert("internal"));
    const [header] = blocksOf(internal.blocks, "header") as HeaderBlock[];
    const first = internal.blocks[0] as SectionBlock;

    expect(internal.text.startsWith(`<!channel> ${INTERNAL_ALERT_TAG} [Sqreen] CRITICAL`)).toBe(true);
    expect(first.text?.text.startsWith("<!channel>")).toBe(true);
    expect(header?.text.text).toBe(
      `:rotating_light: ${INTERNAL_ALERT_TAG} Massive account takeover attempts on the relay`,
    );
  });

  it("escapes &, < and > of alert fields so they cannot mention or link", () => {
    const hostile = formatSlackMessage(loadAlert("hostile"));
    const texts = (blocksOf(hostile.blocks, "section") as SectionBlock[]).map(
      (block) => block.text?.text ?? "",
    );

    expect(hostile.text).toContain('&lt;script&gt;alert("pwned")&lt;/script&gt; &amp; &lt;!channel&gt;');
    expect(hostile.text).not.toContain("<!channel>");
    expect(texts.join("\n")).toContain(
      "Visit &lt;https://evil.example|this link&gt; &amp; ping &lt;@U123&gt;.",
    );
  });

  it("has no button when the link is not an http(s) URL", () => {
    expect(blocksOf(formatSlackMessage(loadAlert("hostile")).blocks, "actions")).toEqual([]);
  });
});
