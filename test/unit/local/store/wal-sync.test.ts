/**
 * Acceptance durability in the relay store (local/store/relay-store.ts): an acceptance
 * (`commitDurably`) on a database file resolves only once an fdatasync of the WAL that began after
 * its commit has finished, on the thread pool, while the relay's own commits resolve at once; the
 * acceptances committed during one fsync share the next; a failed fsync rejects them.
 */
import type { NoParamCallback } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

/** The fsyncs asked for and not finished yet: finish one with its callback. */
const syncs = vi.hoisted(() => [] as Array<{ fd: number; done: NoParamCallback }>);

vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  return {
    ...fs,
    fdatasync: (fd: number, done: NoParamCallback) => {
      syncs.push({ fd, done });
    },
  };
});

const { RelayStore } = await import("../../../../local/store/relay-store.js");

/** Whether `promise` has settled, after the pending turns ran. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("the relay store's acceptance fsync", () => {
  let dir: string;
  let store: InstanceType<typeof RelayStore>;

  beforeEach(() => {
    syncs.length = 0;
    dir = mkdtempSync(join(tmpdir(), "relay-wal-sync-"));
    store = new RelayStore({ dataDir: dir });
    store.db.exec("CREATE TABLE t (v TEXT)");
  });

  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (value: string) => () => store.db.prepare("INSERT INTO t (v) VALUES (?)").run(value).changes;

  it("resolves an acceptance only after the WAL's fsync, and the relay's own commit at once", async () => {
    const accepted = store.commitDurably(insert("accepted"));
    const own = store.commit(insert("own"));

    expect(await settled(own)).toBe(true);
    expect(await settled(accepted)).toBe(false);
    // Committed already (another connection reads it), only not yet known to be on disk.
    const reader = new Database(join(dir, "relay.db"), { readonly: true });
    expect(reader.prepare("SELECT v FROM t ORDER BY v").all()).toEqual([{ v: "accepted" }, { v: "own" }]);
    reader.close();

    expect(syncs).toHaveLength(1);
    syncs.shift()?.done(null);
    await expect(accepted).resolves.toBe(1);
  });

  it("lets the acceptances committed during an fsync share the next one, begun after it", async () => {
    const first = store.commitDurably(insert("a"));
    await settled(first);
    const second = store.commitDurably(insert("b"));
    await settled(second);
    const third = store.commitDurably(insert("c"));
    await settled(third);
    // One fsync under way (the first's); the two later commits wait for it to finish.
    expect(syncs).toHaveLength(1);
    syncs.shift()?.done(null);
    await expect(first).resolves.toBe(1);
    expect(await settled(second)).toBe(false);
    expect(syncs).toHaveLength(1);
    syncs.shift()?.done(null);
    await expect(Promise.all([second, third])).resolves.toEqual([1, 1]);
  });

  it("rejects the acceptances of an fsync that failed", async () => {
    const accepted = store.commitDurably(insert("x"));
    await settled(accepted);
    syncs.shift()?.done(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
    await expect(accepted).rejects.toThrow(/EIO/);
  });

  it("syncs what is waiting at once when the store closes", async () => {
    const first = store.commitDurably(insert("a"));
    await settled(first);
    const waiting = store.commitDurably(insert("b"));
    await settled(waiting);
    store.close();
    await expect(waiting).resolves.toBe(1);
    syncs.shift()?.done(null);
    await expect(first).resolves.toBe(1);
  });

  it("answers at once on an in-memory database, which no power loss can roll back further", async () => {
    const memory = new RelayStore();
    memory.db.exec("CREATE TABLE t (v TEXT)");
    await expect(
      memory.commitDurably(() => memory.db.prepare("INSERT INTO t VALUES ('m')").run().changes),
    ).resolves.toBe(1);
    expect(syncs).toHaveLength(0);
    memory.close();
  });
});
