/**
 * The local relay's idempotency records on SQLite (local/store/idempotency-store.ts): DynamoDB's put
 * rules, the 14-day retention kept across restarts (the in-memory store it replaces forgot after
 * 20,000 newer records or a restart), and expired records deleted at most once a minute.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IdempotencyRecordStatus } from "@aws-lambda-powertools/idempotency";
import { IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SendOnce } from "../../../../lambdas/delivery/outcome.js";
import { SqlitePersistenceLayer, sqliteDeliveryGuard } from "../../../../local/store/idempotency-store.js";
import { RelayStore } from "../../../../local/store/relay-store.js";
import { lambdaContext } from "../../delivery/helpers.js";

/** Exposes the protected calls the Powertools base class makes. */
class Layer extends SqlitePersistenceLayer {
  get(key: string): Promise<IdempotencyRecord> {
    return this._getRecord(key);
  }

  put(key: string, expiresAtSeconds: number, status = IdempotencyRecordStatus.COMPLETED): Promise<void> {
    return this._putRecord(
      new IdempotencyRecord({ idempotencyKey: key, status, expiryTimestamp: expiresAtSeconds }),
    );
  }
}

describe("the SQLite idempotency store", () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "relay-idempotency-"));
  });
  afterEach(() => {
    vi.useRealTimers();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to overwrite a completed record that has not expired, and hands it back", async () => {
    const store = new RelayStore();
    const layer = new Layer(store);
    await layer.put("k", Date.now() / 1000 + 3600);

    await expect(layer.put("k", Date.now() / 1000 + 3600)).rejects.toMatchObject({
      name: "IdempotencyItemAlreadyExistsError",
      existingRecord: expect.any(IdempotencyRecord),
    });
    store.close();
  });

  it("overwrites an expired record", async () => {
    const store = new RelayStore();
    const layer = new Layer(store);
    await layer.put("k", Date.now() / 1000 - 1);

    await expect(layer.put("k", Date.now() / 1000 + 3600)).resolves.toBeUndefined();
    store.close();
  });

  it("recognises a send made before a restart: the same data directory, a new process's store", async () => {
    const first = new RelayStore({ dataDir: dir });
    const send = vi.fn(async () => ({ status: "delivered" as const, delivered: 1 }));
    const run = async (once?: SendOnce) => {
      if (!once) throw new Error("the guard handed the delivery no `once`");
      return once("#alerts", send);
    };
    await sqliteDeliveryGuard(first)(["slack", "alert-1"], run, lambdaContext());
    first.close();

    const second = new RelayStore({ dataDir: dir });
    const duplicate = await sqliteDeliveryGuard(second)(["slack", "alert-1"], run, lambdaContext());
    second.close();

    expect(send).toHaveBeenCalledOnce();
    expect(duplicate.details).toMatchObject({ duplicate: true });
  });

  it("keeps every record for its retention, however many newer ones are written", async () => {
    const store = new RelayStore();
    const layer = new Layer(store);
    await layer.put("oldest", Date.now() / 1000 + 3600);
    for (let index = 0; index < 25_000; index += 1) await layer.put(`key-${index}`, Date.now() / 1000 + 3600);

    await expect(layer.get("oldest")).resolves.toBeInstanceOf(IdempotencyRecord);
    store.close();
  });

  it("deletes expired records on the first put a minute after the last purge, not before", async () => {
    // Only the clock: the store's group commit runs on a real setImmediate (local/store/relay-store.ts).
    vi.useFakeTimers({ now: 1_000_000, toFake: ["Date"] });
    const store = new RelayStore();
    const layer = new Layer(store);
    await layer.put("short-lived", 1_001);
    await layer.put("long-lived", 10_000);
    vi.setSystemTime(1_002_000);
    await layer.put("second", 10_000);
    expect(layer.size).toBe(3);

    vi.setSystemTime(1_062_000);
    await layer.put("third", 10_000);

    expect(layer.size).toBe(3);
    await expect(layer.get("short-lived")).rejects.toThrow();
    store.close();
  });
});
