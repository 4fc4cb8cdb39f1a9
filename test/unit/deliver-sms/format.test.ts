import { describe, expect, it } from "vitest";
import {
  gsm7Length,
  SMS_MAX_LENGTH,
  smsRecipients,
  smsText,
  toGsm7,
} from "../../../lambdas/deliver-sms/format.js";
import { alertRef } from "../../../lambdas/delivery/format.js";
import { loadAlert } from "../delivery/helpers.js";

describe("the alert SMS", () => {
  const ref = (id: string) => alertRef({ id });

  it("leads with severity, scope, what happened, the top IP and the alert's reference", () => {
    expect(smsText(loadAlert("security-event"))).toBe(
      `Sqreen HIGH shop-api/production; Security event: Attack tentative from 198.51.100.23; IP 198.51.100.23 (Berlin, DEU); ref ${ref("651a7c3e9f2b4d0012ab34cd")}`,
    );
  });

  it("starts with INTERNAL ALERT for an internal alert, and counts the IPs after the top one", () => {
    expect(smsText(loadAlert("internal"))).toBe(
      `INTERNAL ALERT Sqreen CRITICAL sqreen-relay/production; Incident: Massive account takeover attempts on the relay; IP 203.0.113.7 (Tor) +1; ref ${ref("651a91bb9f2b4d0012ab3700")}`,
    );
  });

  it("repeats neither the title nor the application (the text is left to the other channels)", () => {
    const alert = loadAlert("security-event");
    const text = smsText(alert);

    expect(text.split(alert.title)).toHaveLength(2);
    expect(text.split("shop-api")).toHaveLength(2);
  });

  it.each(["security-event", "internal", "hostile", "test"] as const)(
    "fits one GSM-7 segment for the %s alert",
    (fixture) => {
      const text = smsText(loadAlert(fixture));

      expect(gsm7Length(text)).toBeDefined();
      expect(gsm7Length(text)).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    },
  );

  it("cuts only the title, at a word, with three dots, and keeps the reference", () => {
    const alert = loadAlert("hostile");
    const text = smsText({ ...alert, title: `${"word ".repeat(60)}end` });

    expect(text).toMatch(/ word\.\.\.; ref [0-9a-f]{8}$/);
    expect(gsm7Length(text)).toBeLessThanOrEqual(SMS_MAX_LENGTH);
  });

  it("never cuts inside an IP of the title", () => {
    const ips = Array.from({ length: 20 }, (_, index) => `203.0.113.${100 + index}`);
    const alert = { ...loadAlert("security-event"), title: `Attacks from ${ips.join(" ")}` };
    const text = smsText(alert);
    const what = text.split("; ")[1] ?? "";

    expect(what).toMatch(/^Security event: Attacks from (203\.0\.113\.1\d\d )*203\.0\.113\.1\d\d\.\.\.$/);
  });

  it("drops an over-long IP location before cutting what happened short", () => {
    const alert = {
      ...loadAlert("security-event"),
      ips: [
        {
          address: "2001:db8:85a3:8d3:1319:8a2e:370:7348",
          isTor: true,
          country: "DEU",
          city: "B".repeat(90),
        },
      ],
    };
    const text = smsText(alert);

    expect(text).toContain("; IP 2001:db8:85a3:8d3:1319:8a2e:370:7348; ");
    expect(text).toContain("Security event: Attack tentative from 198.51.100.23");
  });

  it("leaves out the IP part when the alert has none", () => {
    expect(smsText(loadAlert("test"))).toBe(
      `Sqreen INFO; Test notification from Sqreen; ref ${ref("test-6f1d2c")}`,
    );
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
