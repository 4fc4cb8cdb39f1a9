/**
 * The one place that decides what in an alert is trusted, and how text copied from a notification
 * is shown to people.
 *
 * Sqreen signs what it sends, but much of it quotes the attacker: the attacked account in an
 * account-takeover title, request paths, payloads, user agents (PROTOCOL.md, "What in a
 * notification the attacker chose"). In a human channel (Slack, e-mail, SMS) such text must show
 * as literal text and never act: no mention, no clickable link, no formatting, no control or
 * format character, and never the relay's own internal wording. Machine channels (the log line
 * and the HTTP forward) keep the original exactly; `machineJson` only escapes it.
 *
 * Wording is built from pieces: a plain string is the relay's own words, `untrusted(value)` is
 * a value copied from the notification. `render(wording, channel)` escapes the relay's words for
 * the channel and neutralizes every untrusted value, so a formatter cannot forget either.
 */
import stripAnsi from "strip-ansi";
import type { Alert } from "../contracts/alert.js";

/**
 * Where every Alert field comes from. `trusted`: decided by the relay (its severity, its internal
 * decision, the kind it derived, when it received the request) or Sqreen's console link (checked
 * to be http(s) before it becomes a link). `untrusted`: copied from the notification, possibly
 * chosen by the attacker. `machine`: forwarded to machine channels only, never shown to people.
 * A new Alert field fails the type check until it is classified here.
 */
export const ALERT_FIELD_TRUST = {
  id: "untrusted",
  sourceType: "untrusted",
  kind: "trusted",
  apiVersion: "trusted",
  severity: "trusted",
  title: "untrusted",
  text: "untrusted",
  applicationId: "untrusted",
  applicationName: "untrusted",
  environment: "untrusted",
  link: "trusted",
  ips: "untrusted",
  // A count normalize computed (the IPs beyond those the Alert carries), never notification text.
  ipsOmitted: "trusted",
  internal: "trusted",
  occurredAt: "untrusted",
  receivedAt: "trusted",
  original: "machine",
} as const satisfies Record<keyof Alert, "trusted" | "untrusted" | "machine">;

/** The Alert fields whose text came from the notification. */
export const UNTRUSTED_ALERT_FIELDS = (Object.keys(ALERT_FIELD_TRUST) as (keyof Alert)[]).filter(
  (field) => ALERT_FIELD_TRUST[field] === "untrusted",
);

/** A value copied from a notification. */
export interface Untrusted {
  readonly untrusted: string;
}

/** Marks `value` as copied from the notification. */
export function untrusted(value: string): Untrusted {
  return { untrusted: value };
}

/**
 * Longest untrusted value shown, in UTF-16 units: more than any human channel holds (Slack's
 * 3000-character sections), so each formatter still cuts to its own limit.
 */
export const MAX_UNTRUSTED_LENGTH = 4000;

/** `value` inert, cut first: every step after is linear, and a value may be as long as a notification. */
function inertValue(value: string): string {
  return inertText(value.slice(0, MAX_UNTRUSTED_LENGTH));
}

/**
 * `value` marked untrusted when it shows anything once inert, else null: a value of only
 * control, format or blank characters is treated as missing, in every channel alike.
 */
export function shown(value: string | null | undefined): Untrusted | null {
  return typeof value === "string" && inertValue(value) !== "" ? untrusted(value) : null;
}

/** Text for people: the relay's own words (plain strings) and untrusted values, in order. */
export type Wording = string | Untrusted | readonly Wording[];

/**
 * The human channels. `slack-mrkdwn`: a Slack mrkdwn text (the message's fallback text, or a
 * text object the formatter marks `verbatim: true`); `slack-plain`: a Slack `plain_text` object
 * (with `emoji: false`); `email-subject`, `email-text`, `email-html`; `sms`. Slack texts come out
 * entity-escaped (`&amp;`, `&lt;`, `&gt;`).
 */
export const HUMAN_CHANNELS = [
  "slack-mrkdwn",
  "slack-plain",
  "email-subject",
  "email-text",
  "email-html",
  "sms",
] as const;
export type HumanChannel = (typeof HUMAN_CHANNELS)[number];

/** Renders `wording` for `channel`: the relay's words escaped, untrusted values neutralized. */
export function render(wording: Wording, channel: HumanChannel): string {
  if (typeof wording === "string") return escapeFor(channel, wording);
  if (isUntrusted(wording)) return renderUntrusted(wording.untrusted, channel);
  return wording.map((piece) => render(piece, channel)).join("");
}

/** The wording as plain text, untrusted values verbatim: for machine channels and prose the relay stores. */
export function plain(wording: Wording): string {
  if (typeof wording === "string") return wording;
  if (isUntrusted(wording)) return wording.untrusted;
  return wording.map(plain).join("");
}

function isUntrusted(wording: Wording): wording is Untrusted {
  return typeof wording === "object" && !Array.isArray(wording) && "untrusted" in wording;
}

/** The relay's own words, escaped for the channel's markup (they carry none of their own). */
function escapeFor(channel: HumanChannel, text: string): string {
  switch (channel) {
    case "slack-mrkdwn":
    case "slack-plain":
      return escapeSlack(text);
    case "email-html":
      return escapeHtml(text);
    default:
      return text;
  }
}

/** An untrusted value, inert, then escaped for the channel. */
function renderUntrusted(value: string, channel: HumanChannel): string {
  const text = inertValue(value);
  switch (channel) {
    case "slack-mrkdwn":
      return disarmMrkdwn(escapeSlack(text));
    case "slack-plain":
      return escapeSlack(text);
    case "email-html":
      return escapeHtml(text);
    default:
      return text;
  }
}

/**
 * An untrusted value made inert for any human channel, on one line:
 * 1. NFKC, so full-width and other compatibility forms (`ＩＮＴＥＲＮＡＬ`, `evil．example`)
 *    become the characters they pose as before anything looks for them;
 * 2. ANSI escape sequences removed whole (`\x1b[2J`, `\x1b]0;title\x07`), not just their ESC;
 * 3. every control and format character removed (Unicode Cc and Cf: NUL, NEL, bidi overrides,
 *    zero-width characters, soft hyphens; lone surrogates too), line and paragraph separators and
 *    other white space collapsed to single spaces, so it can never end a header or a line;
 * 4. the relay's internal tag neutralized (`INTERNAL_TAG_SPOOF`), so only the relay's decision
 *    can show it;
 * 5. URLs and domains defanged the way security tools show indicators:
 *    `https://evil.example/login` → `hxxps://evil[.]example/login`, `mailto:` → `mailto[:]`,
 *    `//host` → `[//]host`.
 */
export function inertText(value: string): string {
  const visible = stripAnsi(value.normalize("NFKC"))
    .replace(FORMAT, "")
    .replace(WHITESPACE_OR_SEPARATOR, " ")
    .replace(CONTROL, "")
    .replace(/ {2,}/g, " ")
    .trim();
  return defang(neutralizeInternalTag(visible));
}

/** Cf (bidi controls, zero-width characters, the BOM, soft hyphen, tags) and lone surrogates. */
const FORMAT = /[\p{Cf}\p{Cs}]/gu;
/** White space, including Unicode line/paragraph separators and NEL, which must not break a line. */
const WHITESPACE_OR_SEPARATOR = /[\s\u0085\p{Zl}\p{Zp}]+/gu;
/** Cc: the C0 controls, DEL and the C1 controls left once white space is a space. */
const CONTROL = /\p{Cc}/gu;

/**
 * The relay's internal tag and the SMS marker (`[INTERNAL SECURITY ALERT]`, `INTERNAL ALERT`),
 * whatever the case, spacing and punctuation, and with common Cyrillic and Greek look-alike
 * letters (see CONFUSABLES).
 */
const INTERNAL_TAG_SPOOF =
  /\[\s*internal[\W_]*(?:security[\W_]*)?alert\s*\]|internal[\W_]*(?:security[\W_]*)?alert/g;

/** What an untrusted copy of the internal tag becomes. */
export const SPOOFED_TAG_TEXT = "(fake relay tag)";

/**
 * Letters that look like the Latin letters of the tag's words (Cyrillic, Greek, small capitals),
 * folded for matching only. NFKC has already turned full-width and other compatibility forms
 * into plain letters.
 */
const CONFUSABLES: Readonly<Record<string, string>> = {
  а: "a", // Cyrillic
  е: "e",
  і: "i",
  ӏ: "l",
  с: "c",
  т: "t",
  у: "y",
  ү: "y",
  ѕ: "s",
  α: "a", // Greek
  ε: "e",
  ι: "i",
  ν: "n",
  τ: "t",
  υ: "y",
  ı: "i", // dotless i
  ᴀ: "a", // small capitals
  ᴄ: "c",
  ᴇ: "e",
  ɪ: "i",
  ʟ: "l",
  ɴ: "n",
  ʀ: "r",
  ꜱ: "s",
  ᴛ: "t",
  ᴜ: "u",
  ʏ: "y",
};

const ASCII_ONLY = /^\p{ASCII}*$/u;

/**
 * `value` for matching: lower-cased, accents dropped (`í` → `i`: the SMS alphabet drops them
 * too), look-alikes folded; one UTF-16 unit for one, so a match has the same position in `value`.
 */
function foldForMatching(value: string): string {
  // ASCII, what most alert text is, has no accents and no look-alikes (CONFUSABLES are all
  // non-ASCII): its lower case is its folding, without the per-character work below.
  if (ASCII_ONLY.test(value)) return value.toLowerCase();
  let folded = "";
  for (const character of value) {
    const lower = character.toLowerCase().normalize("NFD").replace(/\p{M}/gu, "");
    const mapped = CONFUSABLES[lower] ?? lower;
    // Keep the original when folding would change the length (İ lower-cases to two units).
    folded += mapped.length === character.length ? mapped : character;
  }
  return folded;
}

function neutralizeInternalTag(value: string): string {
  const folded = foldForMatching(value);
  let result = "";
  let last = 0;
  for (const match of folded.matchAll(INTERNAL_TAG_SPOOF)) {
    result += value.slice(last, match.index) + SPOOFED_TAG_TEXT;
    last = match.index + match[0].length;
  }
  return last === 0 ? value : result + value.slice(last);
}

/**
 * Schemes a client may turn into a link or an action without `//` (`mailto:x`, `javascript:x`):
 * their colon is defanged too.
 */
const BARE_SCHEME = /(?<![a-z0-9])(mailto|javascript|vbscript|data|file|tel|sms|callto):/giu;

/**
 * `scheme://`: any scheme where a scheme can start, or a web or FTP scheme anywhere (link finders
 * see a link in `.https://` or `Ⰰhttps://`). The look-behinds here also keep each pattern from
 * being tried again at every character of a long word (an attacker's application name may be
 * very long).
 */
const URL_SCHEME = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*):\/\/|(https?|ftps?):\/\//giu;
const DEFANGED_SCHEMES: Readonly<Record<string, string>> = {
  http: "hxxp",
  https: "hxxps",
  ftp: "fxp",
  ftps: "fxps",
};
/**
 * A character of a host name as link finders read it: anything but blanks, punctuation and
 * controls (so `®` and `` ` `` are), and hyphens and underscores.
 */
const HOST = String.raw`(?:[^\s\p{Z}\p{P}\p{Cc}]|[_-])`;
/** A run of labels joined by dots (ASCII, or the ideographic full stop browsers also accept). */
const DOTTED = new RegExp(String.raw`(?<!${HOST})${HOST}+(?:[.\u3002]${HOST}+)+`, "gu");
/** A label after a dot that could be a top-level domain: two characters or more, not led by a digit. */
const NAME_LABEL = new RegExp(String.raw`[.\u3002](?![0-9])${HOST}{2}`, "u");

/**
 * Whether a dotted run may be read as a domain: always after an `@` (an address's domain, which
 * link finders do not check against the TLD list) and after a `/` or at the start of the value
 * (the relay may write a `/` before it, and `//host.1` is a link to them), unless it is only
 * digits (an IP address); else when a label could be a TLD (`evil.com`, `evil.com.x`,
 * `203.0.113.9.nip.io`, `index.php`, the `alice.martin` of `alice.martin@`). IP addresses,
 * versions and decimals inside a text are not.
 */
function mayBeDomain(run: string, before: string, atStart: boolean): boolean {
  if (before.endsWith("@") || before.toLowerCase().endsWith("%40")) return true;
  if ((atStart || before.endsWith("/")) && /[^\d.\u3002]/.test(run)) return true;
  return NAME_LABEL.test(run);
}

function defang(value: string): string {
  return (
    value
      .replace(URL_SCHEME, (_match, anyScheme: string | undefined, webScheme: string | undefined) => {
        const scheme = anyScheme ?? webScheme ?? "";
        const defanged = DEFANGED_SCHEMES[scheme.toLowerCase()];
        return defanged ? `${matchCase(defanged, scheme)}://` : `${scheme}[://]`;
      })
      .replace(BARE_SCHEME, "$1[:]")
      // A protocol-relative `//host` is a link too (`//198.51.100.23/x`); `scheme://` is defanged above.
      .replace(/(?<!:)\/\//g, "[//]")
      .replace(DOTTED, (run: string, offset: number, whole: string) =>
        mayBeDomain(run, whole.slice(Math.max(0, offset - 3), offset), offset === 0)
          ? run.replace(/[.\u3002]/g, "[.]")
          : run,
      )
  );
}

/** `hxxps` in the case `HTTPS` was written in. */
function matchCase(defanged: string, original: string): string {
  return original === original.toUpperCase() ? defanged.toUpperCase() : defanged;
}

/**
 * Escapes the three characters Slack reads as control sequences (`<!channel>`, `<url|text>`).
 * Slack asks for it in every text object and decodes the entities for display, so `plain_text`
 * shows `<` and `&` as written too.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Slack mrkdwn has no escape for its formatting characters, and `verbatim` only stops the
 * automatic links and mentions. So in untrusted text they are replaced by look-alikes that
 * format nothing: `*` `_` `~` `` ` `` (bold, italic, strike, code), `@` (`@here`, `@channel`),
 * and every `:` (an emoji code such as `:rotating_light:` could otherwise be closed by the
 * relay's own colon after the value). Each look-alike is punctuation, as what it replaces, so
 * no link finder reads it as part of a host name (`*.com` stays no link).
 */
const MRKDWN_LOOKALIKES: Readonly<Record<string, string>> = {
  "*": "\u204e", // ⁎ LOW ASTERISK
  _: "\uff3f", // ＿ FULLWIDTH LOW LINE
  "~": "\u2053", // ⁓ SWUNG DASH
  "`": "\u2035", // ‵ REVERSED PRIME
  "@": "\uff20", // ＠ FULLWIDTH COMMERCIAL AT
  ":": "\uff1a", // ： FULLWIDTH COLON
};

/** The look-alikes swapped in; a `:` before `//` stays, as `hxxps://` is no emoji code and its colon keeps `//` from reading as a link. */
function disarmMrkdwn(text: string): string {
  return text.replace(/[*_~`@]|:(?!\/\/)/g, (character) => MRKDWN_LOOKALIKES[character] ?? character);
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

/**
 * JSON for machine channels: the exact value, with every character outside printable ASCII that
 * could act on a terminal or a viewer (C1 controls, DEL, Unicode format characters such as bidi
 * overrides and zero-width characters, line and paragraph separators) written as a `\uXXXX`
 * escape. It parses back to exactly the same value; `JSON.stringify` already escapes C0 controls.
 */
export function machineJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu, (character) => {
    let escaped = "";
    // One escape per UTF-16 unit: an astral format character (a tag character) is a surrogate pair.
    for (let index = 0; index < character.length; index++) {
      escaped += `\\u${character.charCodeAt(index).toString(16).padStart(4, "0")}`;
    }
    return escaped;
  });
}
