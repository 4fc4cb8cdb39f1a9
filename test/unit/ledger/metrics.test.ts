/**
 * The per-backend delivery metrics: one EMF line per attempt (Powertools Metrics), counted from
 * the ledger's entries, under the names the dashboard and the alarms read.
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DELIVERY_METRICS,
  METRICS_SERVICE,
  publishDeliveryMetrics,
} from "../../../lambdas/ledger/delivery-metrics.js";
import { entriesForFailure, entriesForOutcome, ledgerSubject } from "../../../lambdas/ledger/entry.js";
import { captureLogs, type LogCapture, loadAlert } from "../delivery/helpers.js";

const alert = loadAlert("security-event");
const subject = ledgerSubject(alert, "email");

describe("the delivery metrics", () => {
  let logs: LogCapture;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  it("count the destinations delivered and the latency from acceptance, per backend", () => {
    const metrics = new Metrics({ namespace: "SqreenRelay", serviceName: METRICS_SERVICE });
    const deliveredAt = new Date(Date.parse(alert.receivedAt) + 1_500).toISOString();
    const entries = entriesForOutcome(
      subject,
      {
        status: "delivered",
        delivered: 2,
        destinations: [
          { destination: "o***@example.com", status: "delivered" },
          { destination: "s***@example.com", status: "duplicate" },
        ],
      },
      1,
      deliveredAt,
    );

    publishDeliveryMetrics(metrics, "email", entries);

    const [line] = logs.lines().filter((entry) => "_aws" in entry);
    expect(line).toMatchObject({
      service: METRICS_SERVICE,
      backend: "email",
      [DELIVERY_METRICS.delivered]: 2,
      [DELIVERY_METRICS.skipped]: 0,
      [DELIVERY_METRICS.failed]: 0,
      [DELIVERY_METRICS.deadLettered]: 0,
      [DELIVERY_METRICS.latency]: 1_500,
    });
  });

  it("count a failed attempt with nothing delivered as a datapoint at 0, which the alarm needs", () => {
    const metrics = new Metrics({ namespace: "SqreenRelay", serviceName: METRICS_SERVICE });
    const entries = entriesForFailure(subject, { message: "SES throttled" }, 3, new Date().toISOString());

    publishDeliveryMetrics(metrics, "email", entries);

    const [line] = logs.lines().filter((entry) => "_aws" in entry);
    expect(line).toMatchObject({ [DELIVERY_METRICS.delivered]: 0, [DELIVERY_METRICS.failed]: 1 });
    expect(line).not.toHaveProperty(DELIVERY_METRICS.latency);
  });
});
