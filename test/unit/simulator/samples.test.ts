import { describe, expect, it } from "vitest";
import {
  eventIdentityOf,
  type JsonObject,
  notificationBatchSchema,
} from "../../../lambdas/contracts/notification.js";
import {
  describeSamples,
  findSample,
  generateNotifications,
  pythonIsoformat,
} from "../../../scripts/sqreen/samples.js";
import { sqreenWireBytes } from "../../../scripts/sqreen/wire.js";

const now = new Date("2026-10-02T08:15:00.104Z");

describe("generateNotifications", () => {
  it("builds a valid 1000-notification request whose event identities are all distinct", () => {
    const notifications = generateNotifications(1000, { runId: "0123456789", now });

    const parsed = notificationBatchSchema.safeParse(
      JSON.parse(sqreenWireBytes(notifications).toString("utf8")),
    );
    const identities = new Set(
      notifications.map((notification) => eventIdentityOf(notification as JsonObject)),
    );

    expect(parsed.success).toBe(true);
    expect(identities.size).toBe(1000);
  });

  it("gives consecutive batches of one run distinct identities", () => {
    const first = generateNotifications(10, { runId: "aaaaaaaaaa", firstIndex: 0, now });
    const second = generateNotifications(10, { runId: "aaaaaaaaaa", firstIndex: 10, now });

    const identities = new Set([...first, ...second].map((n) => eventIdentityOf(n as JsonObject)));

    expect(identities.size).toBe(20);
  });

  it("mixes v1 and v2 types", () => {
    const notifications = generateNotifications(5, { runId: "bbbbbbbbbb", now });

    const types = notifications.map((n) => n.message_type ?? n.sqreen_payload_type);

    expect(types).toEqual(["security_event", "account_takeover", "security_event", "pulse", "test"]);
    expect(notifications.filter((n) => n.api_version === "2")).toHaveLength(3);
  });

  it.each([0, 1001, 2.5])("refuses a batch of %s notifications", (count) => {
    expect(() => generateNotifications(count, { runId: "cccccccccc" })).toThrow(RangeError);
  });
});

describe("pythonIsoformat", () => {
  it("writes microseconds and a +00:00 offset like Python's isoformat", () => {
    expect(pythonIsoformat(now)).toBe("2026-10-02T08:15:00.104000+00:00");
  });
});

describe("samples listing", () => {
  it("names every sample with a description on one line each", () => {
    const lines = describeSamples().split("\n");

    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatch(/^v1-security-event\s+v1 security_event: /);
  });

  it("finds a sample by name and nothing for an unknown name", () => {
    expect(findSample("v2-mixed-batch")?.notifications).toHaveLength(4);
    expect(findSample("v3-nothing")).toBeUndefined();
  });
});
