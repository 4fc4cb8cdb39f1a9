import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  createLogger,
  maskEmail,
  maskPersonalData,
  maskPhoneNumber,
} from "../../../lambdas/runtime/logger.js";
import { captureOutput, type OutputCapture } from "../../capture-output.js";

describe("masking personal data in free text", () => {
  it.each([
    ["alice.martin@example.com", "a***@example.com"],
    ["josé@exämple.com", "j***@exämple.com"],
    ['"john doe"@example.com', '"j***"@example.com'],
    ["bob@localhost", "b***@localhost"],
    ["alice%40example.com", "a***%40example.com"],
    ["eve@[192.0.2.1]", "e***@[192.0.2.1]"],
    ["mallory@[IPv6:2001:db8::1]", "m***@[IPv6:2001:db8::1]"],
  ])("masks the e-mail address %s", (address, masked) => {
    expect(maskPersonalData(`Account ${address} targeted`)).toBe(`Account ${masked} targeted`);
  });

  it.each([
    ["+33 6 12 34 56 78", "+33 * ** ** ** 78"],
    ["+14155550123", "+14*******23"],
    ["+1 (415) 555-0123", "+1 (4**) ***-**23"],
    ["0033 6 12 34 56 78", "**** * ** ** 56 78"],
    ["(415) 555-0123", "(41*) ***-**23"],
    ["415-555-0123", "41*-***-**23"],
    ["06 12 34 56 78", "06 ** ** ** 78"],
    ["0612345678", "06******78"],
    ["020 7946 0958", "02* **** **58"],
  ])("masks the phone number %s", (phone, masked) => {
    expect(maskPersonalData(`call ${phone} now`)).toBe(`call ${masked} now`);
  });

  it.each([
    ["4111 1111 1111 1111", "**** **** **** 1111"],
    ["4111-1111-1111-1111", "****-****-****-1111"],
    ["4111111111111111", "************1111"],
    ["378282246310005", "***********0005"],
  ])("masks the card-like number %s, keeping its last four digits", (card, masked) => {
    expect(maskPersonalData(`paid with ${card}.`)).toBe(`paid with ${masked}.`);
  });

  it.each([
    "198.51.100.23 and 2001:db8::1",
    "2026-10-02T10:29:12.004000+00:00, 2026-10-02 10:29 UTC",
    "track_collection_5e0c2b7a91d84f36a2c4e6b8d0f1a3c5@2026-10-02T10:29:12.004000+00:00",
    "651a7c3e9f2b4d0012ab34cd c0a8f5e2-1234-4abc-9def-123456789012 1-5759e988-bd862e3fe1be46a994272793",
    "arn:aws:lambda:eu-west-1:123456789012:function:deliver-sms",
    "at file:///var/task/node_modules/@middy/core/index.js:12:34",
    "risk 75/100, 12 IP addresses, webhook-timestamp 1759400940, +00:00",
  ])("keeps IPs, dates, ids and stack traces readable: %s", (text) => {
    expect(maskPersonalData(text)).toBe(text);
  });

  it("masks recipients for log fields and error messages the same way", () => {
    expect(maskEmail("alice@example.com")).toBe("a***@example.com");
    expect(maskEmail("not an address")).toBe("***");
    expect(maskPhoneNumber("+33612345678")).toBe("+33*******78");
  });
});

describe("the functions' logger", () => {
  let logs: OutputCapture;
  beforeEach(() => {
    logs = captureOutput();
  });
  afterEach(() => {
    logs.restore();
  });

  it("masks personal data in every string of every line: message, attributes, nested values and errors", () => {
    const logger = createLogger("logger-test", { logLevel: "DEBUG" });

    logger.warn("Delivery to bob@localhost failed", {
      recipient: "+33 6 12 34 56 78",
      nested: { reason: ["card 4111 1111 1111 1111", "alice%40example.com"] },
      error: new Error("SES refused josé@exämple.com"),
    });

    const text = logs.text();
    for (const personal of ["bob@localhost", "6 12 34 56", "4111 1111 1111 1111", "alice%40", "josé@"]) {
      expect(text).not.toContain(personal);
    }
    expect(logs.lines()[0]).toMatchObject({
      message: "Delivery to b***@localhost failed",
      recipient: "+33 * ** ** ** 78",
      nested: { reason: ["card **** **** **** 1111", "a***%40example.com"] },
      error: { message: "SES refused j***@exämple.com" },
    });
  });
});
