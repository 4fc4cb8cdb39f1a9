/**
 * The delivery chain records every outcome in the ledger (here the local one, the relay's SQLite
 * database in memory), counts attempts from the failures recorded, and never lets the ledger fail
 * a delivery.
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliverHandler } from "../../../lambdas/delivery/chain.js";
import { type DeliveryOutcome, withDestinations } from "../../../lambdas/delivery/outcome.js";
import { METRICS_SERVICE } from "../../../lambdas/ledger/delivery-metrics.js";
import { WHOLE_DELIVERY } from "../../../lambdas/ledger/entry.js";
import { type DeliveryLedger, LEDGER_WRITE_FAILED } from "../../../lambdas/ledger/ledger.js";
import { TransientDeliveryError } from "../../../lambdas/runtime/errors.js";
import { SqliteLedger } from "../../../local/store/ledger-store.js";
import { RelayStore } from "../../../local/store/relay-store.js";
import {
  captureLogs,
  debugLogger,
  type LogCapture,
  lambdaContext,
  loadAlert,
  loadSnsEvent,
} from "../delivery/helpers.js";

const alert = loadAlert("security-event");

describe("the delivery chain's ledger", () => {
  let logs: LogCapture;
  let store: RelayStore;
  let ledger: SqliteLedger;
  beforeEach(() => {
    logs = captureLogs();
    store = new RelayStore();
    ledger = new SqliteLedger(store);
  });
  afterEach(() => {
    logs.restore();
    store.close();
  });

  it("records a delivery per destination, at its first attempt", async () => {
    const deliver = async (): Promise<DeliveryOutcome> => ({
      status: "delivered",
      delivered: 2,
      destinations: [
        { destination: "o***@example.com", status: "delivered" },
        { destination: "s***@example.com", status: "duplicate" },
      ],
    });
    const handler = createDeliverHandler({
      backend: "email",
      deliver,
      logger: debugLogger(),
      recording: { ledger },
    });

    await handler(loadSnsEvent(), lambdaContext());

    expect(await ledger.find(alert.id)).toEqual([
      expect.objectContaining({
        destination: "o***@example.com",
        outcome: "delivered",
        attempt: 1,
        acceptedAt: alert.receivedAt,
      }),
      expect.objectContaining({ destination: "s***@example.com", outcome: "duplicate", attempt: 1 }),
    ]);
  });

  it("numbers each failed attempt from the failures already recorded, and the delivery after them", async () => {
    let calls = 0;
    const deliver = async (): Promise<DeliveryOutcome> => {
      calls += 1;
      if (calls < 3) {
        throw withDestinations(
          new TransientDeliveryError("HTTP target https://siem.example.com: status 500"),
          [
            { destination: "https://siem.example.com", status: "failed", reason: "status 500" },
            { destination: "https://soc.example.com", status: "delivered" },
          ],
        );
      }
      return {
        status: "delivered",
        delivered: 1,
        destinations: [{ destination: "https://siem.example.com", status: "delivered" }],
      };
    };
    const handler = createDeliverHandler({
      backend: "http",
      deliver,
      logger: debugLogger(),
      recording: { ledger },
    });

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow();
    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow();
    await handler(loadSnsEvent(), lambdaContext());

    const siem = (await ledger.find(alert.id)).filter(
      (entry) => entry.destination === "https://siem.example.com",
    );
    expect(siem.map((entry) => [entry.outcome, entry.attempt, entry.reason])).toEqual([
      ["failed", 1, "status 500"],
      ["failed", 2, "status 500"],
      ["delivered", 3, undefined],
    ]);
  });

  it("records the dead letter with the last failure when the platform dead-letters after it", async () => {
    const deliver = async (): Promise<DeliveryOutcome> => {
      throw new TransientDeliveryError("Slack webhook (alerts): status 500");
    };
    const handler = createDeliverHandler({
      backend: "slack",
      deliver,
      logger: debugLogger(),
      recording: { ledger, lastAttempt: 2 },
    });

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow();
    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow();

    expect(
      (await ledger.find(alert.id)).map((entry) => [entry.destination, entry.outcome, entry.attempt]),
    ).toEqual([
      [WHOLE_DELIVERY, "failed", 1],
      [WHOLE_DELIVERY, "failed", 2],
      [WHOLE_DELIVERY, "dead-lettered", 0],
    ]);
  });

  it("emits the delivery metrics of each attempt, delivered or failed, when given Powertools Metrics", async () => {
    const metrics = new Metrics({ namespace: "SqreenRelay", serviceName: METRICS_SERVICE });
    let calls = 0;
    const deliver = async (): Promise<DeliveryOutcome> => {
      calls += 1;
      if (calls === 1) throw new TransientDeliveryError("SES throttled");
      return {
        status: "delivered",
        delivered: 1,
        destinations: [{ destination: "o***@example.com", status: "delivered" }],
      };
    };
    const handler = createDeliverHandler({
      backend: "email",
      deliver,
      logger: debugLogger(),
      recording: { ledger, metrics },
    });

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow();
    await handler(loadSnsEvent(), lambdaContext());

    const emf = logs.lines().filter((line) => "_aws" in line);
    expect(emf).toEqual([
      expect.objectContaining({ backend: "email", Delivered: 0, Failed: 1 }),
      expect.objectContaining({ backend: "email", Delivered: 1, Failed: 0 }),
    ]);
  });

  it("delivers anyway when the ledger fails, and logs the failed write to be counted", async () => {
    const broken: DeliveryLedger = {
      record: async () => {
        throw new Error("disk I/O error");
      },
      failedAttempts: async () => {
        throw new Error("disk I/O error");
      },
    };
    const deliver = async (): Promise<DeliveryOutcome> => ({ status: "delivered", delivered: 1 });
    const handler = createDeliverHandler({
      backend: "log",
      deliver,
      logger: debugLogger(),
      recording: { ledger: broken },
    });

    await handler(loadSnsEvent(), lambdaContext());

    const failures = logs.lines().filter((line) => line.message === LEDGER_WRITE_FAILED);
    expect(failures).toEqual([
      expect.objectContaining({
        backend: "log",
        alertId: alert.id,
        ledgerWriteFailed: 1,
        errorName: "Error",
      }),
      expect.objectContaining({
        backend: "log",
        alertId: alert.id,
        ledgerWriteFailed: 1,
        outcome: "delivered",
      }),
    ]);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ message: "Alert delivered by log" }));
  });
});
