import { createHash } from "node:crypto";
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

/**
 * A delivery that makes one send through `once` (to `recipient`), calling `send` for it: the guard
 * records sends, not deliveries (lambdas/delivery/idempotency.ts), so each test counts sends.
 */
function oneSend(
  send: () => Promise<DeliveryOutcome>,
  recipient = "a@example.com",
): (once?: SendOnce) => Promise<DeliveryOutcome> {
  return async (once) => {
    if (!once) throw new Error("the guard handed the delivery no `once`");
    return once(recipient, send);
  };
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

  it("sends once per key and answers a duplicate with the recorded result, marked", async () => {
    const send = vi.fn(async () => DELIVERED);

    const first = await guard(["email", "alert-1"], oneSend(send), lambdaContext());
    const second = await guard(["email", "alert-1"], oneSend(send), lambdaContext());

    expect(send).toHaveBeenCalledOnce();
    expect(first).toEqual(DELIVERED);
    expect(second).toEqual({
      ...DELIVERED,
      [REPLAYED_SEND]: true,
      details: { ...DELIVERED.details, duplicate: true },
    });
    // One record for the send; none for the delivery itself.
    expect(store.size).toBe(1);
  });

  it("sends the same alert again on another backend, and another alert on the same backend", async () => {
    const send = vi.fn(async () => DELIVERED);

    await guard(["email", "alert-1"], oneSend(send), lambdaContext());
    await guard(["slack", "alert-1"], oneSend(send), lambdaContext());
    await guard(["email", "alert-2"], oneSend(send), lambdaContext());

    expect(send).toHaveBeenCalledTimes(3);
  });

  it("does not record a failed send: the error passes through and the retry sends again", async () => {
    const failure = new TransientDeliveryError("SES throttled");
    const send = vi
      .fn<() => Promise<DeliveryOutcome>>()
      .mockRejectedValueOnce(failure)
      .mockResolvedValueOnce(DELIVERED);

    await expect(guard(["sms", "alert-1"], oneSend(send), lambdaContext())).rejects.toBe(failure);
    const retried = await guard(["sms", "alert-1"], oneSend(send), lambdaContext());

    expect(send).toHaveBeenCalledTimes(2);
    expect(retried).toEqual(DELIVERED);
    expect(store.size).toBe(1);
  });

  it("keeps a permanent failure's class, so the handler still reports it as not retryable", async () => {
    const send = vi.fn(async (): Promise<DeliveryOutcome> => {
      throw new PermanentDeliveryError("rejected address");
    });

    await expect(guard(["email", "alert-1"], oneSend(send), lambdaContext())).rejects.toThrow(
      PermanentDeliveryError,
    );
  });

  it("makes a duplicate that arrives while the first send is under way fail as transient, so the platform retries it", async () => {
    let finish: (outcome: DeliveryOutcome) => void = () => undefined;
    const slow = new Promise<DeliveryOutcome>((resolve) => {
      finish = resolve;
    });
    const send = vi.fn(() => slow);

    const first = guard(["slack", "alert-1"], oneSend(send), lambdaContext());
    await vi.waitFor(() => expect(send).toHaveBeenCalledOnce());
    const duplicate = guard(["slack", "alert-1"], oneSend(send), lambdaContext());

    await expect(duplicate).rejects.toThrow(TransientDeliveryError);
    await expect(duplicate).rejects.toThrow("Delivery slack of alert alert-1 is already in progress");
    finish(DELIVERED);
    await expect(first).resolves.toEqual(DELIVERED);
    await expect(guard(["slack", "alert-1"], oneSend(send), lambdaContext())).resolves.toMatchObject({
      details: { duplicate: true },
    });
    expect(send).toHaveBeenCalledOnce();
  });

  it("lets a retry through once the invocation that died mid-send has passed its deadline", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const stuck = vi.fn(() => new Promise<DeliveryOutcome>(() => undefined));
    void guard(["http", "alert-1"], oneSend(stuck), contextWithDeadline(30_000));
    await vi.waitFor(() => expect(stuck).toHaveBeenCalledOnce());
    const send = vi.fn(async () => DELIVERED);

    await expect(guard(["http", "alert-1"], oneSend(send), contextWithDeadline(30_000))).rejects.toThrow(
      TransientDeliveryError,
    );
    vi.setSystemTime(Date.now() + 31_000);
    const retried = await guard(["http", "alert-1"], oneSend(send), contextWithDeadline(30_000));

    expect(retried).toEqual(DELIVERED);
    expect(send).toHaveBeenCalledOnce();
  });

  it("forgets a send after the expiry, 14 days, as long as the dead-letter queues keep alerts", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const send = vi.fn(async () => DELIVERED);
    await guard(["email", "alert-1"], oneSend(send), lambdaContext());

    vi.setSystemTime(Date.now() + (IDEMPOTENCY_EXPIRY_SECONDS - 60) * 1000);
    await guard(["email", "alert-1"], oneSend(send), lambdaContext());
    vi.setSystemTime(Date.now() + 120 * 1000);
    await guard(["email", "alert-1"], oneSend(send), lambdaContext());

    expect(IDEMPOTENCY_EXPIRY_SECONDS).toBe(14 * 24 * 60 * 60);
    expect(send).toHaveBeenCalledTimes(2);
  });

  it("does not mark a delivery that made no send (nobody to reach) as a duplicate", async () => {
    const skipped: DeliveryOutcome = { status: "skipped", delivered: 0, reason: "nobody" };

    await guard(["email", "alert-1"], async () => skipped, lambdaContext());
    const again = await guard(["email", "alert-1"], async () => skipped, lambdaContext());

    expect(again).toEqual(skipped);
    expect(store.size).toBe(0);
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
    // Sent again: the second alert's send has a key of its own.
    expect(sent).toEqual(["secops@example.com", "secops@example.com"]);
  });

  it("keys each send by alert and backend too: the same recipient of another alert is sent to", async () => {
    const sent: string[] = [];
    const run = fanOut(["a@example.com"], new Set(), sent);

    await guard(["email", "alert-1"], run, lambdaContext());
    await guard(["email", "alert-2"], run, lambdaContext());

    expect(sent).toEqual(["a@example.com", "a@example.com"]);
  });

  it("keys a send's record as it always did, so records written by earlier versions still answer", async () => {
    const send = vi.fn(async () => DELIVERED);

    await guard(["email", "alert-1"], oneSend(send), lambdaContext());

    // SHA-256 (base64) of the encoded key as JSON text, after the fixed prefix: what the key path
    // `key` over `{ key }` hashed before the guard passed the encoded key itself.
    const encoded = JSON.stringify(["email", "alert-1", "a@example.com"]);
    const hash = createHash("sha256").update(JSON.stringify(encoded)).digest("base64");
    const row = database.db.prepare("SELECT key, status FROM idempotency").get();
    expect(row).toEqual({ key: `sqreen-relay#${hash}`, status: "COMPLETED" });
  });
});
