import { describe, expect, it } from "vitest";
import {
  gsm7Length,
  SMS_MAX_LENGTH,
  smsRecipients,
  smsText,
  toGsm7,
} from "../../../lambdas/deliver-sms/format.js";
import { loadAlert } from "../delivery/helpers.js";

describe("the alert SMS", () => {
  it("starts with SQREEN, the severity and where it happened, then the title", () => {
    expect(
      smsText(loadAlert("security-event")).startsWith(
        "SQREEN HIGH shop-api/production: Attack tentative from 198.51.100.23. ",
      ),
    ).toBe(true);
  });

  it("starts with INTERNAL ALERT for an internal alert", () => {
    expect(
      smsText(loadAlert("internal")).startsWith("INTERNAL ALERT SQREEN CRITICAL sqreen-relay/production: "),
    ).toBe(true);
  });

  it.each(["security-event", "internal", "hostile", "test"] as const)(
    "fits one GSM-7 segment for the %s alert",
    (fixture) => {
      const text = smsText(loadAlert(fixture));

      expect(gsm7Length(text)).toBeDefined();
      expect(gsm7Length(text)).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    },
  );

  it("ends a cut text with three dots", () => {
    const text = smsText(loadAlert("hostile"));

    expect(text.endsWith("...")).toBe(true);
    expect(text.length).toBeGreaterThan(SMS_MAX_LENGTH - 10);
  });

  it("replaces characters GSM-7 lacks, keeping base letters of accented ones", () => {
    expect(toGsm7("“scan” 🚀 – café à São Zürich")).toBe('"scan" ? - café à Sao Zürich');
  });

  it("counts extension characters as two septets", () => {
    expect(gsm7Length("{a}")).toBe(5);
    expect(gsm7Length("🚀")).toBeUndefined();
  });
});

describe("the SMS recipients", () => {
  const secret = {
    phoneNumbers: ["+33612345678", "+33698765432"],
    adminPhoneNumbers: ["+33698765432", "+14155550100"],
  };

  it("are the phone numbers for a normal alert, without administrators", () => {
    expect(smsRecipients({ internal: false }, secret)).toEqual(["+33612345678", "+33698765432"]);
  });

  it("add the administrators' numbers for an internal alert, each number once", () => {
    expect(smsRecipients({ internal: true }, secret)).toEqual([
      "+33612345678",
      "+33698765432",
      "+14155550100",
    ]);
  });
});
