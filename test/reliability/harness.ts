/**
 * The reliability tier's test bench: the local relay (real HTTP, embedded queue and topic, the
 * five backends) with Slack and HTTP pointed at a receiver on 127.0.0.1 that can be told to fail
 * or stall, e-mail and SMS through recording senders that can be told to fail, a Sqreen-like
 * sender that retries refused requests, and an independent routing oracle.
 *
 * Shared by the fault tests (test/reliability/*.test.ts) and the soak (scripts/soak.ts).
 */
import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { EmailMessage, EmailSender } from "../../lambdas/deliver-email/ses-email.js";
import type { SmsSender } from "../../lambdas/deliver-sms/sns-sms.js";
import { parseRelaySettings, type RelaySettings } from "../../lib/settings.js";
import type { LocalBackendSecrets } from "../../local/environment.js";
import { type LocalRelay, type LocalRelayOptions, startLocalRelay } from "../../local/pipeline.js";

export const BACKENDS = ["log", "email", "http", "sms", "slack"] as const;
export type BackendName = (typeof BACKENDS)[number];

export const SIGNING_KEY = randomBytes(32).toString("hex");
/** The relay's own application: alerts about it are internal and reach the administrators too. */
export const OWN_APPLICATION_ID = "5f0000000000000000000001";
const OTHER_APPLICATION_ID = "5f0000000000000000000002";

/** Alert ids look like this, and every channel's content carries them (in the title). */
export const ALERT_ID_PATTERN = /rel-[a-z0-9]+-\d+/g;

/** The filters of each backend (RouteFilter); chosen so every backend sees a different subset. */
/**
 * The scenarios' settings. Digests are off: these scenarios count every alert at every recipient;
 * test/reliability/digests.test.ts counts the alerts digests cover.
 */
export const RELIABILITY_SETTINGS = {
  ownApplicationIds: [OWN_APPLICATION_ID],
  backends: {
    log: { enabled: true },
    email: { enabled: true, from: "relay@example.com", filter: { minSeverity: "medium" }, digest: false },
    http: { enabled: true, timeoutSeconds: 5, filter: { environments: ["production"] } },
    sms: { enabled: true, filter: { minSeverity: "high" }, digest: false },
    slack: { enabled: true, filter: { minSeverity: "low", types: ["security_event"] }, digest: false },
  },
} as const;

// ---------------------------------------------------------------------------------------------
// Notifications and the routing oracle
// ---------------------------------------------------------------------------------------------

/** What a generated notification is, as far as routing goes. */
export interface AlertFacts {
  id: string;
  risk: number;
  environment: string;
  internal: boolean;
}

const ENVIRONMENTS = ["production", "staging"];

/** Alert number `n` of a run: risks across every severity, two environments, some internal. */
export function alertFacts(run: string, n: number): AlertFacts {
  return {
    id: `rel-${run}-${n}`,
    risk: (n * 37) % 101,
    environment: ENVIRONMENTS[n % ENVIRONMENTS.length] as string,
    internal: n % 11 === 3,
  };
}

/** `count` v2 security events with distinct ids (see alertFacts). */
export function generateAlerts(count: number, run: string, start = 0): AlertFacts[] {
  return Array.from({ length: count }, (_, offset) => alertFacts(run, start + offset));
}

/** The notification Sqreen would send for `facts`. */
export function notificationOf(facts: AlertFacts): Record<string, unknown> {
  return {
    message_id: null,
    api_version: "2",
    date_created: "2026-10-02T08:14:03.512000+00:00",
    message_type: "security_event",
    retry_count: 0,
    message: {
      event_id: facts.id,
      event_url: `https://my.sqreen.com/events/${facts.id}`,
      event_category: "http_error",
      event_kind: "waf",
      risk_coefficient: facts.risk,
      application_id: facts.internal ? OWN_APPLICATION_ID : OTHER_APPLICATION_ID,
      application_name: facts.internal ? "sqreen-relay" : "shop",
      environment: facts.environment,
      date_occurred: "2026-10-02T08:14:03.512000+00:00",
      humanized_description: `Probe ${facts.id}`,
      ips: [{ address: "203.0.113.7", is_tor: false, hostname: null, geo: null }],
    },
  };
}

const SEVERITY_ORDER = ["info", "low", "medium", "high", "critical"];

/** PROTOCOL.md / normalize's severity table for security events, written out again. */
function severityOf(risk: number): string {
  if (risk >= 90) return "critical";
  if (risk >= 70) return "high";
  if (risk >= 40) return "medium";
  return "low";
}

/**
 * The backends an alert must reach, from the settings' filters read as documented (minimum
 * severity, types, environments; internal alerts reach every backend), not from the relay's
 * filter-policy code.
 */
export function routedBackends(facts: AlertFacts, settings: RelaySettings): BackendName[] {
  const severity = SEVERITY_ORDER.indexOf(severityOf(facts.risk));
  return BACKENDS.filter((backend) => {
    const config = settings.backends[backend];
    if (!config.enabled) return false;
    if (facts.internal) return true;
    const filter = config.filter;
    if (severity < SEVERITY_ORDER.indexOf(filter.minSeverity)) return false;
    if (filter.types && !filter.types.includes("security_event")) return false;
    if (filter.environments && !filter.environments.includes(facts.environment)) return false;
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Receivers: where the deliveries land, and where faults are injected
// ---------------------------------------------------------------------------------------------

/** What a receiver does with one request: answer `status` after `delayMs`. */
export interface ReceiverReply {
  status: number;
  delayMs?: number;
  retryAfter?: string;
}

/** Decides the reply; `attempt` counts this channel's receipts of this alert so far (1-based). */
export type ReceiverBehaviour = (channel: string, alertId: string, attempt: number) => ReceiverReply;

/** The number in an alert id (`rel-<run>-<n>`), or -1 for anything else. */
export function alertNumber(alertId: string): number {
  const match = /^rel-[a-z0-9]+-(\d+)$/.exec(alertId);
  return match ? Number(match[1]) : -1;
}

/**
 * A count per alert number in a growable typed array: a few bytes per alert, so a soak of
 * hundreds of thousands of alerts does not itself make the memory grow.
 */
export class AlertCounts {
  private data = new Uint16Array(1024);
  /** Counts for ids that are not the bench's (should stay 0). */
  strays = 0;

  increment(alertId: string): number {
    const n = alertNumber(alertId);
    if (n < 0) {
      this.strays += 1;
      return this.strays;
    }
    if (n >= this.data.length) {
      const grown = new Uint16Array(Math.max(n + 1, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[n] = (this.data[n] ?? 0) + 1;
    return this.data[n] ?? 0;
  }

  get(alertId: string): number {
    const n = alertNumber(alertId);
    return n < 0 ? this.strays : (this.data[n] ?? 0);
  }

  /** Σ max(0, count − 1): copies beyond the first. */
  extra(): number {
    let extra = Math.max(0, this.strays - 1);
    for (const count of this.data) if (count > 1) extra += count - 1;
    return extra;
  }

  total(): number {
    let total = this.strays;
    for (const count of this.data) total += count;
    return total;
  }
}

/** Counts receipts per channel and alert: the ground truth for duplicates. */
export class ReceiptBook {
  readonly receipts = new Map<string, AlertCounts>();
  /** Receipts answered 2xx: what a real receiver would have acted on. */
  readonly accepted = new Map<string, AlertCounts>();
  total = 0;
  faults = 0;

  note(channel: string, alertId: string): number {
    this.total += 1;
    return countsOf(this.receipts, channel).increment(alertId);
  }

  accept(channel: string, alertId: string): void {
    countsOf(this.accepted, channel).increment(alertId);
  }

  /** Copies accepted beyond the first, over every channel and alert. */
  duplicates(): number {
    let extra = 0;
    for (const counts of this.accepted.values()) extra += counts.extra();
    return extra;
  }
}

/** The counts of `name` in `map`, created on first use. */
export function countsOf(map: Map<string, AlertCounts>, name: string): AlertCounts {
  let counts = map.get(name);
  if (!counts) {
    counts = new AlertCounts();
    map.set(name, counts);
  }
  return counts;
}

const ALWAYS_OK: ReceiverBehaviour = () => ({ status: 200 });

/** An HTTP server standing in for Slack and the HTTP-forward targets. */
export class Receiver {
  behaviour: ReceiverBehaviour = ALWAYS_OK;
  readonly book = new ReceiptBook();
  private inFlight = 0;
  private lastActivity = Date.now();
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      this.inFlight += 1;
      this.lastActivity = Date.now();
      readAll(request)
        .then(async (body) => {
          const channel = (request.url ?? "/").replace(/\?.*$/, "");
          const ids = body.match(ALERT_ID_PATTERN) ?? [];
          const alertId = ids[0] ?? "(none)";
          const attempt = this.book.note(channel, alertId);
          const reply = this.behaviour(channel, alertId, attempt);
          if (reply.status >= 300 || reply.delayMs) this.book.faults += 1;
          if (reply.delayMs) await sleep(reply.delayMs);
          // A stalled request the client gave up on was still received: it counts if answered 2xx.
          if (reply.status < 300) this.book.accept(channel, alertId);
          const headers: Record<string, string> = { "content-type": "text/plain" };
          if (reply.retryAfter !== undefined) headers["retry-after"] = reply.retryAfter;
          if (!response.destroyed) {
            response.writeHead(reply.status, headers);
            response.end(reply.status < 300 ? "ok" : "unavailable");
          }
        })
        .catch(() => response.destroy())
        .finally(() => {
          this.inFlight -= 1;
          this.lastActivity = Date.now();
        });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Resolves once no request is open and none arrived for `quietMs` (stalled ones finish late). */
  async idle(quietMs: number): Promise<void> {
    while (this.inFlight > 0 || Date.now() - this.lastActivity < quietMs) await sleep(25);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

function readAll(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** An error shaped like an AWS SDK v3 failure (what SES/SNS clients throw). */
export function awsError(name: string, httpStatusCode: number): Error {
  const error = new Error(`${name} (injected)`);
  error.name = name;
  Object.assign(error, {
    $fault: httpStatusCode >= 500 ? "server" : "client",
    $metadata: { httpStatusCode },
  });
  return error;
}

/** Decides whether a send fails: return an error to throw, or undefined to send. */
export type SendBehaviour = (channel: string, alertId: string, attempt: number) => Error | undefined;

/** E-mail and SMS "providers": record every message per recipient and alert; can fail on demand. */
export class RecordingSenders {
  emailBehaviour: SendBehaviour = () => undefined;
  smsBehaviour: SendBehaviour = () => undefined;
  readonly book = new ReceiptBook();

  readonly email: EmailSender = {
    send: async (message: EmailMessage) => {
      const alertId = `${message.subject} ${message.text}`.match(ALERT_ID_PATTERN)?.[0] ?? "(none)";
      return this.deliver(`email:${message.to}`, alertId, this.emailBehaviour);
    },
  };

  readonly sms: SmsSender = {
    send: async (phoneNumber: string, text: string) => {
      const alertId = text.match(ALERT_ID_PATTERN)?.[0] ?? "(none)";
      return this.deliver(`sms:${phoneNumber}`, alertId, this.smsBehaviour);
    },
  };

  private async deliver(channel: string, alertId: string, behaviour: SendBehaviour) {
    const attempt = this.book.note(channel, alertId);
    const error = behaviour(channel, alertId, attempt);
    if (error) {
      this.book.faults += 1;
      throw error;
    }
    this.book.accept(channel, alertId);
    return { messageId: `${channel}-${alertId}-${attempt}` };
  }
}

// ---------------------------------------------------------------------------------------------
// The relay under test
// ---------------------------------------------------------------------------------------------

export interface Bench {
  relay: LocalRelay;
  receiver: Receiver;
  senders: RecordingSenders;
  settings: RelaySettings;
  close(): Promise<void>;
}

/** The secrets pointing every backend at the bench: two recipients each, plus admins. */
export function benchSecrets(receiverUrl: string): LocalBackendSecrets {
  return {
    email: {
      to: ["ops@example.com", "sec@example.com"],
      adminTo: ["admin@example.com"],
      from: "relay@example.com",
    },
    sms: { phoneNumbers: ["+33612345678", "+33612345679"], adminPhoneNumbers: ["+33612345670"] },
    slack: { webhookUrl: `${receiverUrl}/slack/alerts`, adminWebhookUrl: `${receiverUrl}/slack/admin` },
    http: {
      targets: [
        { url: `${receiverUrl}/http/a`, signingSecret: `whsec_${randomBytes(24).toString("base64")}` },
        { url: `${receiverUrl}/http/b`, signingSecret: `whsec_${randomBytes(24).toString("base64")}` },
      ],
    },
  };
}

/** benchSecrets as `npm start`'s environment variables (one HTTP signing secret for both targets). */
export function benchEnvironment(receiverUrl: string): Record<string, string> {
  const secrets = benchSecrets(receiverUrl);
  return {
    EMAIL_TO: secrets.email?.to.join(",") ?? "",
    ADMIN_EMAILS: secrets.email?.adminTo.join(",") ?? "",
    EMAIL_FROM: secrets.email?.from ?? "",
    SMS_TO: secrets.sms?.phoneNumbers.join(",") ?? "",
    ADMIN_PHONE_NUMBERS: secrets.sms?.adminPhoneNumbers.join(",") ?? "",
    SLACK_WEBHOOK_URL: secrets.slack?.webhookUrl ?? "",
    ADMIN_SLACK_WEBHOOK_URL: secrets.slack?.adminWebhookUrl ?? "",
    HTTP_FORWARD_URL: (secrets.http?.targets ?? []).map((target) => target.url).join(","),
    HTTP_FORWARD_SECRET: secrets.http?.targets[0]?.signingSecret ?? "",
  };
}

/** Starts a receiver and the relay with all five backends; `options` adds the faults. */
export async function startBench(options: Partial<LocalRelayOptions> = {}): Promise<Bench> {
  const receiver = new Receiver();
  await receiver.start();
  const senders = new RecordingSenders();
  const settings = parseRelaySettings(RELIABILITY_SETTINGS);
  const relay = await startLocalRelay({
    signingKeys: [SIGNING_KEY],
    settings,
    secrets: benchSecrets(receiver.url),
    emailSender: senders.email,
    smsSender: senders.sms,
    retryDelayMs: () => 10,
    ...options,
  });
  return {
    relay,
    receiver,
    senders,
    settings,
    close: async () => {
      await relay.close();
      await receiver.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Sqreen: signs, sends, and resends what was refused
// ---------------------------------------------------------------------------------------------

export interface SendOutcome {
  /** HTTP requests made, retries included. */
  tried: number;
  /** Requests refused (non-200) before a retry. */
  refused: number;
  /** Alerts of the requests finally answered 200. */
  accepted: AlertFacts[];
  /** Alerts of requests still refused after every retry (Sqreen would keep them). */
  given_up: AlertFacts[];
}

export interface SendOptions {
  /** Requests in flight at once. */
  concurrency?: number;
  /** Resends of a refused request, as Sqreen retries. */
  retries?: number;
  retryDelayMs?: number;
}

/** Sends `batches` to the relay as Sqreen would, resending a refused request whole. */
export async function sendBatches(
  webhookUrl: string,
  batches: readonly AlertFacts[][],
  options: SendOptions = {},
): Promise<SendOutcome> {
  const outcome: SendOutcome = { tried: 0, refused: 0, accepted: [], given_up: [] };
  const concurrency = options.concurrency ?? 4;
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < batches.length; index = next++) {
      const batch = batches[index] as AlertFacts[];
      const ok = await sendWithRetries(webhookUrl, batch, options, outcome);
      (ok ? outcome.accepted : outcome.given_up).push(...batch);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcome;
}

async function sendWithRetries(
  webhookUrl: string,
  batch: readonly AlertFacts[],
  options: SendOptions,
  outcome: SendOutcome,
): Promise<boolean> {
  const body = JSON.stringify(batch.map(notificationOf));
  const signature = createHmac("sha256", SIGNING_KEY).update(body).digest("hex");
  const retries = options.retries ?? 8;
  for (let attempt = 0; attempt <= retries; attempt += 1) {
    outcome.tried += 1;
    try {
      const response = await fetch(webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-sqreen-integrity": signature },
        body,
      });
      await response.arrayBuffer();
      if (response.status === 200) return true;
    } catch {
      // A connection failure is a refusal like any other: resend.
    }
    outcome.refused += 1;
    await sleep(options.retryDelayMs ?? 20);
  }
  return false;
}

/** Splits alerts into requests of `size`. */
export function inBatches(alerts: readonly AlertFacts[], size: number): AlertFacts[][] {
  const batches: AlertFacts[][] = [];
  for (let index = 0; index < alerts.length; index += size) batches.push(alerts.slice(index, index + size));
  return batches;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A short random run id, so alert ids of two runs never collide. */
export function newRun(): string {
  return randomBytes(3).toString("hex");
}
