/**
 * The SNS message attributes of a published alert: the only thing subscription filter policies
 * see. Values are always non-empty (SNS rejects empty strings), short, and made of characters SNS
 * accepts.
 */
import type { Alert } from "./alert.js";
import { ALERT_ATTRIBUTES, type AlertAttributeName, UNKNOWN_ATTRIBUTE_VALUE } from "./messages.js";

/**
 * Longest attribute value sent. Real values (types, environments, application ids) are far
 * shorter; this only stops an absurd field from bloating every message and filter evaluation.
 */
export const MAX_ATTRIBUTE_VALUE_LENGTH = 256;

/**
 * The message attributes route sets on `alert` (all SNS `String`): `type`, `kind`, `severity`,
 * `internal` (`"true"`/`"false"`), `environment` and `application` (`unknown` when absent).
 */
export function alertAttributes(alert: Alert): Record<AlertAttributeName, string> {
  return {
    [ALERT_ATTRIBUTES.type]: attributeValue(alert.sourceType),
    [ALERT_ATTRIBUTES.kind]: attributeValue(alert.kind),
    [ALERT_ATTRIBUTES.severity]: attributeValue(alert.severity),
    [ALERT_ATTRIBUTES.internal]: alert.internal ? "true" : "false",
    [ALERT_ATTRIBUTES.environment]: attributeValue(alert.environment),
    [ALERT_ATTRIBUTES.application]: attributeValue(alert.applicationId),
  };
}

/**
 * A value SNS accepts: characters outside the XML range SNS allows (control characters, lone
 * surrogates) become U+FFFD, the result is cut at {@link MAX_ATTRIBUTE_VALUE_LENGTH} on a code
 * point boundary, and nothing left (null, empty, blank) becomes `unknown`.
 */
export function attributeValue(value: string | null | undefined): string {
  if (typeof value !== "string") return UNKNOWN_ATTRIBUTE_VALUE;
  let result = "";
  for (const char of value) {
    const next = isAllowed(char) ? char : "\uFFFD";
    if (result.length + next.length > MAX_ATTRIBUTE_VALUE_LENGTH) break;
    result += next;
  }
  return result.trim().length > 0 ? result : UNKNOWN_ATTRIBUTE_VALUE;
}

/** #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF, as the SNS API documents. */
function isAllowed(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    code >= 0x10000
  );
}
