/**
 * Regression: the in-memory idempotency store scanned every record for expired ones on every put,
 * so each delivery of a long-running local relay cost O(records) and throughput fell as it ran
 * (found by `npm run soak`). Expired records are now purged at most once a minute.
 */
import { IdempotencyRecordStatus } from "@aws-lambda-powertools/idempotency";
import { IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InMemoryPersistenceLayer } from "../../../lambdas/shared/idempotency.js";

/** Exposes the protected put the Powertools base class calls. */
class Store extends InMemoryPersistenceLayer {
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
});
