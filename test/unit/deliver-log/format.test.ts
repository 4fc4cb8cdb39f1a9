import { describe, expect, it } from "vitest";
import { alertLogRecord } from "../../../lambdas/deliver-log/format.js";
import { alertRef } from "../../../lambdas/delivery/format.js";
import { loadAlert } from "../delivery/helpers.js";

describe("the log record of an alert", () => {
  const record = alertLogRecord(loadAlert("security-event"));

  it("carries the alert's identity, classification and context", () => {
    expect(record).toMatchObject({
      alertId: "651a7c3e9f2b4d0012ab34cd",
      alertRef: alertRef({ id: "651a7c3e9f2b4d0012ab34cd" }),
      type: "security_event",
      kind: "security_event",
      severity: "high",
      title: "Attack tentative from 198.51.100.23",
      application: "shop-api",
      applicationId: "64b7f0c2e4a1d9001f3c5a77",
      environment: "production",
      link: "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd",
      ips: [{ address: "198.51.100.23", isTor: false, country: "DEU", city: "Berlin" }],
      ipsOmitted: 0,
      internal: false,
    });
  });

  it("never carries the original notification", () => {
    expect(record).not.toHaveProperty("original");
    expect(JSON.stringify(record)).not.toContain("user_identifiers");
  });

  it("keeps the alert's own title and text, as a machine channel (the logger masks personal data)", () => {
    const hostile = loadAlert("hostile");

    expect(alertLogRecord(hostile)).toMatchObject({ title: hostile.title, text: hostile.text });
  });
});
