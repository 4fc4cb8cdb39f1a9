/**
 * The local relay's digest windows on SQLite (local/store/digest-windows.ts): idempotent
 * admissions, the window's close before and after closesAt, no alert joining after a close,
 * concurrent admissions within the process, a restart, and the expiry of old windows.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestGroup } from "../../../../lambdas/digest/rules.js";
import type { DigestPolicy } from "../../../../lambdas/digest/seams.js";
import { SqliteDigestWindowStore } from "../../../../local/store/digest-windows.js";
import { RelayStore } from "../../../../local/store/relay-store.js";
import { describeDigestWindowStore } from "../../../digest/window-store-contract.js";
import { loadAlert } from "../../delivery/helpers.js";
import { entry } from "../../digest/helpers.js";

const POLICY: DigestPolicy = { immediate: 2, windowSeconds: 60 };
const GROUP = digestGroup("email", "ops.team@example.com", loadAlert("security-event"));
const T0 = Date.parse("2026-10-02T10:00:00Z");

describe("the SQLite digest window store", () => {
  let dir: string;
  let store: RelayStore;
  let windows: SqliteDigestWindowStore;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "relay-digests-"));
    store = new RelayStore({ dataDir: dir });
    windows = new SqliteDigestWindowStore(store);
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const admit = (alertId: string, now = T0, group = GROUP) =>
    windows.admit(group, entry({ alertId }), POLICY, now);

  it("sends the first `immediate` of a window alone and holds the rest, scheduling the close once", async () => {
    const first = await admit("1");
    const second = await admit("2", T0 + 1_000);
    const third = await admit("3", T0 + 2_000);
    expect(first).toEqual({ mode: "immediate", windowId: expect.any(String) });
    expect(second).toEqual({ mode: "immediate", windowId: first.windowId });
    expect(third).toEqual({
      mode: "held",
      windowId: first.windowId,
      closesAt: T0 + 60_000,
      needsSchedule: true,
    });
    expect(await admit("4", T0 + 3_000)).toMatchObject({ mode: "held", needsSchedule: true });
    await windows.markScheduled(first.windowId);
    expect(await admit("5", T0 + 4_000)).toMatchObject({ mode: "held", needsSchedule: false });
  });

  it("gives a retried alert its first answer again, and counts it once", async () => {
    const answers = [];
    for (const id of ["1", "2", "3", "3", "1", "3"]) answers.push(await admit(id));
    expect(answers.map((answer) => answer.mode)).toEqual([
      "immediate",
      "immediate",
      "held",
      "held",
      "immediate",
      "held",
    ]);
    const closed = await windows.close(answers[0]?.windowId ?? "", T0 + 60_000);
    expect(closed).toMatchObject({ status: "closed", sentAlone: 2 });
    if (closed.status !== "closed") throw new Error("not closed");
    expect(closed.entries.map((held) => held.alertId)).toEqual(["3"]);
  });

  it("refuses to close before closesAt, then closes idempotently with every held entry, oldest first", async () => {
    const ids = ["1", "2", "3", "4", "5"];
    for (const [index, id] of ids.entries()) await admit(id, T0 + index);
    const { windowId } = await admit("1");
    expect(await windows.close(windowId, T0 + 59_999)).toEqual({ status: "not-due", closesAt: T0 + 60_000 });
    const closed = await windows.close(windowId, T0 + 60_000);
    expect(closed).toEqual({
      status: "closed",
      group: GROUP,
      entries: ["3", "4", "5"].map((alertId) => entry({ alertId })),
      sentAlone: 2,
      openedAt: T0,
      closesAt: T0 + 60_000,
    });
    expect(await windows.close(windowId, T0 + 120_000)).toEqual(closed);
    expect(await windows.close("no-such-window", T0)).toEqual({ status: "unknown" });
  });

  it("admits nothing to a window after its close, nor after closesAt: a new alert opens a new window", async () => {
    const { windowId } = await admit("1");
    await windows.close(windowId, T0 + 60_000);
    const later = await admit("2", T0 + 60_000);
    expect(later.windowId).not.toBe(windowId);
    expect(later.mode).toBe("immediate");
    // Past closesAt but not closed yet: the late alert still goes to a new window.
    const next = await admit("3", T0 + 130_000);
    expect(next.windowId).not.toBe(later.windowId);
    const closed = await windows.close(later.windowId, T0 + 200_000);
    expect(closed).toMatchObject({ status: "closed", entries: [], sentAlone: 1 });
  });

  it("keeps groups apart: another destination or kind is another window", async () => {
    const { windowId } = await admit("1");
    const other = digestGroup("email", "oncall.person@example.com", loadAlert("security-event"));
    expect((await admit("1", T0, other)).windowId).not.toBe(windowId);
    expect((await admit("1", T0, { ...GROUP, kind: "incident" })).windowId).not.toBe(windowId);
  });

  it("stays consistent when many deliveries admit at once within the process", async () => {
    const answers = await Promise.all(Array.from({ length: 200 }, (_, index) => admit(String(index % 100))));
    const distinct = new Map(answers.map((answer, index) => [String(index % 100), answer]));
    expect([...distinct.values()].filter((answer) => answer.mode === "immediate")).toHaveLength(2);
    expect(new Set(answers.map((answer) => answer.windowId)).size).toBe(1);
    for (const [index, answer] of answers.entries())
      expect(answer).toEqual(distinct.get(String(index % 100)));
    const closed = await windows.close(answers[0]?.windowId ?? "", T0 + 60_000);
    expect(closed.status === "closed" && closed.entries).toHaveLength(98);
  });

  it("keeps windows and admissions across a restart", async () => {
    for (const id of ["1", "2", "3"]) await admit(id);
    const { windowId } = await admit("3");
    store.close();
    store = new RelayStore({ dataDir: dir });
    windows = new SqliteDigestWindowStore(store);
    expect(await admit("3")).toMatchObject({ mode: "held", windowId, needsSchedule: true });
    expect(await admit("4")).toMatchObject({ mode: "held", windowId });
    const closed = await windows.close(windowId, T0 + 60_000);
    expect(closed.status === "closed" && closed.entries.map((held) => held.alertId)).toEqual(["3", "4"]);
  });

  it("deletes windows and admissions once their retention is over", async () => {
    windows = new SqliteDigestWindowStore(store, { retentionSeconds: 3_600 });
    const { windowId } = await admit("1");
    const count = () =>
      store.db.prepare("SELECT COUNT(*) AS n FROM digest_admissions").get() as { n: number };
    expect(count().n).toBe(1);
    await admit("2", T0 + 60_000 + 3_600_000 + 1);
    expect(await windows.close(windowId, T0 + 10_000_000)).toEqual({ status: "unknown" });
    expect(count().n).toBe(1);
  });
});

// The contract DynamoDB's store also keeps (test/integration/digest-store.integration.test.ts),
// on one in-memory database shared by the suite (each of its tests uses groups of its own).
describe("the SQLite digest window store, as every window store", () => {
  const shared = new RelayStore({});
  afterAll(() => shared.close());
  describeDigestWindowStore("the SQLite window store", () => new SqliteDigestWindowStore(shared));
});
