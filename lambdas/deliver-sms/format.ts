/**
 * The SMS an alert becomes: one GSM-7 segment (160 characters) that leads with what a person
 * paged at night needs, e.g.
 * `Sqreen HIGH shop-api/production; Security event: Attack tentative from 198.51.100.23; IP 198.51.100.23 (Berlin, DEU); ref 7f9dd5f1`:
 * severity, application and environment, what happened, the top IP (and how many others), and
 * the alert's short reference, which the e-mail, Slack and the logs show too. Internal alerts
 * start with `INTERNAL ALERT`. Only the title is cut to fit, at a word, never inside an IP.
 *
 * A single character outside the GSM-7 alphabet (an emoji, a curly quote) would switch the whole
 * message to UCS-2, where a segment holds only 70 characters; so accents are stripped and other
 * characters replaced by `?`, and the ellipsis is three dots (`…` is not GSM-7). Values copied
 * from the notification are made inert first (lambdas/delivery/untrusted-text.ts).
 */
import type { Alert } from "../contracts/alert.js";
import type { SmsSecret } from "../contracts/backend-secrets.js";
import { alertRef, ipLabel, scopeLabel, severityLabel, whatHappened } from "../delivery/format.js";
import { render, untrusted, type Wording } from "../delivery/untrusted-text.js";

/** One GSM-7 segment. */
export const SMS_MAX_LENGTH = 160;

/** The GSM 03.38 basic character set (one septet each). */
const GSM7_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/** The extension table: each costs two septets (an escape, then the character). */
const GSM7_EXTENSION = "^{}\\[~]|€";

const BASIC = new Set(GSM7_BASIC);
const EXTENSION = new Set(GSM7_EXTENSION);

/** Septets `text` takes in GSM-7, or undefined when it cannot be encoded in GSM-7. */
export function gsm7Length(text: string): number | undefined {
  let length = 0;
  for (const character of text) {
    if (BASIC.has(character)) length += 1;
    else if (EXTENSION.has(character)) length += 2;
    else return undefined;
  }
  return length;
}

/** Makes text GSM-7: typographic quotes and dashes simplified, accents stripped, the rest `?`. */
export function toGsm7(text: string): string {
  let result = "";
  const simplified = text
    .replace(/[‘’‚‛]/g, "'")
    .replace(/[“”„‟]/g, '"')
    .replace(/[–—]/g, "-")
    .replace(/…/g, "...");
  for (const character of simplified) {
    if (BASIC.has(character) || EXTENSION.has(character)) {
      result += character;
      continue;
    }
    // `é` decomposes to `e` + a combining accent; keep the base letter when it is GSM-7.
    const base = character.normalize("NFD").replace(/\p{M}/gu, "");
    result += base.length > 0 && [...base].every((c) => BASIC.has(c)) ? base : "?";
  }
  return result;
}

/** What starts an internal alert's SMS. */
export const SMS_INTERNAL_MARKER = "INTERNAL ALERT";
/**
 * Between the parts of the SMS (GSM-7 basic characters, one septet each). Not a dash: two values
 * of the notification on either side (`…/internal - alert…`) would read like the internal marker.
 */
const SEPARATOR = "; ";
/** The application/environment part is cut to this, so that what happened keeps room. */
const MAX_SCOPE = 40;
/** Below this many septets for what happened, the top IP loses its location, then its place. */
const MIN_WHAT = 30;
const ELLIPSIS = "...";

/** `wording` rendered for SMS and made GSM-7. */
function gsm7(wording: Wording): string {
  return toGsm7(render(wording, "sms"));
}

function septets(text: string): number {
  return gsm7Length(text) ?? Number.POSITIVE_INFINITY;
}

/** Cuts GSM-7 `text` to at most `max` septets, ending with `...` when it had to cut. */
function cutGsm7(text: string, max: number): string {
  if (septets(text) <= max) return text;
  let result = "";
  let used = 0;
  for (const character of text) {
    const cost = EXTENSION.has(character) ? 2 : 1;
    if (used + cost > max - ELLIPSIS.length) break;
    result += character;
    used += cost;
  }
  return `${result.trimEnd()}${ELLIPSIS}`;
}

/** An IP address, alone or with brackets or trailing punctuation: cutting into one would mislead. */
const IP_LIKE = /^[[(]?(?:\d{1,3}(?:\.\d{1,3}){1,3}|[0-9a-f]*:[0-9a-f:.]*)(?:\/\d+)?[\])]?[.,;:)]*$/i;

/**
 * Cuts GSM-7 `text` to at most `max` septets at a space, ending with `...`. A single word too
 * long for the room is cut inside only when it is not an IP address.
 */
function cutAtWord(text: string, max: number): string {
  if (septets(text) <= max) return text;
  const room = max - ELLIPSIS.length;
  let result = "";
  for (const word of text.split(" ")) {
    const next = result ? `${result} ${word}` : word;
    if (septets(next) > room) {
      if (result === "" && !IP_LIKE.test(word)) return cutGsm7(word, max);
      break;
    }
    result = next;
  }
  return `${result}${ELLIPSIS}`;
}

/** The SMS text: see the top of this file. */
export function smsText(alert: Alert): string {
  const scope = scopeLabel(alert);
  const head = [
    alert.internal ? `${SMS_INTERNAL_MARKER} ` : "",
    `Sqreen ${severityLabel(alert.severity)}`,
    scope ? ` ${cutGsm7(gsm7(scope), MAX_SCOPE)}` : "",
  ].join("");
  const what = gsm7(whatHappened(alert));
  const ref = `ref ${alertRef(alert)}`;
  const [top] = alert.ips;
  const others = alert.ips.length > 1 ? ` +${alert.ips.length - 1}` : "";
  // The top IP with its location, else the bare address, else (an address too long to be one) none.
  const ipChoices = top
    ? [gsm7(ipLabel(top)), gsm7(untrusted(top.address))].map((ip) => `IP ${ip}${others}`)
    : [];
  for (const ip of [...ipChoices, null]) {
    const fixed = [head, ip, ref].filter((part): part is string => part !== null);
    const room = SMS_MAX_LENGTH - septets(fixed.join(SEPARATOR)) - SEPARATOR.length;
    if (room >= MIN_WHAT || ip === null) {
      const [first, ...rest] = fixed;
      return [first, cutAtWord(what, Math.max(room, ELLIPSIS.length)), ...rest].join(SEPARATOR);
    }
  }
  throw new Error("unreachable: the last choice has no IP");
}

/** Who receives the SMS: `phoneNumbers`, plus `adminPhoneNumbers` for internal alerts, deduplicated. */
export function smsRecipients(alert: Pick<Alert, "internal">, secret: SmsSecret): string[] {
  const all = alert.internal ? [...secret.phoneNumbers, ...secret.adminPhoneNumbers] : secret.phoneNumbers;
  return [...new Set(all)];
}
