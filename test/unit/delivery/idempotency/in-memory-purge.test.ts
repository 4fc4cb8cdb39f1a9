/**
 * Regressions found by `npm run soak` in the in-memory idempotency store of the local relay:
 * - it scanned every record for expired ones on every put, so each delivery cost O(records) and
 *   throughput fell as it ran: expired records are now purged at most once a minute;
 * - it kept every record for 14 days, so memory grew by megabytes a second under load: it now
 *   keeps at most `maxRecords`, dropping the oldest written first.
 */
import { IdempotencyRecordStatus } from "@aws-lambda-powertools/idempotency";
import { IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IN_MEMORY_MAX_RECORDS, InMemoryPersistenceLayer } from "../../../../lambdas/delivery/idempotency.js";

/** Exposes the protected put the Powertools base class calls. */
class Store extends InMemoryPersistenceLayer {
  get(key: string): Promise<IdempotencyRecord> {
    return this._getRecord(key);
  }

  put(key: string, expiresAtSeconds: number): Promise<void> {
    return this._putRecord(
      new IdempotencyRecord({
        idempotencyKey: key,
        status: IdempotencyRecordStatus.COMPLETED,
        expiryTimestamp: expiresAtSeconds,
      }),
    );
  }
}

describe("in-memory idempotency store purge", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps an expired record until a minute has passed since the last purge", async () => {
    const store = new Store();
    await store.put("short-lived", 1);
    vi.setSystemTime(2_000);

    await store.put("second", 3600);

    expect(store.size).toBe(2);
  });

  it("drops expired records on the first put after a minute", async () => {
    const store = new Store();
    await store.put("short-lived", 1);
    await store.put("long-lived", 3600);
    vi.setSystemTime(61_000);

    await store.put("third", 3600);

    expect(store.size).toBe(2);
  });

  it("keeps at most maxRecords, dropping the oldest written first", async () => {
    const store = new Store({ maxRecords: 3 });
    for (const key of ["a", "b", "c", "d"]) await store.put(key, 3600);

    expect(store.size).toBe(3);
    await expect(store.get("a")).rejects.toThrow();
    await expect(store.get("d")).resolves.toBeInstanceOf(IdempotencyRecord);
  });

  it("caps the store by default, so a long-running local relay stays within bounded memory", async () => {
    const store = new Store();
    for (let index = 0; index <= IN_MEMORY_MAX_RECORDS; index += 1) await store.put(`key-${index}`, 3600);

    expect(store.size).toBe(IN_MEMORY_MAX_RECORDS);
  });
});
