/**
 * Per-backend delivery metrics, from the same entries the ledger records: CloudWatch metrics in
 * the Embedded Metric Format (Powertools Metrics writes them as one log line per invocation; no
 * API call, no added latency). Namespace POWERTOOLS_METRICS_NAMESPACE (the stack's name),
 * dimensions `service` (METRICS_SERVICE) and `backend`. The dashboard and the alarms of
 * lib/constructs/relay-monitoring.ts read them by these names.
 */
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Backend } from "../contracts/messages.js";
import type { LedgerEntry } from "./entry.js";

/** The `service` dimension of every delivery metric (not each function's name: one series per backend). */
export const METRICS_SERVICE = "sqreen-relay";

export const DELIVERY_METRICS = {
  /** Destinations that got the alert (sent now, or by an earlier attempt), or counted it in a digest. */
  delivered: "Delivered",
  /** Destinations the alert did not concern (skipped, with a reason). */
  skipped: "Skipped",
  /** Destinations an attempt failed at (Lambda retries, then dead-letters). */
  failed: "Failed",
  /** Alerts the backend gave up on after its last attempt. */
  deadLettered: "DeadLettered",
  /** Milliseconds from the relay's acceptance of the request to the delivery (the slowest destination). */
  latency: "DeliveryLatency",
} as const;

/** The counts and latency of one attempt's entries. */
export function deliveryCounts(entries: readonly LedgerEntry[]): {
  delivered: number;
  skipped: number;
  failed: number;
  deadLettered: number;
  latencyMs: number | undefined;
} {
  const count = (...outcomes: LedgerEntry["outcome"][]) =>
    entries.filter((entry) => outcomes.includes(entry.outcome)).length;
  const latencies = entries
    .filter((entry) => entry.outcome === "delivered")
    .map((entry) => Date.parse(entry.recordedAt) - Date.parse(entry.acceptedAt))
    .filter((ms) => Number.isFinite(ms) && ms >= 0);
  return {
    delivered: count("delivered", "duplicate", "digested"),
    skipped: count("skipped"),
    failed: count("failed"),
    deadLettered: count("dead-lettered"),
    latencyMs: latencies.length > 0 ? Math.max(...latencies) : undefined,
  };
}

/** Emits the metrics of one attempt's entries under `backend` (a metric at 0 is still written, so "nothing delivered" is a datapoint). */
export function publishDeliveryMetrics(
  metrics: Metrics,
  backend: Backend,
  entries: readonly LedgerEntry[],
): void {
  const counts = deliveryCounts(entries);
  metrics.addDimension("backend", backend);
  metrics.addMetric(DELIVERY_METRICS.delivered, MetricUnit.Count, counts.delivered);
  metrics.addMetric(DELIVERY_METRICS.skipped, MetricUnit.Count, counts.skipped);
  metrics.addMetric(DELIVERY_METRICS.failed, MetricUnit.Count, counts.failed);
  metrics.addMetric(DELIVERY_METRICS.deadLettered, MetricUnit.Count, counts.deadLettered);
  if (counts.latencyMs !== undefined) {
    metrics.addMetric(DELIVERY_METRICS.latency, MetricUnit.Milliseconds, counts.latencyMs);
  }
  metrics.publishStoredMetrics();
}
