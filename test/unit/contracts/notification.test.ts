import { describe, expect, it } from "vitest";
import {
  apiVersionOf,
  boundedIdentity,
  eventIdentityOf,
  notificationBatchSchema,
  notificationTypeOf,
} from "../../../lambdas/contracts/notification.js";
import { sampleNames, sampleNotifications } from "../ingest/fixtures.js";

function only(name: string): Record<string, unknown> {
  const [notification] = sampleNotifications(name);
  if (!notification) throw new Error(`${name} is empty`);
  return notification;
}

describe("notificationBatchSchema", () => {
  it.each(sampleNames)("accepts %s", (name) => {
    expect(notificationBatchSchema.safeParse(sampleNotifications(name)).success).toBe(true);
  });

  it("refuses an empty array, a non-array, and objects that are not notifications", () => {
    expect(notificationBatchSchema.safeParse([]).success).toBe(false);
    expect(notificationBatchSchema.safeParse({ message_type: "test", message: {} }).success).toBe(false);
    expect(notificationBatchSchema.safeParse([{ hello: "world" }]).success).toBe(false);
    expect(notificationBatchSchema.safeParse(["security_event"]).success).toBe(false);
  });

  it("refuses more than 1000 notifications", () => {
    const notification = only("v1-test.json");

    expect(notificationBatchSchema.safeParse(Array(1000).fill(notification)).success).toBe(true);
    expect(notificationBatchSchema.safeParse(Array(1001).fill(notification)).success).toBe(false);
  });
});

describe("eventIdentityOf", () => {
  it("is the id of a v1 notification", () => {
    expect(eventIdentityOf(only("v1-security-event.json"))).toBe("651a90aa9f2b4d0012ab3600");
    expect(eventIdentityOf(only("v1-pulse.json"))).toBe("651a91bb9f2b4d0012ab3700");
    expect(eventIdentityOf(only("v1-test.json"))).toBe("7c2d9e4f1a3b45c6d7e8f9a0b1c2d3e4");
  });

  it("is message.event_id of a v2 security event", () => {
    expect(eventIdentityOf(only("v2-security-event.json"))).toBe("651a7c3e9f2b4d0012ab34cd");
  });

  it("is message.id of a v2 test notification", () => {
    expect(eventIdentityOf(only("v2-test.json"))).toBe("0f4e2a9c7b1d43e8a6c5b2d1e0f9a8b7");
  });

  it("is the incident thread at its last update for a v2 incident", () => {
    expect(eventIdentityOf(only("v2-incident-account-takeover.json"))).toBe(
      "track_collection_5e0c2b7a91d84f36a2c4e6b8d0f1a3c5@2026-10-02T10:29:12.004000+00:00",
    );
  });

  it("falls back to a content hash for a v1 security response whose id is null", () => {
    const identity = eventIdentityOf(only("v1-security-response.json"));

    expect(identity).toMatch(/^sha256-[0-9a-f]{32}$/);
    expect(eventIdentityOf(structuredClone(only("v1-security-response.json")))).toBe(identity);
  });

  it("tells apart two security responses that differ in content", () => {
    const response = only("v1-security-response.json");
    const other = { ...response, playbook: { id: "another", name: "Another playbook" } };

    expect(eventIdentityOf(other)).not.toBe(eventIdentityOf(response));
  });

  it("hashes a v2 notification without an id regardless of retry_count and key order", () => {
    const original = only("v2-unknown-type.json");
    const resent = { ...original, retry_count: 3 };
    const reordered = Object.fromEntries(Object.entries(original).reverse());

    expect(eventIdentityOf(original)).toMatch(/^sha256-[0-9a-f]{32}$/);
    expect(eventIdentityOf(resent)).toBe(eventIdentityOf(original));
    expect(eventIdentityOf(reordered)).toBe(eventIdentityOf(original));
  });

  it("gives every notification of the mixed batch its own identity", () => {
    const identities = sampleNotifications("v2-mixed-batch.json").map(eventIdentityOf);

    expect(identities.slice(0, 2)).toEqual([
      "651a7c3e9f2b4d0012ab34cd",
      "track_collection_5e0c2b7a91d84f36a2c4e6b8d0f1a3c5@2026-10-02T10:29:12.004000+00:00",
    ]);
    expect(new Set(identities).size).toBe(4);
  });
});

describe("notificationTypeOf and apiVersionOf", () => {
  it.each([
    ["v1-security-event.json", "security_event", "1"],
    ["v1-pulse.json", "pulse", "1"],
    ["v1-security-response.json", "security_response", "1"],
    ["v1-test.json", "test", "1"],
    ["v2-security-event.json", "security_event", "2"],
    ["v2-incident-account-takeover.json", "account_takeover", "2"],
    ["v2-security-response.json", "security_response", "2"],
    ["v2-test.json", "test", "2"],
    ["v2-unknown-type.json", "custom_detection", "2"],
  ])("reads %s as type %s, api version %s", (name, type, version) => {
    const notification = only(name);

    expect(notificationTypeOf(notification)).toBe(type);
    expect(apiVersionOf(notification)).toBe(version);
  });
});

describe("boundedIdentity (an event identity is always a valid, short message attribute value)", () => {
  it("keeps a real Sqreen id as it is", () => {
    expect(boundedIdentity("651a7c3e9f2b4d0012ab34cd")).toBe("651a7c3e9f2b4d0012ab34cd");
    expect(boundedIdentity("thr-6a1@2026-10-02T08:10:41.000000+00:00")).toBe(
      "thr-6a1@2026-10-02T08:10:41.000000+00:00",
    );
  });

  it("replaces a 140 KB id by its readable start and a digest, the same every time", () => {
    const id = "e".repeat(140_000);

    const bounded = boundedIdentity(id);

    expect(bounded).toMatch(/^e{64}…sha256-[0-9a-f]{32}$/);
    expect(boundedIdentity(id)).toBe(bounded);
    expect(boundedIdentity(`${id}f`)).not.toBe(bounded);
  });

  it("keeps ids differing only in a lone surrogate or a refused character apart", () => {
    const identities = ["evt-\ud83d", "evt-\ude00", "evt-\u0001", "evt-\uffff", "evt-\ufffd"].map(
      boundedIdentity,
    );

    expect(new Set(identities).size).toBe(5);
    expect(identities[4]).toBe("evt-\ufffd");
    for (const identity of identities) expect(identity).not.toMatch(/[\p{Cc}\uFFFE\uFFFF\uD800-\uDFFF]/u);
  });

  it("gives a blank id a digest of its own", () => {
    expect(boundedIdentity("   ")).toMatch(/^…sha256-[0-9a-f]{32}$/);
  });

  it("is what eventIdentityOf answers for such an id", () => {
    const notification = { message_type: "security_event", message: { event_id: "x\ud800y" } };

    expect(eventIdentityOf(notification)).toBe(boundedIdentity("x\ud800y"));
  });
});
