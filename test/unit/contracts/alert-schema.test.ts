import { describe, expect, it } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import { messageJson } from "../../../lambdas/contracts/messages.js";
import { normalizeNotification } from "../../../lambdas/contracts/normalize.js";
import { alertFromMessage } from "../../../lambdas/delivery/sns-event.js";
import { PermanentDeliveryError } from "../../../lambdas/runtime/errors.js";
import { firstOf, ownApplicationId, RECEIVED_AT } from "../route/support.js";

function alertOf(file: string): Alert {
  return normalizeNotification(firstOf(file), {
    receivedAt: RECEIVED_AT,
    ownApplicationIds: [ownApplicationId],
  });
}

describe("the Alert as a delivery function reads it from the topic", () => {
  it("reads back exactly the alert route published", () => {
    const alert = alertOf("v1-pulse.json");

    expect(alertFromMessage(messageJson(alert))).toEqual(alert);
  });

  it("reads a kind it does not know (a newer publisher's) as unknown, and a missing one too", () => {
    const { kind: _kind, ...withoutKind } = alertOf("v2-security-event.json");

    expect(alertFromMessage(JSON.stringify({ ...withoutKind, kind: "supply_chain" })).kind).toBe("unknown");
    expect(alertFromMessage(JSON.stringify(withoutKind)).kind).toBe("unknown");
  });

  it("fills the descriptive fields an older publisher left out", () => {
    const { applicationName, link, ips, ipsOmitted, occurredAt, ...older } = alertOf("v1-pulse.json");

    expect(alertFromMessage(JSON.stringify(older))).toMatchObject({
      applicationName: null,
      link: null,
      ips: [],
      ipsOmitted: 0,
      occurredAt: null,
    });
  });

  it("refuses a message without an id, naming the field and zod's English reason, never a value", () => {
    const { id: _id, ...withoutId } = alertOf("v1-pulse.json");
    const read = () => alertFromMessage(JSON.stringify({ ...withoutId, severity: "dire" }));

    expect(read).toThrow(PermanentDeliveryError);
    expect(read).toThrow(
      'SNS message is not an alert: id: Invalid input: expected string, received undefined; severity: Invalid option: expected one of "info"|"low"|"medium"|"high"|"critical"',
    );
  });
});
