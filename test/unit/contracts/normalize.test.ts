import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import {
  InvalidNotificationError,
  MAX_ALERT_IPS,
  MAX_FIELD_LENGTH,
  MAX_LINK_LENGTH,
  MAX_TEXT_LENGTH,
  MAX_TITLE_LENGTH,
  normalizeNotification,
  severityOf,
  severityOfRisk,
} from "../../../lambdas/contracts/normalize.js";
import { SAMPLES_DIR } from "../../samples.js";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const expectedDir = path.resolve(repoRoot, "test/fixtures/alerts");
const ownApplicationId = (
  JSON.parse(readFileSync(path.join(SAMPLES_DIR, "SIGNATURES.json"), "utf8")) as {
    own_application_id_for_internal_alert_samples: string;
  }
).own_application_id_for_internal_alert_samples;
const receivedAt = "2026-10-02T12:00:00.000Z";
const context = { receivedAt, ownApplicationIds: [ownApplicationId] };

type JsonObject = Record<string, unknown>;

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

function sample(file: string): JsonObject[] {
  return readJson<JsonObject[]>(path.join(SAMPLES_DIR, file));
}

function firstOf(file: string): JsonObject {
  const [notification] = sample(file);
  if (!notification) throw new Error(`${file} holds no notification`);
  return notification;
}

const sampleFiles = readdirSync(SAMPLES_DIR).filter((file) => /^v[12]-.*\.json$/.test(file));

describe("normalizeNotification on the shared samples", () => {
  it("has an expected alert fixture for each of the ten samples", () => {
    expect(sampleFiles).toHaveLength(10);
    expect(readdirSync(expectedDir).sort()).toEqual([...sampleFiles].sort());
  });

  // test/fixtures/alerts/<sample> holds the expected alerts, in order, without `original`:
  // `original` must be the notification itself.
  it.each(sampleFiles)("turns every notification of %s into exactly the expected alert", (file) => {
    const notifications = sample(file);
    const expected = readJson<Omit<Alert, "original">[]>(path.join(expectedDir, file));

    const alerts = notifications.map((notification) => normalizeNotification(notification, context));

    expect(alerts).toEqual(expected.map((alert, index) => ({ ...alert, original: notifications[index] })));
  });

  it("normalizes each item of the mixed batch as it normalizes the same notification alone", () => {
    const alone = [
      "v2-security-event.json",
      "v2-incident-account-takeover.json",
      "v2-security-response.json",
      "v2-unknown-type.json",
    ].map((file) => normalizeNotification(firstOf(file), context));

    const mixed = sample("v2-mixed-batch.json").map((notification) =>
      normalizeNotification(notification, context),
    );

    expect(mixed).toEqual(alone);
  });

  it("keeps the original notification untouched, as the same object", () => {
    const notification = firstOf("v2-security-event.json");
    const before = structuredClone(notification);

    const alert = normalizeNotification(notification, context);

    expect(alert.original).toBe(notification);
    expect(notification).toEqual(before);
  });

  it("reads the v2 security event fields: risk_coefficient, event_url, ips with geo", () => {
    const alert = normalizeNotification(firstOf("v2-security-event.json"), context);

    expect(alert).toMatchObject({
      id: "651a7c3e9f2b4d0012ab34cd",
      kind: "security_event",
      apiVersion: "2",
      severity: "high",
      link: "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd",
      ips: [{ address: "198.51.100.23", isTor: false, country: "DEU", city: "Berlin" }],
    });
    expect(alert.text).toContain("shop-api in production");
    expect(alert.text).toContain("risk 75/100");
  });

  it("says in a v1 pulse's text that Sqreen blocked it", () => {
    const alert = normalizeNotification(firstOf("v1-pulse.json"), context);

    expect(alert.kind).toBe("incident");
    expect(alert.text).toContain("Sqreen blocked it.");
  });

  it("names the playbook and the targeted CIDRs of a security response", () => {
    const alert = normalizeNotification(firstOf("v1-security-response.json"), context);

    expect(alert.title).toBe("Security response: Lock targeted accounts");
    expect(alert.ips).toEqual([{ address: "192.0.2.0/24", isTor: null, country: null, city: null }]);
    expect(alert.text).not.toContain("carol@example.com");
  });

  it("routes an unknown type generically with its humanized description", () => {
    const alert = normalizeNotification(firstOf("v2-unknown-type.json"), context);

    expect(alert).toMatchObject({ kind: "unknown", sourceType: "custom_detection", severity: "medium" });
    expect(alert.title).toBe("Custom rule matched");
  });

  it("titles an unknown type without any description after its type name", () => {
    const alert = normalizeNotification(
      { api_version: "2", message_type: "bot_storm", message: { application_id: "app-1" } },
      context,
    );

    expect(alert.title).toBe("Sqreen notification: bot storm");
    expect(alert.text).toContain("(bot_storm)");
  });

  it("treats any v2 message carrying incident_thread as an incident", () => {
    const alert = normalizeNotification(
      {
        api_version: "2",
        message_type: "http_flood",
        message: { incident_thread: "thread-1", date_last_updated: "2026-10-02T10:00:00+00:00" },
      },
      context,
    );

    expect(alert).toMatchObject({
      kind: "incident",
      severity: "high",
      id: "thread-1@2026-10-02T10:00:00+00:00",
    });
    expect(alert.title).toBe("Http flood incident");
  });
});

describe("severity", () => {
  it.each([
    [100, "critical"],
    [90, "critical"],
    [89.99, "high"],
    [70, "high"],
    [69, "medium"],
    [40, "medium"],
    [39.5, "low"],
    [0, "low"],
    ["75", "high"],
    [-1, "medium"],
    [101, "medium"],
    [Number.NaN, "medium"],
    [null, "medium"],
    [undefined, "medium"],
    ["high", "medium"],
    ["", "medium"],
    [true, "medium"],
  ])("maps a security event risk of %s to %s", (risk, severity) => {
    expect(severityOfRisk(risk)).toBe(severity);
  });

  it("reads v2 risk_coefficient and v1 risk at the boundaries", () => {
    const v2 = (risk: unknown) =>
      normalizeNotification(
        { api_version: "2", message_type: "security_event", message: { risk_coefficient: risk } },
        context,
      ).severity;
    const v1 = (risk: unknown) =>
      normalizeNotification({ sqreen_payload_type: "security_event", risk }, context).severity;

    expect([v2(90), v2(70), v2(40), v2(39)]).toEqual(["critical", "high", "medium", "low"]);
    expect([v1(90), v1(70), v1(40), v1(39)]).toEqual(["critical", "high", "medium", "low"]);
    expect([v2(undefined), v1("n/a")]).toEqual(["medium", "medium"]);
  });

  it("gives incidents high, responses medium, tests info and unknown types medium, whatever the risk", () => {
    expect([
      severityOf("incident", 0),
      severityOf("security_response", 99),
      severityOf("test", 99),
      severityOf("unknown", 99),
    ]).toEqual(["high", "medium", "info", "medium"]);
    expect(normalizeNotification({ sqreen_payload_type: "test", risk: 95 }, context).severity).toBe("info");
  });
});

describe("internal security alerts", () => {
  const notOwn = "5f0000000000000000000000";

  it.each([
    ["v1 application_id", { sqreen_payload_type: "security_event", application_id: ownApplicationId }],
    [
      "v1 application.id",
      { sqreen_payload_type: "security_response", application: { id: ownApplicationId } },
    ],
    [
      "v2 message.application_id",
      { api_version: "2", message_type: "security_event", message: { application_id: ownApplicationId } },
    ],
    [
      "v2 message.application.id",
      {
        api_version: "2",
        message_type: "security_response",
        message: { application: { id: ownApplicationId } },
      },
    ],
  ])("flags an alert whose %s is one of the relay's own", (_location, notification) => {
    const alert = normalizeNotification(notification, context);

    expect(alert.applicationId).toBe(ownApplicationId);
    expect(alert.internal).toBe(true);
  });

  it("does not flag an alert about another application", () => {
    const alert = normalizeNotification(
      { sqreen_payload_type: "security_event", application_id: notOwn },
      { receivedAt, ownApplicationIds: new Set([ownApplicationId]) },
    );

    expect(alert.internal).toBe(false);
  });

  it("never flags anything when the relay has no own application ids", () => {
    const alert = normalizeNotification(firstOf("v2-security-event.json"), {
      receivedAt,
      ownApplicationIds: [],
    });

    expect(alert.internal).toBe(false);
  });

  it.each(["v1-test.json", "v2-test.json"])("never flags the test notification %s", (file) => {
    expect(normalizeNotification(firstOf(file), context).internal).toBe(false);
  });

  it("never flags a test notification, even one carrying an own application id", () => {
    const alert = normalizeNotification(
      { api_version: "2", message_type: "test", message: { application_id: ownApplicationId } },
      context,
    );

    expect(alert.internal).toBe(false);
  });
});

describe("lenient reading", () => {
  const types = ["security_event", "pulse", "account_takeover", "security_response", "test", "mystery"];
  const junk: unknown[] = [null, 42, "", "   ", true, [], {}, [null, 1, "x"], { geo: 5 }];

  it.each(types)("never throws for a %s notification whose fields are all null, junk or missing", (type) => {
    const fields = [
      "id",
      "risk",
      "risk_coefficient",
      "application_id",
      "application",
      "application_name",
      "environment",
      "url",
      "event_url",
      "ips",
      "new_related_ips",
      "properties",
      "playbook",
      "humanized_title",
      "humanized_description",
      "date_occurred",
      "date_started",
      "incident_thread",
      "blocked",
    ];
    for (const value of junk) {
      const body = Object.fromEntries(fields.map((field) => [field, value]));

      const v1 = normalizeNotification({ sqreen_payload_type: type, ...body }, context);
      const v2 = normalizeNotification({ api_version: "2", message_type: type, message: body }, context);

      for (const alert of [v1, v2]) {
        expect(alert.title.length).toBeGreaterThan(0);
        expect(alert.text.length).toBeGreaterThan(0);
        expect(alert.id.length).toBeGreaterThan(0);
        expect(alert.applicationId).toBeNull();
        expect(alert.link).toBeNull();
        expect(alert.internal).toBe(false);
      }
    }
  });

  it("routes an empty object as an unknown v1 notification", () => {
    const alert = normalizeNotification({}, context);

    expect(alert).toMatchObject({
      sourceType: "unknown",
      kind: "unknown",
      apiVersion: "1",
      severity: "medium",
      applicationId: null,
      applicationName: null,
      environment: null,
      link: null,
      ips: [],
      internal: false,
      occurredAt: null,
      receivedAt,
    });
    expect(alert.id).toMatch(/^sha256-[0-9a-f]{32}$/);
  });

  it("reads a v2 envelope whose message is not an object as a flat notification", () => {
    const alert = normalizeNotification(
      { api_version: "2", message_type: "security_event", message: null },
      context,
    );

    expect(alert).toMatchObject({ sourceType: "security_event", kind: "security_event", apiVersion: "1" });
  });

  it.each([
    ["null", null],
    ["an array", [{ sqreen_payload_type: "test" }]],
    ["a string", "security_event"],
    ["a number", 42],
    ["undefined", undefined],
  ])("throws InvalidNotificationError for %s", (_label, value) => {
    expect(() => normalizeNotification(value, context)).toThrow(InvalidNotificationError);
  });

  it("keeps only http(s) links", () => {
    const link = (url: unknown) =>
      normalizeNotification({ sqreen_payload_type: "security_event", url }, context).link;

    expect(link("javascript:alert(1)")).toBeNull();
    expect(link("ftp://example.com/x")).toBeNull();
    expect(link("https://my.sqreen.com/x y")).toBeNull();
    expect(link("https://my.sqreen.com/events/1")).toBe("https://my.sqreen.com/events/1");
  });

  it("skips malformed IP entries and lists each address once", () => {
    const alert = normalizeNotification(
      {
        sqreen_payload_type: "security_event",
        ips: [
          null,
          { address: 7 },
          { address: "198.51.100.1", is_tor: "yes", geo: { code: 3 } },
          { address: "198.51.100.1" },
        ],
      },
      context,
    );

    expect(alert.ips).toEqual([{ address: "198.51.100.1", isTor: null, country: null, city: null }]);
  });

  it("keeps the title and text to one short paragraph", () => {
    const alert = normalizeNotification(
      {
        sqreen_payload_type: "security_event",
        humanized_description: `Line one\n\nline two ${"x".repeat(5000)}`,
        ips: Array.from({ length: 30 }, (_, index) => ({ address: `192.0.2.${index}` })),
      },
      context,
    );

    expect(alert.title.length).toBeLessThanOrEqual(MAX_TITLE_LENGTH);
    expect(alert.title.startsWith("Line one line two")).toBe(true);
    expect(alert.title.endsWith("…")).toBe(true);
    expect(alert.text.length).toBeLessThanOrEqual(MAX_TEXT_LENGTH);
    expect(alert.text).not.toMatch(/\n/);
    expect(alert.ips).toHaveLength(30);
  });

  it("names at most five IPs in the text and counts the rest", () => {
    const alert = normalizeNotification(
      {
        sqreen_payload_type: "security_event",
        ips: Array.from({ length: 8 }, (_, index) => ({ address: `192.0.2.${index}` })),
      },
      context,
    );

    expect(alert.text).toContain("IPs: 192.0.2.0, 192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4 and 3 more.");
  });
});

describe("normalizeNotification's bounds (the Alert must fit in one SNS message)", () => {
  it(`carries the first ${MAX_ALERT_IPS} IPs and counts the others, and the text names their total`, () => {
    const ips = Array.from({ length: 2_900 }, (_, index) => ({
      address: `10.0.${index >> 8}.${index & 255}`,
    }));

    const alert = normalizeNotification({ message_type: "security_event", message: { ips } }, context);

    expect(alert.ips.map((ip) => ip.address)).toEqual(ips.slice(0, MAX_ALERT_IPS).map((ip) => ip.address));
    expect(alert.ipsOmitted).toBe(2_900 - MAX_ALERT_IPS);
    expect(alert.text).toContain("10.0.0.4 and 2895 more.");
    expect((alert.original as { message: { ips: unknown[] } }).message.ips).toHaveLength(2_900);
  });

  it("removes terminal escape sequences, makes other control characters spaces, and replaces lone surrogates, U+FFFE and U+FFFF with U+FFFD in copied text", () => {
    const alert = normalizeNotification(
      {
        sqreen_payload_type: "security_event",
        humanized_description: "bell\u0007 esc\u001b[31m half\ud83d nonchar\uffff emoji😀",
        application_name: "shop\u0000api",
        environment: "prod\udc00",
      },
      context,
    );

    expect(alert.title).toBe("bell esc half\uFFFD nonchar\uFFFD emoji😀");
    expect(alert.applicationName).toBe("shop api");
    expect(alert.environment).toBe("prod\uFFFD");
    expect(alert.text).not.toMatch(/[\p{Cc}\uFFFE\uFFFF\uD800-\uDFFF]/u);
  });

  it("cuts long labels, drops an overlong link, and decides `internal` on the whole application id", () => {
    const ownId = `own-${"a".repeat(1_000)}`;
    const alert = normalizeNotification(
      {
        sqreen_payload_type: "security_event",
        application_id: ownId,
        application_name: "n".repeat(10_000),
        environment: "e".repeat(10_000),
        url: `https://my.sqreen.com/${"p".repeat(MAX_LINK_LENGTH)}`,
      },
      { receivedAt, ownApplicationIds: [ownId] },
    );

    expect(alert.internal).toBe(true);
    expect(alert.applicationId).toHaveLength(MAX_FIELD_LENGTH);
    expect(alert.applicationName).toHaveLength(MAX_FIELD_LENGTH);
    expect(alert.applicationName?.endsWith("…")).toBe(true);
    expect(alert.environment).toHaveLength(MAX_FIELD_LENGTH);
    expect(alert.link).toBeNull();
  });
});
