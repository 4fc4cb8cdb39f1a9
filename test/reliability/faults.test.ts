/**
 * Injected faults through the whole local relay (real HTTP, embedded queue and topic, all five
 * backends), each with its accounting: every accepted notification reaches every backend its
 * filters route it to, or sits in a dead-letter queue with the reason. Nothing is lost.
 * Duplicates are counted and printed, not hidden, at two levels: redeliveries (a backend's
 * handler succeeding again for an alert it already delivered: a 503 after a partial enqueue makes
 * Sqreen resend notifications already queued) and copies (a recipient actually receiving an alert
 * twice: without idempotent delivery a retried fan-out re-sends to the recipients it had already
 * reached, and a stalled request can still land after its function timed out). The assertions
 * hold with and without the pipeline's idempotency guard; the printed copies show its effect.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Backend } from "../../lambdas/contracts/messages.js";
import type { NotificationQueue } from "../../lambdas/ingest/sqs-queue.js";
import type { LocalRelayOptions } from "../../local/pipeline.js";
import { account, DeliveryLedger, formatReport, type ScenarioReport } from "./accounting.js";
import {
  type AlertFacts,
  awsError,
  type Bench,
  generateAlerts,
  inBatches,
  newRun,
  type ReceiverBehaviour,
  routedBackends,
  type SendBehaviour,
  type SendOptions,
  SIGNING_KEY,
  sendBatches,
  startBench,
} from "./harness.js";

interface Scenario {
  name: string;
  alerts?: number;
  batchSize?: number;
  options?: (ledger: DeliveryLedger, faults: { count: number }) => Partial<LocalRelayOptions>;
  /** Faults on the bench (receivers, senders, handler wrappers), before anything is sent. */
  arrange?: (bench: Bench, ledger: DeliveryLedger, faults: { count: number }) => void;
  send?: SendOptions;
  /** How long receivers must stay quiet before counting (stalled requests land late). */
  quietMs?: number;
}

interface Outcome {
  report: ScenarioReport;
  refused: number;
  alerts: AlertFacts[];
  bench: Bench;
}

const benches: Bench[] = [];
afterEach(async () => {
  for (const bench of benches.splice(0)) await bench.close();
});

/** The number in an alert id (`rel-<run>-<n>`). */
const numberOf = (alertId: string) => Number(alertId.split("-").pop());

async function run(scenario: Scenario): Promise<Outcome> {
  const ledger = new DeliveryLedger();
  const faults = { count: 0 };
  const bench = await startBench({ wrapBackend: ledger.wrapBackend, ...scenario.options?.(ledger, faults) });
  benches.push(bench);
  scenario.arrange?.(bench, ledger, faults);
  const alerts = generateAlerts(scenario.alerts ?? 60, newRun());

  const sent = await sendBatches(
    bench.relay.webhookUrl,
    inBatches(alerts, scenario.batchSize ?? 6),
    scenario.send,
  );
  await bench.relay.drained();
  await bench.receiver.idle(scenario.quietMs ?? 50);
  await bench.relay.drained();

  const report = account({
    scenario: scenario.name,
    relay: bench.relay,
    settings: bench.settings,
    ledger,
    books: [bench.receiver.book, bench.senders.book],
    accepted: sent.accepted,
    requestsTried: sent.tried,
    extraFaults: faults.count,
  });
  console.log(formatReport(report));
  expect(sent.given_up, "every request is finally accepted").toEqual([]);
  expect(report.lost, "lost (notification, backend) pairs").toBe(0);
  expect(report.pipelineBalanced, "per backend: matched = delivered + dead-lettered").toBe(true);
  return { report, refused: sent.refused, alerts, bench };
}

/** Routed (alert, backend) pairs of `alerts` on `backend`. */
function routedTo(bench: Bench, alerts: readonly AlertFacts[], backend: Backend): number {
  return alerts.filter((facts) => routedBackends(facts, bench.settings).includes(backend as never)).length;
}

describe("reliability: injected faults, with accounting", () => {
  it("delivers every notification to every routed backend exactly once when nothing fails", async () => {
    const { report } = await run({ name: "no faults" });

    expect(report.delivered).toBe(report.expectedDeliveries);
    expect(report.deadLettered).toBe(0);
    expect(report.duplicateDeliveries).toBe(0);
    expect(report.duplicateCopies).toBe(0);
  });

  describe("ingest queue", () => {
    it("answers 503 when some entries of a send fail, and Sqreen's resend delivers everything (with duplicates)", async () => {
      const { report, refused } = await run({
        name: "queue: some entries fail",
        options: (_, faults) => ({
          wrapQueue: (queue: NotificationQueue): NotificationQueue => {
            let calls = 0;
            return {
              async enqueue(notifications) {
                calls += 1;
                if (calls % 2 === 1 && calls <= 8) {
                  // Half the batch is durably queued, then the queue fails: the sender must resend all.
                  await queue.enqueue(notifications.slice(0, Math.ceil(notifications.length / 2)));
                  faults.count += 1;
                  throw new Error("injected: SendMessageBatch failed for some entries");
                }
                await queue.enqueue(notifications);
              },
            };
          },
        }),
      });

      expect(refused).toBeGreaterThan(0);
      expect(report.delivered).toBe(report.expectedDeliveries);
      // The half queued before the failure is queued again by the resend: reported, not lost.
      expect(report.duplicateDeliveries).toBeGreaterThan(0);
    });

    it("answers 503 when every entry fails, and the resend delivers everything once", async () => {
      const { report, refused } = await run({
        name: "queue: all entries fail",
        options: (_, faults) => ({
          wrapQueue: (queue: NotificationQueue): NotificationQueue => {
            let calls = 0;
            return {
              async enqueue(notifications) {
                calls += 1;
                if (calls <= 6) {
                  faults.count += 1;
                  throw new Error("injected: SQS unavailable");
                }
                await queue.enqueue(notifications);
              },
            };
          },
        }),
      });

      expect(refused).toBe(6);
      expect(report.delivered).toBe(report.expectedDeliveries);
      expect(report.duplicateDeliveries).toBe(0);
    });
  });

  describe("alerts topic", () => {
    it("retries the records whose publish failed transiently, and delivers them once", async () => {
      const { report } = await run({
        name: "topic: publish fails transiently",
        options: (_, faults) => ({
          wrapPublisher: (publisher) => {
            const failed = new Set<string>();
            return {
              async publish(alert) {
                if (numberOf(alert.id) % 3 === 0 && !failed.has(alert.id)) {
                  failed.add(alert.id);
                  faults.count += 1;
                  throw new Error("injected: SNS throttled");
                }
                await publisher.publish(alert);
              },
            };
          },
        }),
      });

      expect(report.delivered).toBe(report.expectedDeliveries);
      expect(report.deadLettered).toBe(0);
      expect(report.duplicateDeliveries).toBe(0);
    });

    it("dead-letters in the ingest queue what can never be published, after maxReceiveCount receives", async () => {
      const { report, bench, alerts } = await run({
        name: "topic: publish fails persistently",
        options: (_, faults) => ({
          wrapPublisher: (publisher) => ({
            async publish(alert) {
              if (numberOf(alert.id) % 7 === 0) {
                faults.count += 1;
                throw new Error("injected: SNS topic unavailable");
              }
              await publisher.publish(alert);
            },
          }),
        }),
      });

      const poisoned = alerts.filter((facts) => numberOf(facts.id) % 7 === 0);
      expect(bench.relay.stats().queue.deadLettered).toBe(poisoned.length);
      expect(report.deadLetterReasons.ingest).toEqual(["reported as a batch item failure by the consumer"]);
      const parked = poisoned.reduce(
        (total, facts) => total + routedBackends(facts, bench.settings).length,
        0,
      );
      expect(report.deadLettered).toBe(parked);
      expect(report.delivered).toBe(report.expectedDeliveries - parked);
    });
  });

  it("answers 503 and enqueues nothing while the key store is unavailable, then accepts the resend", async () => {
    let enqueues = 0;
    const { report, refused, bench } = await run({
      name: "key store unavailable",
      options: (_, faults) => ({
        keyStore: {
          source: "injected failing store",
          async getKeys() {
            if (faults.count < 6) {
              faults.count += 1;
              throw new Error("injected: Secrets Manager unavailable");
            }
            return [SIGNING_KEY];
          },
        },
        wrapQueue: (queue) => ({
          async enqueue(notifications) {
            enqueues += 1;
            await queue.enqueue(notifications);
          },
        }),
      }),
    });

    expect(refused).toBe(6);
    // One enqueue per request finally accepted: none for the refused ones.
    expect(enqueues).toBe(10);
    expect(bench.relay.stats().queue.sent).toBe(report.accepted);
    expect(report.delivered).toBe(report.expectedDeliveries);
    expect(report.duplicateDeliveries).toBe(0);
  });

  describe("each backend failing transiently recovers through retries", () => {
    const transient: Record<
      Backend,
      (bench: Bench, ledger: DeliveryLedger, faults: { count: number }) => void
    > = {
      log: (_, ledger, faults) => {
        const failed = new Set<string>();
        ledger.faults.set("log", async (alertId, deliver) => {
          if (!failed.has(alertId)) {
            failed.add(alertId);
            faults.count += 1;
            throw new Error("injected: log sink unavailable");
          }
          return deliver();
        });
      },
      email: (bench) => {
        bench.senders.emailBehaviour = failFirst("email:sec@example.com", 1, () =>
          awsError("ServiceUnavailable", 503),
        );
      },
      sms: (bench) => {
        bench.senders.smsBehaviour = failFirst("sms:+33612345679", 1, () =>
          awsError("ThrottlingException", 400),
        );
      },
      // Three 503s exhaust the in-process retries: the platform retry re-posts to both targets.
      http: (bench) => {
        bench.receiver.behaviour = replyFirst("/http/b", 3, { status: 503, retryAfter: "0" });
      },
      slack: (bench) => {
        bench.receiver.behaviour = replyFirst("/slack/alerts", 3, { status: 503, retryAfter: "0" });
      },
    };

    for (const [backend, arrange] of Object.entries(transient) as [Backend, (typeof transient)[Backend]][]) {
      it(`${backend}: every routed alert delivered once by the backend, nothing dead-lettered`, async () => {
        const { report } = await run({ name: `${backend}: transient failures`, alerts: 40, arrange });

        expect(report.faultsInjected).toBeGreaterThan(0);
        expect(report.delivered).toBe(report.expectedDeliveries);
        expect(report.deadLettered).toBe(0);
        expect(report.duplicateDeliveries).toBe(0);
      });
    }
  });

  describe("each backend failing permanently dead-letters there, with the reason, and spares the others", () => {
    const poisoned = (alertId: string) => numberOf(alertId) % 5 === 0;
    const permanent: Record<Backend, { reason: RegExp; arrange: Scenario["arrange"] }> = {
      log: {
        reason: /injected: log line refused/,
        arrange: (_, ledger, faults) => {
          ledger.faults.set("log", async (alertId, deliver) => {
            if (poisoned(alertId)) {
              faults.count += 1;
              throw new Error("injected: log line refused");
            }
            return deliver();
          });
        },
      },
      email: {
        reason: /MessageRejected \(permanent, status 400\)/,
        arrange: (bench) => {
          bench.senders.emailBehaviour = (channel, alertId) =>
            channel === "email:sec@example.com" && poisoned(alertId)
              ? awsError("MessageRejected", 400)
              : undefined;
        },
      },
      sms: {
        reason: /InvalidParameter \(permanent, status 400\)/,
        arrange: (bench) => {
          bench.senders.smsBehaviour = (channel, alertId) =>
            channel === "sms:+33612345678" && poisoned(alertId)
              ? awsError("InvalidParameter", 400)
              : undefined;
        },
      },
      http: {
        reason: /status 410 \(permanent\)/,
        arrange: (bench) => {
          bench.receiver.behaviour = (channel, alertId) =>
            channel === "/http/b" && poisoned(alertId) ? { status: 410 } : { status: 200 };
        },
      },
      slack: {
        reason: /status 404 \(permanent\)|status 404/,
        arrange: (bench) => {
          bench.receiver.behaviour = (channel, alertId) =>
            channel === "/slack/alerts" && poisoned(alertId) ? { status: 404 } : { status: 200 };
        },
      },
    };

    for (const [backend, { reason, arrange }] of Object.entries(permanent) as [
      Backend,
      (typeof permanent)[Backend],
    ][]) {
      it(`${backend}: the poisoned alerts are in ${backend}'s dead letters only`, async () => {
        const { report, bench, alerts } = await run({
          name: `${backend}: permanent failures`,
          alerts: 40,
          arrange,
        });

        const expectedParked = routedTo(
          bench,
          alerts.filter((facts) => poisoned(facts.id)),
          backend,
        );
        expect(expectedParked).toBeGreaterThan(0);
        expect(Object.keys(report.deadLetterReasons)).toEqual([backend]);
        expect(bench.relay.stats().deadLetters[backend]).toBe(expectedParked);
        for (const text of report.deadLetterReasons[backend] ?? []) expect(text).toMatch(reason);
        expect(report.deadLettered).toBe(expectedParked);
        expect(report.delivered).toBe(report.expectedDeliveries - expectedParked);
      });
    }
  });

  describe("slow backends past the delivery timeout", () => {
    it("retries a delivery that stalled once, and counts the late copy the receiver still got", async () => {
      const { report } = await run({
        name: "http: stalls once past the timeout",
        alerts: 30,
        options: () => ({ deliveryTimeoutMs: 300 }),
        arrange: (bench) => {
          bench.receiver.behaviour = (channel, _, attempt) =>
            channel === "/http/a" && attempt === 1 ? { status: 200, delayMs: 600 } : { status: 200 };
        },
        quietMs: 200,
      });

      // The stalled first post may still land after the function timed out: counted in the copies.
      expect(report.delivered).toBe(report.expectedDeliveries);
      expect(report.deadLettered).toBe(0);
    });

    it("dead-letters a delivery that always stalls, with the timeout as the reason", async () => {
      const stalls = (alertId: string) => numberOf(alertId) % 4 === 0;
      const { report, bench, alerts } = await run({
        name: "slack: always stalls past the timeout",
        alerts: 30,
        options: () => ({ deliveryTimeoutMs: 300 }),
        arrange: (bench) => {
          bench.receiver.behaviour = (channel, alertId) =>
            // Longer than all three attempts together: even the first one's late answer comes too late.
            channel === "/slack/alerts" && stalls(alertId) ? { status: 200, delayMs: 1500 } : { status: 200 };
        },
        quietMs: 300,
      });

      const expectedParked = routedTo(
        bench,
        alerts.filter((facts) => stalls(facts.id)),
        "slack",
      );
      // middy stops the handler just before the function timeout (its timeoutEarlyInMillis), as on Lambda.
      // With idempotent delivery a retry may instead find the stalled attempt still in progress.
      for (const text of report.deadLetterReasons.slack ?? []) {
        expect(text).toMatch(/TimeoutError|timed out|in progress/i);
      }
      expect(Object.keys(report.deadLetterReasons)).toEqual(["slack"]);
      expect(report.deadLettered).toBe(expectedParked);
      expect(report.delivered).toBe(report.expectedDeliveries - expectedParked);
    });
  });
});

/** Fails the first `times` sends of each alert to `channel`. */
function failFirst(channel: string, times: number, error: () => Error): SendBehaviour {
  return (name, _, attempt) => (name === channel && attempt <= times ? error() : undefined);
}

/** Answers `reply` to the first `times` receipts of each alert on `channel`, then 200. */
function replyFirst(
  channel: string,
  times: number,
  reply: { status: number; retryAfter?: string },
): ReceiverBehaviour {
  return (name, _, attempt) => (name === channel && attempt <= times ? reply : { status: 200 });
}
