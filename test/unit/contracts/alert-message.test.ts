import { describe, expect, it } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import { alertAttributes } from "../../../lambdas/contracts/alert-message.js";
import {
  attributeValue,
  MAX_ATTRIBUTE_VALUE_LENGTH,
  UNKNOWN_ATTRIBUTE_VALUE,
} from "../../../lambdas/contracts/messages.js";
import { normalizeNotification } from "../../../lambdas/contracts/normalize.js";
import { firstOf, ownApplicationId, RECEIVED_AT } from "../route/support.js";

function alertOf(file: string): Alert {
  return normalizeNotification(firstOf(file), {
    receivedAt: RECEIVED_AT,
    ownApplicationIds: [ownApplicationId],
  });
}

describe("alertAttributes", () => {
  it("names the type, kind, severity, internal flag, environment and application of an alert", () => {
    expect(alertAttributes(alertOf("v1-pulse.json"))).toEqual({
      type: "pulse",
      kind: "incident",
      severity: "high",
      internal: "true",
      environment: "production",
      application: ownApplicationId,
    });
  });

  it("says unknown for the application of a test and the environment of an incident without one", () => {
    expect(alertAttributes(alertOf("v2-test.json"))).toMatchObject({
      application: UNKNOWN_ATTRIBUTE_VALUE,
      internal: "false",
      severity: "info",
    });
    expect(alertAttributes(alertOf("v2-incident-account-takeover.json")).environment).toBe(
      UNKNOWN_ATTRIBUTE_VALUE,
    );
  });

  it("never sends an empty value, which SNS rejects", () => {
    const alert = { ...alertOf("v2-security-event.json"), environment: "", applicationId: "  " };

    expect(Object.values(alertAttributes(alert)).every((value) => value.trim().length > 0)).toBe(true);
  });
});

describe("attributeValue", () => {
  it("cuts an absurdly long value", () => {
    expect(attributeValue("e".repeat(10_000))).toHaveLength(MAX_ATTRIBUTE_VALUE_LENGTH);
  });

  it("never cuts a character in half", () => {
    const value = attributeValue(`${"e".repeat(MAX_ATTRIBUTE_VALUE_LENGTH - 1)}😀`);

    expect(value).toBe("e".repeat(MAX_ATTRIBUTE_VALUE_LENGTH - 1));
  });

  it("replaces characters SQS and SNS refuse (control characters, lone surrogates, U+FFFE, U+FFFF)", () => {
    expect(attributeValue("prod\u0000\ud800uc\uFFFEti\uFFFFon")).toBe("prod\uFFFD\uFFFDuc\uFFFDti\uFFFDon");
  });

  it("keeps tabs, newlines and characters beyond the basic plane", () => {
    expect(attributeValue("a\tb\nc😀")).toBe("a\tb\nc😀");
  });
});
