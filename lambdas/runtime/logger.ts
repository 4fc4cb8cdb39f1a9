/**
 * One Powertools logger per function, and the masking of personal data it applies to every
 * string of every line. Log identifiers, never whole events: requests carry signatures and
 * notifications carry e-mail addresses, phone numbers and IPs.
 */
import { Logger } from "@aws-lambda-powertools/logger";

/** The Powertools log level (`DEBUG`, `INFO`, ...), `LOG_LEVEL` or INFO when omitted. */
type LogLevel = NonNullable<NonNullable<ConstructorParameters<typeof Logger>[0]>["logLevel"]>;

/**
 * A logger whose every line has its strings (message, attributes, error messages and stacks)
 * passed through `maskPersonalData`: whatever a caller logs, an address, a phone number or a card
 * number never reaches the log group whole.
 */
export function createLogger(serviceName: string, options: { logLevel?: LogLevel } = {}): Logger {
  return new Logger({
    serviceName,
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    jsonReplacerFn: maskingJsonReplacer,
  });
}

/** The JSON replacer of every relay log line: each string value through maskPersonalData. */
export function maskingJsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "string" ? maskPersonalData(value) : value;
}

/** Characters of an unquoted local part (RFC 5322 atext, and any letter: RFC 6531). `/` is left out, as npm scopes in stack traces (`node_modules/@middy/core`) would read as addresses. */
const ATOM = String.raw`[\p{L}\p{N}\p{M}!#$%&'*+=?^_\x60{|}~-]+`;
const LOCAL_PART = String.raw`(?:"(?:[^"\\\r\n]|\\.)+"|${ATOM}(?:\.${ATOM})*)`;
/** `@`, or `%40` as it appears in URL-encoded text. */
const AT = "(?:@|%40)";
const LABEL = String.raw`[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]*[\p{L}\p{N}\p{M}])?`;
/**
 * `[192.0.2.1]` or `[IPv6:...]`, a dotted name whose last label starts with a letter
 * (`exämple.com`), or a single name of letters (`localhost`). A digit-led single label is left
 * alone: incident ids read `thread@2026-10-02T10:29:12...`.
 */
const DOMAIN = String.raw`(?:\[(?:IPv6:)?[0-9A-Fa-f:.]+\]|(?:${LABEL}\.)+\p{L}[\p{L}\p{N}\p{M}-]*|\p{L}+)(?![\p{L}\p{N}\p{M}-])`;
/** Starts only where a local part can start, so a long word is scanned once, not once per character. */
const EMAIL = new RegExp(
  String.raw`(?<![\p{L}\p{N}\p{M}!#$%&'*+=?^_\x60{|}~.-])(${LOCAL_PART})(${AT})(${DOMAIN})`,
  "giu",
);

/** Digits may not continue a word, an id, a date or an IP on either side. */
const BEFORE = String.raw`(?<![\p{L}\p{N}_.:/+-])`;
const AFTER = String.raw`(?![\p{L}\p{N}_]|[.:-]\d)`;
/** 13 to 19 digits, grouped by single spaces or dashes or not at all: a payment card's shape. */
const CARD = new RegExp(String.raw`${BEFORE}\d(?:[ -]?\d){12,18}${AFTER}`, "gu");
/**
 * Phone numbers as people write them: international (`+33 6 12 34 56 78`, `+14155550123`,
 * `+1 (415) 555-0123`, `0033 6 12 34 56 78`), North American (`(415) 555-0123`, `415-555-0123`),
 * and national numbers with a trunk 0 (`06 12 34 56 78`, `0612345678`, `020 7946 0958`).
 */
const PHONE = new RegExp(
  [
    String.raw`(?<![\p{L}\p{N}_+])\+\d(?:[ .()-]{0,2}\d){6,14}`,
    String.raw`${BEFORE}00[1-9](?:[ .-]?\d){6,13}`,
    String.raw`${BEFORE}(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}`,
    String.raw`${BEFORE}0[1-9](?:[ .-]?\d{2}){4}`,
    String.raw`${BEFORE}0\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}`,
  ]
    .map((pattern) => `(?:${pattern})${AFTER}`)
    .join("|"),
  "gu",
);

/** What EMAIL needs (an at sign, maybe URL-encoded), and what CARD and PHONE need (a digit). */
const MAY_HOLD_EMAIL = /@|%40/i;
const HAS_DIGIT = /\d/;

/**
 * Masks the personal data inside free text: e-mail addresses (internationalized, quoted,
 * `bob@localhost`, `eve@[192.0.2.1]`, `alice%40example.com`) keep their first character and
 * their domain, card-like digit runs their last four digits, phone numbers their first and last
 * two digits. IP addresses, dates, times and ids stay readable. For log lines, and for any text
 * kept where a log line would be (a dead letter's reason).
 */
export function maskPersonalData(text: string): string {
  // Most log strings hold neither an at sign nor a digit: skip the patterns they cannot match.
  const withoutEmails = MAY_HOLD_EMAIL.test(text)
    ? text.replace(
        EMAIL,
        (_match, local: string, at: string, domain: string) => `${maskedLocal(local)}${at}${domain}`,
      )
    : text;
  if (!HAS_DIGIT.test(withoutEmails)) return withoutEmails;
  return withoutEmails
    .replace(CARD, (card) => maskDigits(card, 0, 4))
    .replace(PHONE, (phone) => maskDigits(phone, 2, 2));
}

/** `alice` → `a***`, `"john doe"` → `"j***"`. */
function maskedLocal(local: string): string {
  const quoted = local.startsWith('"');
  const first = [...local.slice(quoted ? 1 : 0)][0] ?? "";
  return quoted ? `"${first}***"` : `${first}***`;
}

/** Every digit but the first `keepFirst` and the last `keepLast` replaced by `*`; separators kept. */
function maskDigits(text: string, keepFirst: number, keepLast: number): string {
  const total = text.replace(/\D/g, "").length;
  let seen = 0;
  return text.replace(/\d/g, (digit) => {
    seen++;
    return seen <= keepFirst || seen > total - keepLast ? digit : "*";
  });
}

/** `alice@example.com` → `a***@example.com`: enough to tell recipients apart in a log. */
export function maskEmail(address: string): string {
  const masked = maskPersonalData(address);
  return masked === address ? "***" : masked;
}

/** `+33612345678` → `+33*******78`. */
export function maskPhoneNumber(phoneNumber: string): string {
  const digits = phoneNumber.replace(/\D/g, "").length;
  return digits <= 4 ? "***" : maskDigits(phoneNumber, 2, 2);
}
