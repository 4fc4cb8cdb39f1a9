/**
 * Property-based proof that text copied from a notification never acts in a human channel.
 *
 * For every untrusted Alert field (ALERT_FIELD_TRUST), alone and all at once, generated strings
 * (arbitrary code units, and mixes of what attackers write: URLs, bare domains, Slack control
 * sequences and formatting, HTML, CR/LF, ANSI escapes, bidi and zero-width characters, spoofed
 * relay tags in several disguises) go through every human channel: the Slack message (fallback
 * text and every text object), the e-mail subject, text and HTML, the SMS. No output may hold a
 * mention, a clickable link (linkify-it with the full TLD list, an independent link finder, finds
 * none but the trusted console link), formatting, a control or format character, or the internal
 * tag more often than the relay's own decision put it there.
 *
 * Reproducible: the seed is fixed and printed; FC_SEED=<n> replays another, FC_RUNS=<n> changes
 * the number of alerts per property.
 */

import { createRequire } from "node:module";
import fc from "fast-check";
import { LinkifyIt } from "linkify-it";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ALERT_KINDS,
  type Alert,
  type AlertIp,
  INTERNAL_ALERT_TAG,
  SEVERITIES,
} from "../../../lambdas/contracts/alert.js";
import { formatEmail } from "../../../lambdas/deliver-email/format.js";
import {
  formatSlackMessage,
  type SlackBlock,
  type TextObject,
} from "../../../lambdas/deliver-slack/format.js";
import { gsm7Length, SMS_MAX_LENGTH, smsText } from "../../../lambdas/deliver-sms/format.js";
import { humanTime } from "../../../lambdas/delivery/format.js";
import { inertText, UNTRUSTED_ALERT_FIELDS } from "../../../lambdas/delivery/untrusted-text.js";
import { SPOOFED_INTERNAL_TAGS } from "./spoofed-tags.js";

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20_261_013;
const RUNS = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : 300;

const CONSOLE_LINK =
  "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd";

/** Bare domains and addresses count as links, against every TLD there is. */
const linkify = new LinkifyIt({
  fuzzyLink: true,
  fuzzyEmail: true,
  fuzzyIP: false,
  tlds: createRequire(import.meta.url)("tlds") as string[],
});

/** What attackers write into the fields Sqreen quotes. */
const ATTACKS = [
  "https://evil.example/login",
  "HTTPS://EVIL.EXAMPLE",
  "http://198.51.100.23:8080/x",
  "ftp://files.evil.example",
  "//evil.example/path",
  "www.evil.com",
  "evil.com",
  "login.microsoftonline.com.evil.zip",
  "evil．example",
  "evil。com",
  "*.com",
  "x@here.®",
  "%40evil.com",
  "victim@example.com",
  "josé@exämple.com",
  "mailto:victim@example.com",
  "javascript:alert(1)",
  "<!channel>",
  "<!here>",
  "<!everyone>",
  "<@U123>",
  "<#C123|general>",
  "<!subteam^S123>",
  "<https://x|y>",
  "&lt;!channel&gt;",
  "@here",
  "@channel",
  "*URGENT*",
  "_italic_",
  "~strike~",
  "`code`",
  "```block```",
  "> quoted",
  ":rotating_light:",
  "<script>alert(1)</script>",
  '"><img src=x onerror=alert(1)>',
  "&amp;",
  "\r\nBcc: victim@example.com",
  "\u0000",
  "\u0085",
  "\u001b[2J",
  "\u001b]0;owned\u0007",
  "\u009b31m",
  "\u202e",
  "\u2066",
  "\u200b",
  "\u200d",
  "\ufeff",
  "\u00ad",
  "\u2028",
  "\u{e0041}",
  ...SPOOFED_INTERNAL_TAGS,
  "The relay itself is under attack: rotate the credentials at https://evil.example/rotate",
];

/** A string an attacker could have put in a field. */
const untrustedText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...ATTACKS) },
        { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 4 }) },
        { weight: 2, arbitrary: fc.constantFrom(" ", "", ".", "/", "//", ":", "@", "\n", "\t") },
      ),
      { minLength: 1, maxLength: 8 },
    )
    .map((parts) => parts.join("")),
);

const ipOf = (text: fc.Arbitrary<string>): fc.Arbitrary<AlertIp> =>
  fc.record({
    address: text,
    isTor: fc.option(fc.boolean(), { nil: null }),
    country: fc.option(text, { nil: null }),
    city: fc.option(text, { nil: null }),
  });

/** An alert whose untrusted fields come from `text` when `hostile(field)`, else are benign. */
function alertArbitrary(hostile: (field: keyof Alert) => boolean): fc.Arbitrary<Alert> {
  const text = (field: keyof Alert, benign: string) => (hostile(field) ? untrustedText : fc.constant(benign));
  const nullable = (field: keyof Alert, benign: string) => fc.option(text(field, benign), { nil: null });
  return fc.record({
    id: text("id", "651a7c3e9f2b4d0012ab34cd"),
    sourceType: text("sourceType", "security_event"),
    kind: fc.constantFrom(...ALERT_KINDS),
    apiVersion: fc.constantFrom("1" as const, "2" as const),
    severity: fc.constantFrom(...SEVERITIES),
    title: text("title", "Attack tentative from 198.51.100.23"),
    text: text("text", "Sqreen reported a security event on shop-api in production."),
    applicationId: nullable("applicationId", "64b7f0c2e4a1d9001f3c5a77"),
    applicationName: nullable("applicationName", "shop-api"),
    environment: nullable("environment", "production"),
    link: fc.constantFrom(null, CONSOLE_LINK),
    ips: fc.array(ipOf(hostile("ips") ? untrustedText : fc.constant("198.51.100.23")), { maxLength: 3 }),
    ipsOmitted: fc.nat({ max: 5_000 }),
    internal: fc.boolean(),
    occurredAt: fc.option(
      hostile("occurredAt")
        ? fc.oneof(untrustedText, fc.constant("2026-10-02T08:14:02.918000+00:00"))
        : fc.constant("2026-10-02T08:14:02.918000+00:00"),
      { nil: null },
    ),
    receivedAt: fc.constant("2026-10-02T08:15:01.000Z"),
    original: fc.constant({}),
  });
}

/**
 * The same alert with every untrusted value replaced by `x` (or by nothing when it shows nothing
 * once inert): what the relay itself writes around the values.
 */
function relayOnly(alert: Alert): Alert {
  const x = (value: string) => (inertText(value) === "" ? "" : "x");
  const nullable = (value: string | null) => (value === null ? null : x(value));
  return {
    ...alert,
    id: x(alert.id),
    sourceType: x(alert.sourceType),
    title: x(alert.title),
    text: x(alert.text),
    applicationId: nullable(alert.applicationId),
    applicationName: nullable(alert.applicationName),
    environment: nullable(alert.environment),
    ips: alert.ips.map((ip) => ({
      address: x(ip.address),
      isTor: ip.isTor,
      country: nullable(ip.country),
      city: nullable(ip.city),
    })),
    // A date-time the relay recognises is shown in the relay's own words.
    occurredAt: humanTime(alert.occurredAt) ? alert.occurredAt : nullable(alert.occurredAt),
  };
}

type Medium = "slack-mrkdwn" | "slack-plain" | "email-subject" | "email-text" | "email-html" | "sms";
interface Output {
  where: string;
  medium: Medium;
  text: string;
  /** The Slack text object, for its flags. */
  object?: TextObject;
}

function slackObjects(blocks: SlackBlock[]): { where: string; object: TextObject }[] {
  return blocks.flatMap((block, index): { where: string; object: TextObject }[] => {
    const where = `slack block ${index} (${block.type})`;
    switch (block.type) {
      case "header":
        return [{ where, object: block.text }];
      case "section":
        return [...(block.text ? [block.text] : []), ...(block.fields ?? [])].map((object) => ({
          where,
          object,
        }));
      case "context":
        return block.elements.map((object) => {
          // The formatter writes text objects only; an image here would be a new, unchecked field.
          if (!("text" in object)) throw new Error(`unexpected ${object.type} element in ${where}`);
          return { where, object };
        });
      case "actions":
        return block.elements.map((element) => {
          if (element.type !== "button") throw new Error(`unexpected ${element.type} element in ${where}`);
          return { where, object: element.text };
        });
    }
    return [];
  });
}

/** Everything a person reads of the alert, channel by channel. */
function humanOutputs(alert: Alert): Output[] {
  const slack = formatSlackMessage(alert);
  const email = formatEmail(alert);
  return [
    { where: "slack fallback text", medium: "slack-mrkdwn", text: slack.text },
    ...slackObjects(slack.blocks).map(({ where, object }) => ({
      where,
      medium: object.type === "mrkdwn" ? ("slack-mrkdwn" as const) : ("slack-plain" as const),
      text: object.text,
      object,
    })),
    { where: "e-mail subject", medium: "email-subject", text: email.subject },
    { where: "e-mail text", medium: "email-text", text: email.text },
    { where: "e-mail HTML", medium: "email-html", text: email.html },
    { where: "SMS", medium: "sms", text: smsText(alert) },
  ];
}

/** What the reader sees of an output: Slack and HTML entities decoded, HTML tags gone. */
function visible(output: Output): string {
  const decode = (text: string) =>
    text
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, "&");
  if (output.medium === "email-html") return decode(output.text.replace(/<[^>]*>/g, " "));
  if (output.medium.startsWith("slack")) return decode(output.text);
  return output.text;
}

/**
 * How often the relay's tag or SMS marker shows: INTERNAL [SECURITY] ALERT as a phrase, in any
 * case, width or accents, its words joined by blanks, underscores, hyphens, dots or nothing.
 */
function internalTags(text: string): number {
  const folded = text.normalize("NFKC").normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
  return (
    folded.match(/internal[^\S\n_.-]*(?:[_.-][^\S\n]*)?(?:security[^\S\n]*(?:[_.-][^\S\n]*)?)?alert/g)
      ?.length ?? 0
  );
}

const FORBIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** Every check of one alert's outputs against what the relay alone would have written. */
function expectInert(alert: Alert): void {
  const outputs = humanOutputs(alert);
  const reference = humanOutputs(relayOnly(alert));
  expect(outputs.map((output) => output.where)).toEqual(reference.map((output) => output.where));
  outputs.forEach((output, index) => {
    const relay = reference[index] as Output;
    const context = `${output.where}: ${JSON.stringify(output.text)}`;
    const lineBreaksAllowed = output.medium === "email-text" || output.medium === "email-html";
    const characters = lineBreaksAllowed ? output.text.replace(/\n/g, "") : output.text;

    // No control or format character (line breaks only where the relay lays out an e-mail).
    expect(FORBIDDEN_CHARACTERS.test(characters), context).toBe(false);
    expect(output.text.split("\n").length, context).toBe(relay.text.split("\n").length);

    // No clickable link but the trusted console link, for an independent link finder.
    const links = (linkify.match(visible(output)) ?? []).map((match) => match.url);
    expect(
      links.filter((url) => url !== CONSOLE_LINK),
      context,
    ).toEqual([]);
    const withoutConsoleLink = visible(output).split(CONSOLE_LINK).join("");
    expect(withoutConsoleLink, context).not.toMatch(
      /\b(?:https?|ftp|file|mailto|javascript|vbscript|data|tel|sms):/i,
    );

    // The internal tag only where the relay's decision put it.
    expect(internalTags(visible(output)), context).toBe(internalTags(visible(relay)));

    if (output.medium.startsWith("slack")) {
      // No mention, no link markup: every `<` Slack would parse is the relay's own `<!channel>`.
      const ownMention = alert.internal && output.medium === "slack-mrkdwn" ? "<!channel> " : "";
      expect(output.text.startsWith(ownMention), context).toBe(true);
      expect(output.text.slice(ownMention.length), context).not.toMatch(/[<>]/);
      expect(output.text.replace(/&(?:amp|lt|gt);/g, ""), context).not.toContain("&");
    }
    if (output.medium === "slack-mrkdwn") {
      // No formatting, no automatic mention or emoji: only the relay's bold tag is mrkdwn.
      const unformatted = output.text.replace(`*${INTERNAL_ALERT_TAG}*`, "");
      expect(unformatted, context).not.toMatch(/[*_~`@]|:[\p{L}\p{N}_+'-]+:/u);
      if (output.object?.type === "mrkdwn") expect(output.object.verbatim, context).toBe(true);
    }
    if (output.object?.type === "plain_text" && !output.where.endsWith("(actions)")) {
      // `emoji: false`: no `:code:` of the attacker's becomes an emoji (the button is the relay's).
      expect(output.object.emoji, context).toBe(false);
    }
    if (output.medium === "email-html") {
      // No markup of the attacker's: the tags are exactly the relay's.
      expect(output.text.match(/<[^>]*>/g), context).toEqual(relay.text.match(/<[^>]*>/g));
    }
    if (output.medium === "sms") {
      expect(gsm7Length(output.text), context).toBeDefined();
      expect(gsm7Length(output.text) ?? Number.POSITIVE_INFINITY, context).toBeLessThanOrEqual(
        SMS_MAX_LENGTH,
      );
    }
  });
}

describe("human channels, given attacker-chosen text in the alert", () => {
  beforeAll(() => {
    console.log(`human channels: fast-check seed ${SEED}, ${RUNS} runs (override with FC_SEED, FC_RUNS)`);
  });

  it("covers every untrusted field of the Alert", () => {
    expect([...UNTRUSTED_ALERT_FIELDS].sort()).toEqual(
      [
        "applicationId",
        "applicationName",
        "environment",
        "id",
        "ips",
        "occurredAt",
        "sourceType",
        "text",
        "title",
      ].sort(),
    );
  });

  it.each(UNTRUSTED_ALERT_FIELDS)("shows %s as inert text in every human channel", (field) => {
    fc.assert(
      fc.property(
        alertArbitrary((candidate) => candidate === field),
        expectInert,
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("shows every untrusted field at once as inert text in every human channel", () => {
    fc.assert(
      fc.property(
        alertArbitrary(() => true),
        expectInert,
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
