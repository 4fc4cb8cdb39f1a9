/**
 * The SMS an alert becomes: one line that fits a single GSM-7 segment (160 characters), e.g.
 * `SQREEN HIGH shop-api/production: Attack tentative from 198.51.100.23. <text...>`.
 *
 * A single character outside the GSM-7 alphabet (an emoji, a curly quote) would switch the whole
 * message to UCS-2, where a segment holds only 70 characters; so accents are stripped and other
 * characters replaced by `?`, and the ellipsis is three dots (`…` is not GSM-7).
 */
import type { Alert } from "../contracts/alert.js";
import type { SmsSecret } from "../contracts/backend-secrets.js";
import { oneLine, scopeLabel, severityLabel } from "../delivery/format.js";

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

/** Cuts GSM-7 `text` to at most `max` septets, ending with `...` when it had to cut. */
function truncateGsm7(text: string, max: number): string {
  if ((gsm7Length(text) ?? Number.POSITIVE_INFINITY) <= max) return text;
  const ellipsis = "...";
  let result = "";
  let used = 0;
  for (const character of text) {
    const cost = EXTENSION.has(character) ? 2 : 1;
    if (used + cost > max - ellipsis.length) break;
    result += character;
    used += cost;
  }
  return `${result.trimEnd()}${ellipsis}`;
}

/** The SMS text: prefix, scope, title, then as much of the text as fits in one segment. */
export function smsText(alert: Alert): string {
  const prefix = alert.internal ? "INTERNAL ALERT SQREEN" : "SQREEN";
  const scope = scopeLabel(alert);
  const head = `${prefix} ${severityLabel(alert.severity)}${scope ? ` ${scope}` : ""}: ${oneLine(alert.title)}`;
  const body = oneLine(alert.text);
  const full = body.length > 0 && body !== oneLine(alert.title) ? `${head}. ${body}` : head;
  return truncateGsm7(toGsm7(full), SMS_MAX_LENGTH);
}

/** Who receives the SMS: `phoneNumbers`, plus `adminPhoneNumbers` for internal alerts, deduplicated. */
export function smsRecipients(alert: Pick<Alert, "internal">, secret: SmsSecret): string[] {
  const all = alert.internal ? [...secret.phoneNumbers, ...secret.adminPhoneNumbers] : secret.phoneNumbers;
  return [...new Set(all)];
}
