/**
 * The body every HTTP target receives, in the Standard Webhooks payload shape: `type`, a
 * `timestamp` of when the event happened, and the whole Alert as `data` (including `original`,
 * the Sqreen notification untouched, for receivers that want Sqreen's own fields).
 *
 * The body depends on the alert only, so a retried delivery sends the same bytes under the same
 * `webhook-id`: receivers can deduplicate.
 */
import type { Alert } from "../contracts/alert.js";
import { machineJson } from "../delivery/untrusted-text.js";

export const WEBHOOK_EVENT_TYPE = "sqreen.alert";

export interface WebhookBody {
  type: typeof WEBHOOK_EVENT_TYPE;
  /** When Sqreen says it happened, else when the relay received it (ISO 8601). */
  timestamp: string;
  data: Alert;
}

/** The JSON payload for one alert. */
export function webhookBody(alert: Alert): WebhookBody {
  return { type: WEBHOOK_EVENT_TYPE, timestamp: alert.occurredAt ?? alert.receivedAt, data: alert };
}

/**
 * The bytes posted for one alert: its webhook body as JSON, the original exactly (a machine
 * channel: nothing is defanged or dropped), with characters that could act on a viewer escaped.
 */
export function webhookBodyText(alert: Alert): string {
  return machineJson(webhookBody(alert));
}
