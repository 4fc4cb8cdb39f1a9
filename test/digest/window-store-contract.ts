/**
 * What every DigestWindowStore must do (lambdas/digest/seams.ts), as one suite each store runs:
 * DynamoDB in the integration tier (test/integration/digest-store.integration.test.ts), the
 * local relay's SQLite store in its own tier. Each test works on groups of its own (a fresh
 * destination), so a store shared by the whole suite gives the same answers as a fresh one.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type {
  Admission,
  DigestEntry,
  DigestGroup,
  DigestPolicy,
  DigestWindowStore,
  WindowClose,
} from "../../lambdas/digest/seams.js";

/** A fixed start, so windows and entries read the same in every run. */
const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const POLICY: DigestPolicy = { immediate: 3, windowSeconds: 60 };
const WINDOW_MS = POLICY.windowSeconds * 1000;

/** A group no other test uses: same application, a destination of its own. */
export function freshGroup(overrides: Partial<DigestGroup> = {}): DigestGroup {
  return {
    backend: "slack",
    destination: `destination-${randomUUID()}`,
    application: "shop",
    environment: "production",
    kind: "security_event",
    ...overrides,
  };
}

/** The n-th alert of a burst: its event time n seconds after T0, so the order is known. */
export function entry(n: number, overrides: Partial<DigestEntry> = {}): DigestEntry {
  return {
    alertId: `alert-${n}`,
    severity: n % 2 === 0 ? "high" : "medium",
    kind: "security_event",
    category: "sql_injection",
    ips: [{ address: `198.51.100.${n % 250}`, country: "FRA" }],
    at: new Date(T0 + n * 1000).toISOString(),
    link: null,
    ...overrides,
  };
}

/** Admits alerts 1..count of the group one after the other, each at T0 + its index in ms. */
async function admitBurst(
  store: DigestWindowStore,
  group: DigestGroup,
  count: number,
  policy: DigestPolicy = POLICY,
): Promise<Admission[]> {
  const admissions: Admission[] = [];
  for (let n = 1; n <= count; n++) admissions.push(await store.admit(group, entry(n), policy, T0 + n));
  return admissions;
}

function closed(result: WindowClose): Extract<WindowClose, { status: "closed" }> {
  if (result.status !== "closed") throw new Error(`expected a closed window, got ${result.status}`);
  return result;
}

/**
 * Registers the contract's tests for the store `makeStore` returns (called once per test; it may
 * return the same store every time).
 */
export function describeDigestWindowStore(
  name: string,
  makeStore: () => DigestWindowStore | Promise<DigestWindowStore>,
): void {
  describe(`${name} keeps the digest window contract`, () => {
    it("sends the first `immediate` alerts of a window alone and holds the rest for its digest", async () => {
      const store = await makeStore();
      const admissions = await admitBurst(store, freshGroup(), 5);

      expect(admissions.map((admission) => admission.mode)).toEqual([
        "immediate",
        "immediate",
        "immediate",
        "held",
        "held",
      ]);
      const windowIds = new Set(admissions.map((admission) => admission.windowId));
      expect(windowIds.size).toBe(1);
      // The window opened with its first alert, at T0 + 1.
      expect(admissions[3]).toMatchObject({ mode: "held", closesAt: T0 + 1 + WINDOW_MS });
    });

    it("holds every alert when `immediate` is 0", async () => {
      const store = await makeStore();
      const admissions = await admitBurst(store, freshGroup(), 2, { immediate: 0, windowSeconds: 60 });

      expect(admissions.map((admission) => admission.mode)).toEqual(["held", "held"]);
    });

    it("answers an alert admitted again with its first answer, and counts it once", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const [first] = await admitBurst(store, group, 4);
      const held = await store.admit(group, entry(4), POLICY, T0 + 10);
      const again = await store.admit(group, entry(1), POLICY, T0 + 20);

      expect(again).toEqual(first);
      expect(held).toMatchObject({ mode: "held" });
      const result = closed(await store.close(held.windowId, T0 + 1 + WINDOW_MS));
      expect(result.entries.map((kept) => kept.alertId)).toEqual(["alert-4"]);
      expect(result.sentAlone).toBe(3);
    });

    it("gives an alert admitted again after its window closed its first answer, not a new window", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const admissions = await admitBurst(store, group, 4);
      const held = admissions[3] as Admission;
      // As the backends do: the close scheduled and marked, then the window closed by it.
      await store.markScheduled(held.windowId);
      await store.close(held.windowId, T0 + 1 + WINDOW_MS);

      const replay = await store.admit(group, entry(4), POLICY, T0 + 2 * WINDOW_MS);

      expect(replay).toMatchObject({ mode: "held", windowId: held.windowId, needsSchedule: false });
    });

    it("keeps groups apart: another destination, application, environment or kind has its own window", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const [first] = await admitBurst(store, group, 1);
      for (const other of [
        freshGroup(),
        { ...group, application: "other-shop" },
        { ...group, environment: "staging" },
        { ...group, kind: "incident" as const },
        { ...group, backend: "email" as const },
      ]) {
        const admission = await store.admit(other, entry(1), POLICY, T0 + 2);
        expect(admission.mode).toBe("immediate");
        expect(admission.windowId).not.toBe(first?.windowId);
      }
    });

    it("opens a new window for an alert that comes once the window's closesAt has passed", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const [first] = await admitBurst(store, group, 4);

      const later = await store.admit(group, entry(5), POLICY, T0 + 1 + WINDOW_MS);

      expect(later.mode).toBe("immediate");
      expect(later.windowId).not.toBe(first?.windowId);
    });

    it("refuses to close a window before its closesAt, and says when it is due", async () => {
      const store = await makeStore();
      const admissions = await admitBurst(store, freshGroup(), 4);
      const held = admissions[3] as Admission;

      await expect(store.close(held.windowId, T0 + WINDOW_MS)).resolves.toEqual({
        status: "not-due",
        closesAt: T0 + 1 + WINDOW_MS,
      });
    });

    it("closes a window once, returning every held entry once, oldest first, and the same again on every later close", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const admissions = await admitBurst(store, group, 7);
      const windowId = (admissions[0] as Admission).windowId;

      const first = closed(await store.close(windowId, T0 + 1 + WINDOW_MS));
      const second = closed(await store.close(windowId, T0 + 5 * WINDOW_MS));

      expect(first).toEqual({
        status: "closed",
        group,
        entries: [entry(4), entry(5), entry(6), entry(7)],
        sentAlone: 3,
        openedAt: T0 + 1,
        closesAt: T0 + 1 + WINDOW_MS,
      });
      expect(second).toEqual(first);
    });

    it("lets no alert join a closed window, even one whose clock says it is still open", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const admissions = await admitBurst(store, group, 4);
      const windowId = (admissions[0] as Admission).windowId;
      const before = closed(await store.close(windowId, T0 + 1 + WINDOW_MS));

      // Another instance's clock, a second behind: by it the window is still open.
      const late = await store.admit(group, entry(8), POLICY, T0 + WINDOW_MS - 1000);

      expect(late.windowId).not.toBe(windowId);
      expect(late.mode).toBe("immediate");
      expect(closed(await store.close(windowId, T0 + 2 * WINDOW_MS))).toEqual(before);
    });

    it("says a window's close needs scheduling until markScheduled, and not after", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const admissions = await admitBurst(store, group, 5);
      const firstHeld = admissions[3] as Admission;
      expect(
        admissions.slice(3).map((admission) => admission.mode === "held" && admission.needsSchedule),
      ).toEqual([true, true]);

      await store.markScheduled(firstHeld.windowId);
      await store.markScheduled(firstHeld.windowId);

      const next = await store.admit(group, entry(6), POLICY, T0 + 6);
      expect(next).toMatchObject({ mode: "held", needsSchedule: false });
      expect(await store.admit(group, entry(4), POLICY, T0 + 7)).toMatchObject({
        mode: "held",
        windowId: firstHeld.windowId,
        needsSchedule: false,
      });
    });

    it("knows no window it never opened, and marking one scheduled does nothing", async () => {
      const store = await makeStore();
      const unknown = randomUUID();

      await store.markScheduled(unknown);

      await expect(store.close(unknown, T0)).resolves.toEqual({ status: "unknown" });
    });

    it("counts concurrent admits of distinct alerts exactly once: `immediate` alone, the rest in the digest", async () => {
      const store = await makeStore();
      const group = freshGroup();
      const alerts = Array.from({ length: 20 }, (_, index) => entry(index + 1));

      const admissions = await Promise.all(alerts.map((alert) => store.admit(group, alert, POLICY, T0 + 1)));

      const alone = admissions.filter((admission) => admission.mode === "immediate");
      const held = admissions.filter((admission) => admission.mode === "held");
      expect(alone).toHaveLength(POLICY.immediate);
      expect(new Set(admissions.map((admission) => admission.windowId)).size).toBe(1);
      const result = closed(await store.close((held[0] as Admission).windowId, T0 + 1 + WINDOW_MS));
      expect(result.sentAlone).toBe(POLICY.immediate);
      expect(result.entries).toHaveLength(alerts.length - POLICY.immediate);
      const sentAloneIds = new Set(
        alerts.filter((_, index) => admissions[index]?.mode === "immediate").map((alert) => alert.alertId),
      );
      expect(result.entries.some((kept) => sentAloneIds.has(kept.alertId))).toBe(false);
      expect(new Set(result.entries.map((kept) => kept.alertId)).size).toBe(held.length);
    });

    it("counts an alert admitted twice at the same moment once", async () => {
      const store = await makeStore();
      const group = freshGroup();
      await admitBurst(store, group, 3);

      const [a, b] = await Promise.all([
        store.admit(group, entry(9), POLICY, T0 + 10),
        store.admit(group, entry(9), POLICY, T0 + 10),
      ]);

      expect(a).toEqual(b);
      const result = closed(await store.close((a as Admission).windowId, T0 + 1 + WINDOW_MS));
      expect(result.entries.map((kept) => kept.alertId)).toEqual(["alert-9"]);
    });
  });
}
