/**
 * Shared arrangements for the end-to-end tests of the local relay: the signed Sqreen samples, the
 * expected Alerts, an independent statement of the routing rules, a real HTTP receiver standing
 * in for Slack and for an HTTP-forward target (verifying Standard Webhooks signatures itself),
 * the outbox files, and a capture of what the process writes to stdout.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SAMPLES_DIR } from "../samples.js";

/** The repository root, where `npm start` runs. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
/** The signed samples (test/samples.ts). */
export const samplesDir = SAMPLES_DIR;

interface SignaturesFile {
  secret: string;
  own_application_id_for_internal_alert_samples: string;
  signatures: Record<string, string>;
}

const signatures = JSON.parse(
  readFileSync(path.join(samplesDir, "SIGNATURES.json"), "utf8"),
) as SignaturesFile;

/** The webhook secret every sample is signed with. */
export const SAMPLE_SECRET = signatures.secret;
/** The application id that makes the samples' alerts internal when the relay claims it as its own. */
export const OWN_APPLICATION_ID = signatures.own_application_id_for_internal_alert_samples;

/** The exact bytes of a sample, as Sqreen sent them. */
export function sampleBytes(name: string): Buffer {
  return readFileSync(path.join(samplesDir, name));
}

/** The `X-Sqreen-Integrity` Sqreen sent with a sample (SIGNATURES.json). */
export function sampleSignature(name: string): string {
  const signature = signatures.signatures[name];
  if (!signature) throw new Error(`SIGNATURES.json has no signature for ${name}`);
  return signature;
}

/** docs/PROTOCOL.md's signature, computed here rather than with the relay's own code. */
export function sign(body: Uint8Array | string, secret: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(body).digest("hex");
}

/** The fields of an expected Alert (test/fixtures/alerts) the routing rules look at. */
export interface ExpectedAlert {
  id: string;
  sourceType: string;
  severity: "info" | "low" | "medium" | "high" | "critical";
  title: string;
  applicationId: string | null;
  environment: string | null;
}

/** The Alerts a sample becomes (test/fixtures/alerts/<sample>.json), in order. */
export function expectedAlerts(sample: string): ExpectedAlert[] {
  const file = path.join(repoRoot, "test/fixtures/alerts", sample);
  return JSON.parse(readFileSync(file, "utf8")) as ExpectedAlert[];
}

/** A backend's filter, as written in the settings of a test. */
export interface Filter {
  minSeverity?: ExpectedAlert["severity"];
  types?: string[];
  environments?: string[];
}

const SEVERITY_ORDER: readonly ExpectedAlert["severity"][] = ["info", "low", "medium", "high", "critical"];

/** Whether the relay is under attack according to this alert: its application is one of the relay's. */
export function isInternal(alert: ExpectedAlert, ownApplicationIds: readonly string[]): boolean {
  return alert.applicationId !== null && ownApplicationIds.includes(alert.applicationId);
}

/**
 * The routing rule as lib/settings.ts states it, written out again on purpose (not the relay's filter
 * policies): every condition must hold, an alert without an environment matches no environment
 * list, and an internal alert or a test notification passes whatever the filter says.
 */
export function passes(filter: Filter, alert: ExpectedAlert, internal: boolean): boolean {
  if (internal || alert.sourceType === "test") return true;
  const minimum = SEVERITY_ORDER.indexOf(filter.minSeverity ?? "info");
  if (SEVERITY_ORDER.indexOf(alert.severity) < minimum) return false;
  if (filter.types && !filter.types.includes(alert.sourceType)) return false;
  if (filter.environments && (alert.environment === null || !filter.environments.includes(alert.environment)))
    return false;
  return true;
}

/** Sorted copy, so that arrival order (backends run concurrently) does not matter. */
export function sorted<T>(values: readonly T[]): T[] {
  return [...values].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
}

// ---------------------------------------------------------------------------------------------
// A receiver for Slack incoming webhooks and HTTP-forward targets

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: ReceivedRequest[];
  /** Requests to one path. */
  at(path: string): ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1. It answers 200 `ok` (what Slack answers) unless `statusFor`
 * decides another status for a request.
 */
export async function startReceiver(statusFor: (path: string) => number = () => 200): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const status = statusFor(req.url ?? "");
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 200 ? "ok" : "no_service");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    at: (wanted) => requests.filter((request) => request.path === wanted),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The alert id a Slack message names in its context block (`Ref 7f9dd5f1 · alert id ... · occurred ...`). */
export function slackAlertId(request: ReceivedRequest): string {
  const message = JSON.parse(request.body) as {
    blocks?: { type: string; elements?: { text?: string }[] }[];
  };
  const context = message.blocks?.find((block) => block.type === "context");
  const match = /· alert id (\S+)/.exec(context?.elements?.[0]?.text ?? "");
  if (!match?.[1]) throw new Error("Slack message names no alert id");
  return match[1];
}

/** The fallback text of a Slack message. */
export function slackText(request: ReceivedRequest): string {
  return (JSON.parse(request.body) as { text: string }).text;
}

/** A Standard Webhooks signing secret, `whsec_` + base64 of 24 random bytes. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  if (typeof value !== "string" || value.length === 0) throw new Error(`missing ${name} header`);
  return value;
}

/**
 * Verifies a request as a Standard Webhooks receiver does (standardwebhooks.com spec, written out
 * here, not with the library the relay signs with): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 keyed with the base64-decoded part of
 * the `whsec_` secret; `webhook-signature` lists space-separated `v1,<base64>` signatures, one of
 * which must match; the timestamp must be within five minutes of now. Returns the webhook id.
 */
export function verifyStandardWebhook(request: ReceivedRequest, secret: string, now = new Date()): string {
  const id = header(request.headers, "webhook-id");
  const timestamp = header(request.headers, "webhook-timestamp");
  const signatureHeader = header(request.headers, "webhook-signature");
  if (!/^\d+$/.test(timestamp)) throw new Error("webhook-timestamp is not whole seconds");
  if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > 300) throw new Error("webhook-timestamp is stale");
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${request.body}`).digest();
  const matches = signatureHeader.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    if (version !== "v1" || !signature) return false;
    const given = Buffer.from(signature, "base64");
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new Error("no webhook-signature matches");
  return id;
}

// ---------------------------------------------------------------------------------------------
// Outbox files and logs

export interface OutboxEmail {
  from: string;
  to: string;
  subject: string;
  text: string;
}

export interface OutboxSms {
  phoneNumber: string;
  text: string;
}

function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as T);
}

/** The e-mails in `<dataDir>/outbox/email.jsonl`. */
export function outboxEmails(dataDir: string): OutboxEmail[] {
  return readJsonLines<OutboxEmail>(path.join(dataDir, "outbox", "email.jsonl"));
}

/** The SMS in `<dataDir>/outbox/sms.jsonl`. */
export function outboxSms(dataDir: string): OutboxSms[] {
  return readJsonLines<OutboxSms>(path.join(dataDir, "outbox", "sms.jsonl"));
}

/** The alert among `alerts` whose id (e-mail) or title (SMS) the text names. */
export function alertNamedIn(text: string, alerts: readonly ExpectedAlert[], by: "id" | "title"): string {
  const found = alerts.filter((alert) => text.includes(alert[by]));
  if (found.length !== 1 || !found[0]) throw new Error(`expected one alert named in: ${text}`);
  return found[0].id;
}

/** A structured log line as the Powertools logger writes it. */
export interface LogLine {
  level: string;
  message: string;
  service: string;
  alertId?: string;
  [field: string]: unknown;
}

/** The JSON lines of some process output (other lines, such as the banner, are skipped). */
export function logLines(output: string): LogLine[] {
  return output
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine);
}

export { captureOutput, type OutputCapture } from "../capture-output.js";

/** Waits until `condition` holds, checking every 50 ms; fails with `what` after `timeoutMs`. */
export async function eventually(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
