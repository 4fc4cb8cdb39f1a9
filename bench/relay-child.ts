/**
 * The local relay under load, in its own process: `startLocalRelay` with all five backends on
 * (log to this process's stdout, which the parent sends to /dev/null; e-mail and SMS to in-memory
 * senders; Slack and HTTP to the sink server), every filter at `info` so each alert is routed to
 * all five. It timestamps each notification when ingest has enqueued it and each delivery when
 * the backend's handler finished it, and samples its own RSS.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Backend } from "../lambdas/contracts/messages.js";
import { parseRelaySettings } from "../lib/settings.js";
import { type LocalRelay, type LocalRelayStats, startLocalRelay } from "../local/pipeline.js";
import { serveCommands } from "./ipc.js";
import { percentileOfSorted as percentile } from "./stats.js";

export interface RelayStartOptions {
  signingKey: string;
  /** `http://127.0.0.1:port` of the sink server. */
  sinkUrl: string;
  /**
   * Only the front door Sqreen talks to: the API Gateway stand-in and the ingest handler, with a
   * queue that accepts in memory and forwards nothing (on AWS, SQS takes the notifications and the
   * rest of the pipeline runs in other functions, not in the process that answers Sqreen).
   */
  ingestOnly?: boolean;
  /**
   * The same relay on an in-memory database (no data directory, no fsync): what the relay costs
   * without durability, measured beside the durable one.
   */
  volatile?: boolean;
}

export interface RelayRunReport {
  /** Notifications ingest enqueued during the run. */
  accepted: number;
  /** Notifications every routed backend finished. */
  deliveredByAll: number;
  /** Per backend: deliveries finished and alerts its filter let through, during the run. */
  delivered: Record<string, number>;
  matched: Record<string, number>;
  retried: number;
  deadLetters: number;
  backends: number;
  /** Accepted notifications not delivered by every backend once the relay drained. */
  lost: number;
  acceptToDeliveredP50Ms: number;
  acceptToDeliveredP99Ms: number;
  rssStartBytes: number;
  rssPeakBytes: number;
  rssEndBytes: number;
  drainMs: number;
}

/**
 * How long a run's backlog may take to be delivered. wrk loads the relay past what it delivers
 * (the in-memory relay accepts about 8,000 notifications in a run and delivers about 150 a second
 * on a busy 2-core machine), so this is generous; a run that does not drain fails the benchmark
 * rather than reporting its backlog as lost.
 */
const DRAIN_TIMEOUT_MS = 240_000;

let relay: LocalRelay | undefined;
let dataDir: string | undefined;
/** Accepted-at time and backends still to deliver, per alert id. */
const pending = new Map<string, { acceptedAt: number; remaining: number }>();
let acceptToDelivered: number[] = [];
let accepted = 0;
let deliveredByAll = 0;
let rssPeak = 0;
let sampler: NodeJS.Timeout | undefined;
let before: LocalRelayStats | undefined;

/** The alert id is the Alert JSON's first key (route builds it so); JSON.parse only as a fallback. */
function alertIdOf(message: string): string | undefined {
  const match = /^\{"id":"((?:[^"\\]|\\.)*)"/.exec(message);
  if (match?.[1] !== undefined) return JSON.parse(`"${match[1]}"`) as string;
  const parsed = JSON.parse(message) as { id?: unknown };
  return typeof parsed.id === "string" ? parsed.id : undefined;
}

function delivered(id: string | undefined): void {
  if (id === undefined) return;
  const entry = pending.get(id);
  if (!entry) return;
  entry.remaining -= 1;
  if (entry.remaining === 0) {
    pending.delete(id);
    deliveredByAll += 1;
    acceptToDelivered.push(performance.now() - entry.acceptedAt);
  }
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((total, value) => total + value, 0);
}

serveCommands({
  async start(argument) {
    const options = argument as RelayStartOptions;
    dataDir = options.volatile ? undefined : mkdtempSync(join(tmpdir(), "sqreen-relay-bench-"));
    const everything = { minSeverity: "info" } as const;
    const settings = parseRelaySettings({
      backends: {
        log: { enabled: true, filter: everything },
        email: { enabled: true, filter: everything, from: "relay@example.com" },
        http: { enabled: true, filter: everything },
        sms: { enabled: true, filter: everything },
        slack: { enabled: true, filter: everything },
      },
    });
    let backendCount = 0;
    if (options.ingestOnly) {
      relay = await startLocalRelay({
        signingKeys: [options.signingKey],
        settings: parseRelaySettings({ backends: { log: { enabled: false } } }),
        secrets: {},
        wrapQueue: () => ({
          async enqueue(notifications) {
            accepted += notifications.length;
          },
        }),
      });
      return { webhookUrl: relay.webhookUrl, backends: [] };
    }
    relay = await startLocalRelay({
      signingKeys: [options.signingKey],
      settings,
      secrets: {
        email: { to: ["oncall@example.com"], adminTo: [], from: "relay@example.com" },
        sms: { phoneNumbers: ["+15555550100"], adminPhoneNumbers: [] },
        slack: { webhookUrl: `${options.sinkUrl}/slack` },
        http: {
          targets: [
            {
              url: `${options.sinkUrl}/http`,
              signingSecret: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
            },
          ],
        },
      },
      ...(dataDir ? { dataDir } : {}),
      // The load generator is the bound here: the relay must not refuse what it is measured on.
      maxPendingDeliveries: 10_000_000,
      emailSender: { send: async () => ({ messageId: "bench" }) },
      smsSender: { send: async () => ({ messageId: "bench" }) },
      wrapQueue: (queue) => ({
        async enqueue(notifications) {
          await queue.enqueue(notifications);
          const acceptedAt = performance.now();
          for (const notification of notifications) {
            pending.set(notification.eventId, { acceptedAt, remaining: backendCount });
          }
          accepted += notifications.length;
        },
      }),
      wrapBackend: (_backend: Backend, handler) => async (event, context) => {
        const result = await handler(event, context);
        delivered(alertIdOf(event.Records[0]?.Sns.Message ?? "{}"));
        return result;
      },
    });
    backendCount = relay.backends.length;
    return { webhookUrl: relay.webhookUrl, backends: [...relay.backends] };
  },

  async beginRun() {
    if (!relay) throw new Error("not started");
    pending.clear();
    acceptToDelivered = [];
    accepted = 0;
    deliveredByAll = 0;
    before = relay.stats();
    rssPeak = process.memoryUsage.rss();
    const rssStart = rssPeak;
    sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 100);
    return { rssStartBytes: rssStart };
  },

  async endRun(argument) {
    if (!relay || !before) throw new Error("no run begun");
    const { rssStartBytes } = argument as { rssStartBytes: number };
    const drainStarted = performance.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      relay.drained(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    const drainMs = performance.now() - drainStarted;
    if (pending.size > 0 && drainMs >= DRAIN_TIMEOUT_MS) {
      throw new Error(`${pending.size} notifications still undelivered after ${DRAIN_TIMEOUT_MS / 1000} s`);
    }
    clearInterval(sampler);
    const rssEnd = process.memoryUsage.rss();
    rssPeak = Math.max(rssPeak, rssEnd);
    const after = relay.stats();
    const start = before;
    const deltas = (field: "delivered" | "matched" | "retried") =>
      Object.fromEntries(
        Object.entries(after.backends).map(([name, stats]) => [
          name,
          stats[field] - (start.backends[name]?.[field] ?? 0),
        ]),
      );
    acceptToDelivered.sort((a, b) => a - b);
    const report: RelayRunReport = {
      accepted,
      deliveredByAll,
      delivered: deltas("delivered"),
      matched: deltas("matched"),
      retried: sum(deltas("retried")),
      deadLetters: sum(after.deadLetters) - sum(start.deadLetters),
      backends: relay.backends.length,
      lost: pending.size,
      acceptToDeliveredP50Ms: percentile(acceptToDelivered, 50),
      acceptToDeliveredP99Ms: percentile(acceptToDelivered, 99),
      rssStartBytes,
      rssPeakBytes: rssPeak,
      rssEndBytes: rssEnd,
      drainMs,
    };
    return report;
  },

  async close() {
    await relay?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    return null;
  },
});
