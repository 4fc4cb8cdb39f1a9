/** The pure rules of digests (lambdas/digest/rules.ts): groups, entries and a window's summary. */
import { describe, expect, it } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import {
  DIGEST_TOP,
  destinationKey,
  digestEntry,
  digestGroup,
  groupKey,
  summarizeWindow,
} from "../../../lambdas/digest/rules.js";
import type { DigestEntry } from "../../../lambdas/digest/seams.js";
import { digestEntrySchema } from "../../../lambdas/digest/seams.js";
import { loadAlert } from "../delivery/helpers.js";
import { entry } from "./helpers.js";

const GROUP = digestGroup("slack", "https://hooks.slack.com/services/T/B/x", loadAlert("security-event"));

describe("digest groups", () => {
  it("key a destination by a hash that never shows it, per backend, e-mail ignoring case", () => {
    const key = destinationKey("email", "Ops.Team@Example.com");
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(key).toBe(destinationKey("email", "ops.team@example.com"));
    expect(destinationKey("sms", "+33612345678")).not.toBe(destinationKey("slack", "+33612345678"));
    expect(destinationKey("slack", "https://hooks.slack.com/A")).not.toBe(
      destinationKey("slack", "https://hooks.slack.com/a"),
    );
  });

  it("group by destination, application (or unknown), environment (or unknown) and kind", () => {
    const alert = loadAlert("security-event");
    const group = digestGroup("email", "ops.team@example.com", alert);
    expect(group).toEqual({
      backend: "email",
      destination: destinationKey("email", "ops.team@example.com"),
      application: alert.applicationId,
      environment: alert.environment,
      kind: "security_event",
    });
    const bare: Alert = { ...alert, applicationId: null, environment: null };
    expect(digestGroup("email", "ops.team@example.com", bare)).toMatchObject({
      application: "unknown",
      environment: "unknown",
    });
    expect(groupKey(group)).not.toBe(groupKey({ ...group, kind: "incident" }));
    // Parts are encoded, never joined: a part with the separator cannot shift into the next one.
    expect(groupKey({ ...group, application: "a", environment: "b,c" })).not.toBe(
      groupKey({ ...group, application: "a,b", environment: "c" }),
    );
  });

  it("group internal alerts the same way, the administrators' destination being one of its own", () => {
    const internal = loadAlert("internal");
    const alerts = digestGroup("slack", "https://hooks.slack.com/alerts", internal);
    const admin = digestGroup("slack", "https://hooks.slack.com/admin", internal);
    expect(alerts.destination).not.toBe(admin.destination);
    expect({ ...alerts, destination: "" }).toEqual({ ...admin, destination: "" });
  });
});

describe("digest entries", () => {
  it("keep only what the digest shows: a valid DigestEntry, the link only when http(s)", () => {
    const alert = loadAlert("security-event");
    const kept = digestEntry(alert);
    expect(digestEntrySchema.parse(kept)).toEqual(kept);
    expect(kept).toMatchObject({ alertId: alert.id, severity: alert.severity, category: alert.sourceType });
    expect(digestEntry(loadAlert("hostile")).link).toBeNull();
    expect(Object.keys(kept)).not.toContain("text");
  });
});

describe("a window's summary", () => {
  const window = (entries: DigestEntry[]) => ({
    group: GROUP,
    entries,
    sentAlone: 3,
    openedAt: 0,
    closesAt: 60_000,
  });

  it("counts the alerts, per severity (most severe first) and per category, and finds the highest", () => {
    const summary = summarizeWindow(
      window([
        entry({ alertId: "1", severity: "low" }),
        entry({ alertId: "2", severity: "critical", category: "xss" }),
        entry({ alertId: "3", severity: "low" }),
      ]),
    );
    expect(summary.count).toBe(3);
    expect(summary.sentAlone).toBe(3);
    expect(summary.highest).toBe("critical");
    expect(summary.perSeverity).toEqual([
      { severity: "critical", count: 1 },
      { severity: "low", count: 2 },
    ]);
    expect(summary.categories).toEqual([
      { name: "sql_injection", count: 2 },
      { name: "xss", count: 1 },
    ]);
  });

  it("lists the top IPs with counts and countries, the first and last time, and distinct links", () => {
    const entries = Array.from({ length: 20 }, (_, index) =>
      entry({
        alertId: String(index),
        ips: [
          { address: `203.0.113.${index % 7}`, country: index % 7 === 0 ? "NLD" : null },
          { address: "198.51.100.23", country: "DEU" },
        ],
        at: `2026-10-02T10:${String(10 + index).padStart(2, "0")}:00.000Z`,
        link: `https://my.sqreen.com/e/${index % 4}`,
        category: `category-${index % 8}`,
      }),
    );
    const summary = summarizeWindow(window(entries.reverse()));
    expect(summary.topIps[0]).toEqual({ address: "198.51.100.23", country: "DEU", count: 20 });
    expect(summary.topIps).toHaveLength(DIGEST_TOP.ips);
    expect(summary.distinctIps).toBe(8);
    expect(summary.topIps.find((ip) => ip.address === "203.0.113.0")).toEqual({
      address: "203.0.113.0",
      country: "NLD",
      count: 3,
    });
    expect(summary.first).toBe("2026-10-02T10:10:00.000Z");
    expect(summary.last).toBe("2026-10-02T10:29:00.000Z");
    expect(summary.links).toHaveLength(DIGEST_TOP.links);
    expect(new Set(summary.links).size).toBe(DIGEST_TOP.links);
    expect(summary.categories).toHaveLength(DIGEST_TOP.categories);
    expect(summary.categories.reduce((sum, { count }) => sum + count, 0) + summary.otherCategories).toBe(20);
  });

  it("drops links that are not http(s), and marks a window of internal alerts", () => {
    const summary = summarizeWindow(window([entry({ link: "javascript:alert(1)", internal: true })]));
    expect(summary.links).toEqual([]);
    expect(summary.internal).toBe(true);
    expect(summarizeWindow(window([entry()])).internal).toBe(false);
  });

  it("refuses an empty window: a digest of nothing is a bug", () => {
    expect(() => summarizeWindow(window([]))).toThrow(/at least one entry/);
  });
});
