/**
 * The Alert route publishes is the notification (in `original`) plus a summary that normalize
 * bounds. The bound is what lets a notification up to NOTIFICATION_BYTES_ALWAYS_ACCEPTED always
 * travel: built here at its worst (every summarized field at its longest, in characters that cost
 * three bytes of JSON, more IPs than the Alert carries), the Alert and its attributes still fit
 * in one SNS message; and for arbitrary field values the summary never costs more.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertMessage } from "../../../lambdas/contracts/alert-message.js";
import {
  MAX_MESSAGE_BYTES,
  messageJson,
  NOTIFICATION_BYTES_ALWAYS_ACCEPTED,
} from "../../../lambdas/contracts/messages.js";
import { MAX_ALERT_IPS, normalizeNotification } from "../../../lambdas/contracts/normalize.js";
import type { JsonObject } from "../../../lambdas/contracts/notification.js";

const RECEIVED_AT = "2026-10-02T12:00:00.000Z";
/** What the summary and the attributes may add to the notification for the guarantee to hold. */
const SUMMARY_BUDGET = MAX_MESSAGE_BYTES - NOTIFICATION_BYTES_ALWAYS_ACCEPTED;

const bytes = (text: string) => Buffer.byteLength(text, "utf8");
/** Three bytes of UTF-8 and of JSON. */
const wide = (length: number) => "€".repeat(length);

function summaryBytes(notification: JsonObject): number {
  const alert = normalizeNotification(notification, { receivedAt: RECEIVED_AT, ownApplicationIds: [] });
  return alertMessage(alert).bytes - bytes(messageJson(notification));
}

/** A notification of every kind with every field the summary copies at its worst. */
function worstCase(messageType: string): JsonObject {
  return {
    api_version: "2",
    message_type: messageType,
    date_created: wide(1_000),
    message: {
      event_id: wide(256),
      application_id: wide(1_000),
      application_name: wide(1_000),
      environment: wide(1_000),
      application: { id: wide(1_000), name: wide(1_000), environment: wide(1_000) },
      humanized_title: wide(5_000),
      humanized_description: wide(5_000),
      event_category: wide(1_000),
      event_kind: wide(1_000),
      incident_thread: wide(1_000),
      incident_status: wide(1_000),
      humanized_geos: wide(1_000),
      playbook: { name: wide(1_000) },
      properties: { user_identifiers: ["someone"], ips: [] },
      event_url: `https://my.sqreen.com/${wide(2_000)}`,
      date_occurred: wide(1_000),
      date_started: wide(1_000),
      risk_coefficient: 99,
      ips: Array.from({ length: MAX_ALERT_IPS + 10 }, (_, index) => ({
        address: `${wide(100)}${index}`,
        is_tor: false,
        geo: { code: wide(100), city: wide(100) },
      })),
    },
  };
}

describe("the Alert's size", () => {
  it.each(["security_event", "account_takeover", "security_response", "test", wide(1_000)])(
    "fits in one SNS message for a %s notification of the largest size always accepted, built at its worst",
    (messageType) => {
      const notification = worstCase(messageType);
      const padding =
        NOTIFICATION_BYTES_ALWAYS_ACCEPTED - bytes(messageJson(notification)) - `,"pad":""`.length;
      notification.pad = "x".repeat(padding);
      expect(bytes(messageJson(notification))).toBe(NOTIFICATION_BYTES_ALWAYS_ACCEPTED);

      const alert = normalizeNotification(notification, { receivedAt: RECEIVED_AT, ownApplicationIds: [] });

      expect(alertMessage(alert).bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
      expect(alert.ips).toHaveLength(MAX_ALERT_IPS);
      expect(alert.ipsOmitted).toBe(10);
    },
  );

  it("adds at most the summary budget to any notification, whatever its fields hold (property)", () => {
    const value = fc.oneof(
      fc.string({ unit: "binary", maxLength: 50 }),
      fc.string({ unit: "binary", minLength: 500, maxLength: 3_000 }),
      fc.constant(null),
      fc.integer(),
    );
    const ip = fc.record({
      address: value,
      is_tor: fc.boolean(),
      geo: fc.record({ code: value, city: value }),
    });
    const body = fc.record({
      event_id: value,
      id: value,
      application_id: value,
      application_name: value,
      environment: value,
      humanized_title: value,
      humanized_description: value,
      event_url: fc.oneof(
        value,
        value.map((path) => `https://my.sqreen.com/${String(path)}`),
      ),
      date_occurred: value,
      ips: fc.array(ip, { maxLength: 80 }),
      new_related_ips: fc.array(ip, { maxLength: 20 }),
    });
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom("security_event", "pulse", "test", "security_response"), value),
        fc.boolean(),
        body,
        (type, v2, fields) => {
          const messageType = typeof type === "string" && type.length > 0 ? type : "unknown_type";
          const notification: JsonObject = v2
            ? { message_type: messageType, message: fields }
            : { sqreen_payload_type: messageType, ...fields };

          expect(summaryBytes(notification)).toBeLessThanOrEqual(SUMMARY_BUDGET);
        },
      ),
      { seed: 20_261_103, numRuns: 300 },
    );
  });
});
