import { describe, expect, it } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import {
  alertRef,
  humanTime,
  internalNotice,
  ipLabel,
  ipsLabel,
  scopeLabel,
  timeLabel,
  whatHappened,
} from "../../../lambdas/delivery/format.js";
import { plain } from "../../../lambdas/delivery/untrusted-text.js";

const application = {
  applicationName: "shop-api",
  applicationId: "64b7f0c2e4a1d9001f3c5a77",
  environment: "production",
};

describe("the shared wording", () => {
  it("renders an IP as its address, then Tor, city and country", () => {
    expect(plain(ipLabel({ address: "203.0.113.77", isTor: true, country: "NLD", city: "Amsterdam" }))).toBe(
      "203.0.113.77 (Tor, Amsterdam, NLD)",
    );
    expect(plain(ipLabel({ address: "198.51.100.23", isTor: false, country: "DEU", city: null }))).toBe(
      "198.51.100.23 (DEU)",
    );
    expect(plain(ipLabel({ address: "192.0.2.0/24", isTor: null, country: null, city: null }))).toBe(
      "192.0.2.0/24",
    );
  });

  it("lists the IPs in the alert's order", () => {
    const ips = [
      { address: "203.0.113.7", isTor: true, country: null, city: null },
      { address: "203.0.113.8", isTor: false, country: "FRA", city: "Lyon" },
    ];

    expect(plain(ipsLabel(ips) ?? "")).toBe("203.0.113.7 (Tor), 203.0.113.8 (Lyon, FRA)");
    expect(ipsLabel([])).toBeNull();
  });

  it("shows times to people to the minute, in UTC", () => {
    expect(humanTime("2026-10-02T10:29:12.004000+00:00")).toBe("2026-10-02 10:29 UTC");
    expect(humanTime("2026-10-02T12:29:59+02:00")).toBe("2026-10-02 10:29 UTC");
    expect(humanTime("2026-10-02T12:00:00.000Z")).toBe("2026-10-02 12:00 UTC");
  });

  it("shows a time it cannot read as the notification wrote it", () => {
    expect(humanTime("yesterday")).toBeNull();
    expect(humanTime("1")).toBeNull();
    expect(plain(timeLabel("yesterday") ?? "")).toBe("yesterday");
    expect(timeLabel(null)).toBeNull();
  });

  it("names the scope as application/environment, with whichever it has", () => {
    expect(plain(scopeLabel(application) ?? "")).toBe("shop-api/production");
    expect(plain(scopeLabel({ ...application, applicationName: null }) ?? "")).toBe(
      "64b7f0c2e4a1d9001f3c5a77/production",
    );
    expect(
      plain(scopeLabel({ applicationName: null, applicationId: null, environment: "staging" }) ?? ""),
    ).toBe("staging");
    expect(scopeLabel({ applicationName: null, applicationId: null, environment: null })).toBeNull();
  });

  it("gives every alert a short reference derived from its id", () => {
    expect(alertRef({ id: "651a7c3e9f2b4d0012ab34cd" })).toMatch(/^[0-9a-f]{8}$/);
    expect(alertRef({ id: "651a7c3e9f2b4d0012ab34cd" })).toBe(alertRef({ id: "651a7c3e9f2b4d0012ab34cd" }));
    // Sqreen ids of one burst share their first characters: the references must not.
    expect(alertRef({ id: "651a7c3e9f2b4d0012ab34cd" })).not.toBe(
      alertRef({ id: "651a7c3e9f2b4d0012ab34ce" }),
    );
  });

  it("says what happened with the kind, unless the title already says it", () => {
    expect(
      plain(whatHappened({ kind: "security_event", title: "Attack tentative from 198.51.100.23" })),
    ).toBe("Security event: Attack tentative from 198.51.100.23");
    expect(plain(whatHappened({ kind: "incident", title: "Account takeover incident" }))).toBe(
      "Account takeover incident",
    );
    expect(
      plain(whatHappened({ kind: "security_response", title: "Security response: Lock accounts" })),
    ).toBe("Security response: Lock accounts");
  });
});

describe("the internal notice", () => {
  it.each<[Alert["kind"], string]>([
    ["security_event", "Sqreen reported an attack on the relay's own application shop-api (production)."],
    ["incident", "Sqreen opened an incident on the relay's own application shop-api (production)."],
    [
      "security_response",
      "Sqreen ran a playbook to protect the relay's own application shop-api (production).",
    ],
    ["unknown", "Sqreen sent a notification about the relay's own application shop-api (production)."],
  ])("says what happened to the relay's own application for a %s", (kind, notice) => {
    expect(plain(internalNotice({ kind, ...application }))).toBe(notice);
  });

  it("names the application by its id when the notification carries no name", () => {
    expect(
      plain(internalNotice({ kind: "incident", ...application, applicationName: null, environment: null })),
    ).toBe("Sqreen opened an incident on the relay's own application 64b7f0c2e4a1d9001f3c5a77.");
  });
});
