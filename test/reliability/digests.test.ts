/**
 * The issue's "Measure" for digests (issue 15), on the whole local relay: a burst of 1000
 * security events from one application, then 100 more after the first windows closed, to Slack
 * (one channel), e-mail and SMS (two recipients each). Per destination it counts the messages,
 * the alerts sent alone and those covered by digests (their sum must equal what was accepted:
 * zero lost, zero counted twice), the time from the first request to the first message and to the
 * first digest; then the same with every backend failing transiently part of the time (5xx,
 * Slack's 429 with Retry-After, throttling), and with the relay process killed with -9 in the
 * middle, as test/reliability/crash.test.ts does.
 *
 * Time is compressed so the file runs in well under a minute per scenario: windows of 10 seconds
 * (the smallest the settings allow) instead of the defaults' minutes, the burst sent in about a
 * second instead of ten, and the 100 sent once the burst's digests are out (about 12 s later)
 * instead of a minute later. The shape (one window for the burst, a new one for the rest) is the
 * issue's.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EmailMessage, EmailSender } from "../../lambdas/deliver-email/ses-email.js";
import type { SmsSender } from "../../lambdas/deliver-sms/sns-sms.js";
import { TransientDeliveryError } from "../../lambdas/runtime/errors.js";
import { parseRelaySettings } from "../../lib/settings.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import { freePort } from "../local/processes.js";
import { outboxEmails, outboxSms } from "../local/support.js";
import { type RecordedRequest, type Reply, startServer, type TestServer } from "../unit/delivery/helpers.js";
import {
  ALERT_ID_PATTERN,
  type AlertFacts,
  awsError,
  inBatches,
  newRun,
  OWN_APPLICATION_ID,
  SIGNING_KEY,
  sendBatches,
  sleep,
} from "./harness.js";
import { RelayProcess } from "./relay-process.js";

const WINDOW_SECONDS = 10;
const BURST = 1000;
const LATER = 100;
const EMAIL_TO = ["ops@example.com", "sec@example.com"];
const SMS_TO = ["+33612345678", "+33612345679"];

/** The settings under test: every alert routed to the three human backends, short windows. */
const SETTINGS = {
  ownApplicationIds: [OWN_APPLICATION_ID],
  backends: {
    log: { enabled: false },
    email: {
      enabled: true,
      from: "relay@example.com",
      digest: { immediate: 3, windowSeconds: WINDOW_SECONDS },
    },
    sms: {
      enabled: true,
      filter: { minSeverity: "low" },
      digest: { immediate: 1, windowSeconds: WINDOW_SECONDS },
    },
    slack: { enabled: true, digest: { immediate: 3, windowSeconds: WINDOW_SECONDS } },
  },
  local: { drainSeconds: 2 },
} as const;

/** Security events of one application and environment (harness.notificationOf), ids `rel-<run>-<n>`. */
function oneApplication(count: number, run: string, start = 0): AlertFacts[] {
  return Array.from({ length: count }, (_, offset) => {
    const n = start + offset;
    return {
      id: `rel-${run}-${n}`,
      risk: [20, 50, 75, 95][n % 4] as number,
      environment: "production",
      internal: false,
    };
  });
}

/** One message a destination received: a single alert, or a digest of `covers` alerts. */
interface Received {
  at: number;
  alertId?: string;
  covers?: number;
}

/** What every destination received, and the accounting of it. */
class Destinations {
  readonly received = new Map<string, Received[]>();
  /** Refusals injected, per kind. */
  readonly faults = new Map<string, number>();
  startedAt = 0;

  fault(kind: string): void {
    this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1);
  }

  note(destination: string, text: string, digest: boolean): void {
    const list = this.received.get(destination) ?? [];
    const covers = digest ? Number(/(\d+) alerts?\b/.exec(text)?.[1] ?? Number.NaN) : undefined;
    list.push(
      digest
        ? { at: Date.now(), covers }
        : { at: Date.now(), alertId: text.match(ALERT_ID_PATTERN)?.[0] ?? "?" },
    );
    this.received.set(destination, list);
  }

  /** Per destination: messages, alerts alone (distinct), their copies beyond one, digests, alerts they cover, timings. */
  report() {
    return Object.fromEntries(
      [...this.received].map(([destination, list]) => {
        const singles = list.filter((message) => message.alertId !== undefined);
        const digests = list.filter((message) => message.covers !== undefined);
        const alone = new Set(singles.map((message) => message.alertId)).size;
        const covered = digests.reduce((sum, message) => sum + (message.covers ?? 0), 0);
        const first = Math.min(...list.map((message) => message.at));
        const firstDigest = Math.min(...digests.map((message) => message.at));
        return [
          destination,
          {
            messages: list.length,
            alone,
            copies: singles.length - alone,
            digests: digests.length,
            covered,
            total: alone + covered,
            firstMessageMs: first - this.startedAt,
            firstDigestMs: firstDigest - this.startedAt,
          },
        ];
      }),
    );
  }
}

/** Slack's webhook: records what it accepted; `fail` decides a refusal per channel, alert and attempt. */
async function slackReceiver(
  destinations: Destinations,
  fail: (key: string, attempt: number, ordinal: number) => Reply | undefined = () => undefined,
): Promise<TestServer> {
  const attempts = new Map<string, number>();
  const ordinals = new Map<string, number>();
  return startServer((request: RecordedRequest) => {
    const { text } = JSON.parse(request.body) as { text: string };
    const digest = text.includes("[Sqreen digest]");
    const key = digest ? text : (request.body.match(ALERT_ID_PATTERN)?.[0] ?? "?");
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    if (!ordinals.has(key)) ordinals.set(key, ordinals.size);
    const refusal = fail(key, attempt, ordinals.get(key) ?? 0);
    if (refusal) {
      destinations.fault(`slack ${refusal === "hang" ? "hang" : refusal.status}`);
      return refusal;
    }
    destinations.note(`slack:${request.path}`, digest ? text : request.body, digest);
    return { status: 200, body: "ok" };
  });
}

/** The e-mail and SMS providers, recording what they accepted; `fail` decides a failure per message. */
function senders(
  destinations: Destinations,
  fail: (channel: "email" | "sms", key: string, attempt: number, ordinal: number) => Error | undefined = () =>
    undefined,
): { email: EmailSender; sms: SmsSender } {
  const attempts = new Map<string, number>();
  const ordinals = new Map<string, number>();
  const attempt = (key: string) => {
    const next = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, next);
    return next;
  };
  /** The how-many-th distinct message `key` is (0-based). */
  const ordinal = (key: string) => {
    if (!ordinals.has(key)) ordinals.set(key, ordinals.size);
    return ordinals.get(key) ?? 0;
  };
  return {
    email: {
      send: async (message: EmailMessage) => {
        const digest = message.subject.includes("[Sqreen digest]");
        const key = `${message.to} ${digest ? message.subject : (message.text.match(ALERT_ID_PATTERN)?.[0] ?? "?")}`;
        const error = fail("email", key, attempt(key), ordinal(key));
        if (error) {
          destinations.fault(`email ${error.name}`);
          throw error;
        }
        destinations.note(`email:${message.to}`, digest ? message.subject : message.text, digest);
        return { messageId: key };
      },
    },
    sms: {
      send: async (phoneNumber: string, text: string) => {
        const digest = text.startsWith("Sqreen digest");
        const key = `${phoneNumber} ${text}`;
        const error = fail("sms", key, attempt(key), ordinal(key));
        if (error) {
          destinations.fault(`sms ${error.name}`);
          throw error;
        }
        destinations.note(`sms:${phoneNumber}`, text, digest);
        return { messageId: key };
      },
    },
  };
}

/** Sends the burst, waits for its digests, then sends the rest: what was accepted. */
async function measure(
  webhookUrl: string,
  destinations: Destinations,
  settle: () => Promise<void>,
): Promise<AlertFacts[]> {
  const run = newRun();
  destinations.startedAt = Date.now();
  const burst = await sendBatches(webhookUrl, inBatches(oneApplication(BURST, run), 100), { concurrency: 2 });
  expect(burst.given_up).toEqual([]);
  // The burst's windows close WINDOW_SECONDS after its first alert; the rest falls in new windows.
  await sleep(WINDOW_SECONDS * 1000 + 1_500);
  await settle();
  const later = await sendBatches(webhookUrl, inBatches(oneApplication(LATER, run, BURST), 50), {
    concurrency: 2,
  });
  expect(later.given_up).toEqual([]);
  return [...burst.accepted, ...later.accepted];
}

const DESTINATIONS = (slackPath: string) => [
  `slack:${slackPath}`,
  ...EMAIL_TO.map((to) => `email:${to}`),
  ...SMS_TO.map((number) => `sms:${number}`),
];

function printReport(scenario: string, destinations: Destinations, accepted: number): void {
  const faults = [...destinations.faults].map(([kind, count]) => `${kind} ×${count}`).join(", ");
  console.log(`digests (${scenario}): accepted ${accepted}${faults ? `; faults injected: ${faults}` : ""}`);
  for (const [destination, figures] of Object.entries(destinations.report())) {
    console.log(`  ${destination}: ${JSON.stringify(figures)}`);
  }
}

describe("digests under a burst (issue 15's Measure)", () => {
  let receiver: TestServer | undefined;
  let relay: LocalRelay | undefined;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "relay-digests-"));
  });
  afterEach(async () => {
    await relay?.close();
    await receiver?.close();
    relay = undefined;
    receiver = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(destinations: Destinations, failing: boolean): Promise<LocalRelay> {
    receiver = await slackReceiver(
      destinations,
      failing
        ? (key, attempt, ordinal) => {
            // Every first attempt of a digest fails, and of two single alerts in three: one in
            // three with Slack's rate limit, longer than the in-function retries wait (the alert
            // waits on the queue), the others with a 503.
            if (attempt > 1) return undefined;
            if (key.includes("[Sqreen digest]")) return { status: 503, body: "unavailable" };
            if (ordinal % 3 === 0)
              return { status: 429, headers: { "retry-after": "6" }, body: "rate_limited" };
            if (ordinal % 3 === 1) return { status: 503, body: "unavailable" };
            return undefined;
          }
        : undefined,
    );
    const providers = senders(
      destinations,
      failing
        ? (channel, key, attempt, ordinal) => {
            if (attempt > 1) return undefined;
            if (key.includes("digest")) return awsError("ServiceUnavailable", 503);
            if (channel === "email" && ordinal % 3 === 0) {
              // SES throttling as the sender reports it, with a short wait so the test stays short
              // (SES itself says nothing: the relay then waits DEFAULT_RATE_LIMIT_WAIT_SECONDS).
              return new TransientDeliveryError("SES SendEmail failed: Throttling (injected)", {
                rateLimited: true,
                retryAfterSeconds: 2,
              });
            }
            if (ordinal % 3 === 1) return awsError("InternalError", 500);
            return undefined;
          }
        : undefined,
    );
    relay = await startLocalRelay({
      signingKeys: [SIGNING_KEY],
      settings: parseRelaySettings(SETTINGS),
      secrets: {
        email: { to: EMAIL_TO, adminTo: [], from: "relay@example.com" },
        sms: { phoneNumbers: SMS_TO, adminPhoneNumbers: [] },
        slack: { webhookUrl: `${receiver.origin}/slack/alerts` },
      },
      dataDir: dir,
      emailSender: providers.email,
      smsSender: providers.sms,
      retryDelayMs: () => 50,
    });
    return relay;
  }

  for (const failing of [false, true]) {
    const scenario = failing ? "backends failing transiently" : "healthy backends";
    it(`keeps a burst to a handful of messages per destination, every alert covered once (${scenario})`, async () => {
      const destinations = new Destinations();
      const local = await start(destinations, failing);
      const accepted = await measure(local.webhookUrl, destinations, () => local.digestsSent());
      await local.drained();
      await local.digestsSent();
      printReport(scenario, destinations, accepted.length);

      expect(accepted).toHaveLength(BURST + LATER);
      expect(local.deadLetters.list()).toEqual([]);
      const report = destinations.report();
      expect(Object.keys(report).sort()).toEqual(DESTINATIONS("/slack/alerts").sort());
      for (const [destination, figures] of Object.entries(report)) {
        // Zero lost, zero counted twice: alone + covered by digests = accepted, no copy.
        expect(figures.total, destination).toBe(accepted.length);
        expect(figures.copies, destination).toBe(0);
        // A handful of messages: the first of each window alone, then one digest per window.
        const immediate = destination.startsWith("sms:") ? 1 : 3;
        expect(figures.alone, destination).toBe(2 * immediate);
        expect(figures.digests, destination).toBe(2);
      }
      if (failing) {
        // The faults happened: 5xx, Slack's 429 and throttling, each on digests too.
        for (const kind of [
          "slack 503",
          "slack 429",
          "email ServiceUnavailable",
          "email TransientDeliveryError",
          "sms InternalError",
        ]) {
          expect(destinations.faults.get(kind) ?? 0, kind).toBeGreaterThan(0);
        }
        // The rate-limited ones waited on the backends' own queues (beyond the two closes each).
        expect(local.stats().backendQueues["slack-queue"]?.sent).toBeGreaterThan(2);
        expect(local.stats().backendQueues["email-queue"]?.sent).toBeGreaterThan(4);
      }
    }, 90_000);
  }

  it("neither loses a held alert nor sends a digest twice when the relay is killed with -9", async () => {
    const destinations = new Destinations();
    receiver = await slackReceiver(destinations);
    const dataDir = join(dir, "data");
    const process = new RelayProcess({
      dataDir,
      settings: SETTINGS,
      settingsFile: join(dir, "relay.config.json"),
      receiverUrl: receiver.origin,
      port: await freePort(),
      signingKey: SIGNING_KEY,
      backendEnvironment: {
        EMAIL_TO: EMAIL_TO.join(","),
        EMAIL_FROM: "relay@example.com",
        SMS_TO: SMS_TO.join(","),
        SLACK_WEBHOOK_URL: `${receiver.origin}/slack/alerts`,
      },
    });
    try {
      await process.start();
      const run = newRun();
      destinations.startedAt = Date.now();
      const batches = inBatches(oneApplication(BURST, run), 100);
      const first = await sendBatches(process.webhookUrl, batches.slice(0, 5), { concurrency: 2 });
      // Killed while the burst is being delivered and its windows are open.
      await sleep(300);
      await process.kill();
      await process.start();
      const rest = await sendBatches(process.webhookUrl, batches.slice(5), { concurrency: 2 });
      // Killed again while the windows hold their alerts, their closes waiting on the queues.
      await sleep(2_000);
      await process.kill();
      await process.start();
      await sleep(WINDOW_SECONDS * 1000 + 3_000);
      const accepted = [...first.accepted, ...rest.accepted];
      expect(accepted).toHaveLength(BURST);
      await waitFor(() => {
        const { total } = outboxTotals(dataDir, destinations, accepted.length);
        return total;
      });
      // E-mail and SMS times are when the outbox was read, not when they were written.
      printReport("kill -9 twice", destinations, accepted.length);
      const report = destinations.report();
      for (const [destination, figures] of Object.entries(report)) {
        // A kill between a send and its record may send an alert alone once more (copies, counted
        // as at-least-once allows); never both alone and in a digest, and never a digest twice.
        expect(figures.total, destination).toBe(accepted.length);
      }
      expect(Object.keys(report).sort()).toEqual(DESTINATIONS("/slack/alerts").sort());
    } finally {
      if (process.child && process.child.exitCode === null) await process.kill();
    }
  }, 90_000);
});

/** Reads the outbox files of a relay process into `destinations` (again), and whether every destination is complete. */
function outboxTotals(dataDir: string, destinations: Destinations, accepted: number): { total: boolean } {
  for (const key of [...destinations.received.keys()]) {
    if (!key.startsWith("slack:")) destinations.received.delete(key);
  }
  for (const email of outboxEmails(dataDir)) {
    const digest = email.subject.includes("[Sqreen digest]");
    destinations.note(`email:${email.to}`, digest ? email.subject : email.text, digest);
  }
  for (const sms of outboxSms(dataDir)) {
    destinations.note(`sms:${sms.phoneNumber}`, sms.text, sms.text.startsWith("Sqreen digest"));
  }
  const figures = Object.values(destinations.report());
  return { total: figures.length === 5 && figures.every((figure) => figure.total >= accepted) };
}

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(200);
}
