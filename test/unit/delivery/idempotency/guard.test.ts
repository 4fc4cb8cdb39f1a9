import type { Context } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createDeliveryGuard, IDEMPOTENCY_EXPIRY_SECONDS } from "../../../../lambdas/delivery/idempotency.js";
import {
  type DeliveryGuard,
  type DeliveryOutcome,
  REPLAYED_SEND,
  type SendOnce,
} from "../../../../lambdas/delivery/outcome.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../../../../lambdas/runtime/errors.js";
import { SqlitePersistenceLayer, sqliteDeliveryGuard } from "../../../../local/store/idempotency-store.js";
import { RelayStore } from "../../../../local/store/relay-store.js";
import { lambdaContext } from "../helpers.js";

const DELIVERED: DeliveryOutcome = {
  status: "delivered",
  delivered: 2,
  details: { recipients: ["a***@example.com"] },
};

/** A context whose deadline is `remainingMs` from now (by the possibly faked clock). */
function contextWithDeadline(remainingMs: number): Context {
  const deadline = Date.now() + remainingMs;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => Math.max(1, deadline - Date.now()) };
}

describe("the delivery guard", () => {
  let database: RelayStore;
  let store: SqlitePersistenceLayer;
  let guard: DeliveryGuard;

  beforeEach(() => {
    database = new RelayStore();
    store = new SqlitePersistenceLayer(database);
    guard = createDeliveryGuard({ persistenceStore: store });
  });
  afterEach(() => {
    vi.useRealTimers();
    database.close();
  });

  it("runs a delivery once per key and answers a duplicate with the recorded outcome, marked", async () => {
    const run = vi.fn(async () => DELIVERED);

    const first = await guard(["email", "alert-1"], run, lambdaContext());
    const second = await guard(["email", "alert-1"], run, lambdaContext());

    expect(run).toHaveBeenCalledOnce();
    expect(first).toEqual(DELIVERED);
    expect(second).toEqual({ ...DELIVERED, details: { ...DELIVERED.details, duplicate: true } });
  });

  it("runs the same alert again on another backend, and another alert on the same backend", async () => {
    const run = vi.fn(async () => DELIVERED);

    await guard(["email", "alert-1"], run, lambdaContext());
    await guard(["slack", "alert-1"], run, lambdaContext());
    await guard(["email", "alert-2"], run, lambdaContext());

    expect(run).toHaveBeenCalledTimes(3);
  });

  it("does not record a failed delivery: the error passes through and the retry runs it again", async () => {
    const failure = new TransientDeliveryError("SES throttled");
    const run = vi
      .fn<() => Promise<DeliveryOutcome>>()
      .mockRejectedValueOnce(failure)
      .mockResolvedValueOnce(DELIVERED);

    await expect(guard(["sms", "alert-1"], run, lambdaContext())).rejects.toBe(failure);
    const retried = await guard(["sms", "alert-1"], run, lambdaContext());

    expect(run).toHaveBeenCalledTimes(2);
    expect(retried).toEqual(DELIVERED);
    expect(store.size).toBe(1);
  });

  it("keeps a permanent failure's class, so the handler still reports it as not retryable", async () => {
    const run = vi.fn(async (): Promise<DeliveryOutcome> => {
      throw new PermanentDeliveryError("rejected address");
    });

    await expect(guard(["email", "alert-1"], run, lambdaContext())).rejects.toThrow(PermanentDeliveryError);
  });

  it("makes a duplicate that arrives while the first run is under way fail as transient, so the platform retries it", async () => {
    let finish: (outcome: DeliveryOutcome) => void = () => undefined;
    const slow = new Promise<DeliveryOutcome>((resolve) => {
      finish = resolve;
    });
    const run = vi.fn(() => slow);

    const first = guard(["slack", "alert-1"], run, lambdaContext());
    await vi.waitFor(() => expect(run).toHaveBeenCalledOnce());
    const duplicate = guard(["slack", "alert-1"], run, lambdaContext());

    await expect(duplicate).rejects.toThrow(TransientDeliveryError);
    await expect(duplicate).rejects.toThrow("Delivery slack of alert alert-1 is already in progress");
    finish(DELIVERED);
    await expect(first).resolves.toEqual(DELIVERED);
    await expect(guard(["slack", "alert-1"], run, lambdaContext())).resolves.toMatchObject({
      details: { duplicate: true },
    });
    expect(run).toHaveBeenCalledOnce();
  });

  it("lets a retry through once the invocation that died mid-delivery has passed its deadline", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const stuck = vi.fn(() => new Promise<DeliveryOutcome>(() => undefined));
    void guard(["http", "alert-1"], stuck, contextWithDeadline(30_000));
    await vi.waitFor(() => expect(stuck).toHaveBeenCalledOnce());
    const run = vi.fn(async () => DELIVERED);

    await expect(guard(["http", "alert-1"], run, contextWithDeadline(30_000))).rejects.toThrow(
      TransientDeliveryError,
    );
    vi.setSystemTime(Date.now() + 31_000);
    const retried = await guard(["http", "alert-1"], run, contextWithDeadline(30_000));

    expect(retried).toEqual(DELIVERED);
    expect(run).toHaveBeenCalledOnce();
  });

  it("forgets a delivery after the expiry, 14 days, as long as the dead-letter queues keep alerts", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const run = vi.fn(async () => DELIVERED);
    await guard(["email", "alert-1"], run, lambdaContext());

    vi.setSystemTime(Date.now() + (IDEMPOTENCY_EXPIRY_SECONDS - 60) * 1000);
    await guard(["email", "alert-1"], run, lambdaContext());
    vi.setSystemTime(Date.now() + 120 * 1000);
    await guard(["email", "alert-1"], run, lambdaContext());

    expect(IDEMPOTENCY_EXPIRY_SECONDS).toBe(14 * 24 * 60 * 60);
    expect(run).toHaveBeenCalledTimes(2);
  });
});

describe("the per-recipient guard a delivery receives", () => {
  let guard: DeliveryGuard;
  let database: RelayStore;

  beforeEach(() => {
    database = new RelayStore();
    guard = sqliteDeliveryGuard(database);
  });
  afterEach(() => database.close());

  /** A fan-out over `recipients` through `once`, failing for those in `failing`. */
  function fanOut(recipients: string[], failing: Set<string>, sent: string[]) {
    return async (once?: SendOnce): Promise<DeliveryOutcome> => {
      if (!once) throw new Error("the guard handed the delivery no `once`");
      const results = await Promise.allSettled(
        recipients.map((recipient) =>
          once(recipient, async () => {
            if (failing.has(recipient)) throw new TransientDeliveryError(`send failed`);
            sent.push(recipient);
            return { messageId: `m-${recipient}` };
          }),
        ),
      );
      if (results.some((result) => result.status === "rejected"))
        throw new TransientDeliveryError("partial failure");
      return { status: "delivered", delivered: recipients.length };
    };
  }

  it("on the retry after a partial failure, sends only to the recipients the first attempt missed", async () => {
    const sent: string[] = [];
    const failing = new Set(["b@example.com"]);
    const run = fanOut(["a@example.com", "b@example.com", "c@example.com"], failing, sent);

    await expect(guard(["email", "alert-1"], run, lambdaContext())).rejects.toThrow("partial failure");
    failing.clear();
    await guard(["email", "alert-1"], run, lambdaContext());
    await guard(["email", "alert-1"], run, lambdaContext());

    expect(sent.sort()).toEqual(["a@example.com", "b@example.com", "c@example.com"]);
  });

  it("returns the recorded result of a send it skips, marked replayed, so the outcome still counts that recipient", async () => {
    const results: unknown[] = [];
    let attempt = 0;
    const run = async (once?: SendOnce): Promise<DeliveryOutcome> => {
      attempt += 1;
      results.push(await once?.("+33600000001", async () => ({ messageId: `m-${attempt}` })));
      if (attempt === 1) throw new TransientDeliveryError("the other number failed");
      return { status: "delivered", delivered: 1 };
    };

    await expect(guard(["sms", "alert-1"], run, lambdaContext())).rejects.toThrow();
    await guard(["sms", "alert-1"], run, lambdaContext());

    expect(results).toEqual([{ messageId: "m-1" }, { messageId: "m-1", [REPLAYED_SEND]: true }]);
  });

  it("never mistakes a send for another alert's delivery, whatever the alert id holds (no `#` joins)", async () => {
    const sent: string[] = [];
    // With `#`-joined keys, alert `K1`'s send to the address had the key of alert `K1#<address>`.
    await guard(["email", "K1"], fanOut(["secops@example.com"], new Set(), sent), lambdaContext());
    const second = vi.fn(fanOut(["secops@example.com"], new Set(), sent));

    await guard(["email", "K1#secops@example.com"], second, lambdaContext());

    expect(second).toHaveBeenCalledOnce();
    expect(sent).toEqual(["secops@example.com", "secops@example.com"]);
  });

  it("keys each send by alert and backend too: the same recipient of another alert is sent to", async () => {
    const sent: string[] = [];
    const run = fanOut(["a@example.com"], new Set(), sent);

    await guard(["email", "alert-1"], run, lambdaContext());
    await guard(["email", "alert-2"], run, lambdaContext());

    expect(sent).toEqual(["a@example.com", "a@example.com"]);
  });
});
