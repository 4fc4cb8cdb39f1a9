/**
 * The fire drill: one fresh Sqreen test notification (a unique id), signed and sent as Sqreen
 * does (scripts/sqreen/request.ts), then the ledger watched, bounded, until every enabled backend
 * recorded an outcome for it. Test notifications reach every backend whatever its filter
 * (lib/routing.ts), so each enabled backend owes one.
 */
import { randomUUID } from "node:crypto";
import type { Backend } from "../../lambdas/contracts/messages.js";
import type { LedgerEntry } from "../../lambdas/ledger/entry.js";
import type { LedgerReader } from "../../lambdas/ledger/ledger.js";
import { sleep } from "../../lambdas/runtime/backoff.js";
import { buildSqreenRequest, type FetchLike, isSuccess, sendRequest, truncate } from "../sqreen/request.js";
import { pythonIsoformat } from "../sqreen/samples.js";
import { sqreenWireBytes } from "../sqreen/wire.js";
import { type BackendVerdict, sinceAccepted, table, verdicts } from "./report.js";

/** The id prefix of drill notifications, so they are recognisable in every channel and log. */
export const DRILL_ID_PREFIX = "relay-drill-";

/** How long a drill waits for the backends, unless told (`--timeout`). */
export const DEFAULT_DRILL_TIMEOUT_MS = 60_000;

const POLL_MS = 250;

/** A v2 test notification (the "test your configuration" kind) with a fresh id. */
export function drillNotification(id: string, now: Date) {
  return {
    message_id: null,
    api_version: "2",
    date_created: pythonIsoformat(now),
    message_type: "test",
    retry_count: 0,
    message: {
      application_name: "sqreen-relay drill",
      environment: "drill",
      id,
      event_category: "test",
      event_kind: "relay_drill",
      risk: 0,
      date_occurred: pythonIsoformat(now),
      humanized_description: "Fire drill from npm run relay -- drill: every backend should show this.",
      url: "https://my.sqreen.com/",
      ips: [],
    },
  };
}

export interface DrillOptions {
  webhookUrl: string;
  secret: string;
  /** The backends that must each record an outcome. */
  backends: readonly Backend[];
  ledger: LedgerReader;
  timeoutMs?: number | undefined;
  fetch?: FetchLike | undefined;
  /** The drill's id; a fresh one by default. */
  id?: string | undefined;
}

export interface DrillBackendResult {
  backend: Backend;
  status: "delivered" | "failed" | "no answer";
  /** From acceptance to the backend's latest outcome. */
  took?: string | undefined;
  reason?: string | undefined;
}

export interface DrillResult {
  id: string;
  /** The relay's answer to the signed request. */
  answer: { status: number; body: string };
  backends: DrillBackendResult[];
  ok: boolean;
}

/** A backend that settled without delivering (skipped, digested) did not pass the drill. */
function resultOf(backend: Backend, verdict: BackendVerdict | undefined): DrillBackendResult {
  if (!verdict) return { backend, status: "no answer" };
  const { latest } = verdict;
  const took = sinceAccepted(latest.acceptedAt, latest.recordedAt);
  if (verdict.delivered) return { backend, status: "delivered", took };
  return { backend, status: "failed", took, reason: latest.reason ?? latest.outcome };
}

/** Whether a backend's entries say it is done with the drill (delivered, or given up: dead-lettered). */
function finished(verdict: BackendVerdict | undefined): boolean {
  return verdict !== undefined && (verdict.settled || verdict.latest.outcome === "dead-lettered");
}

/** Sends the drill and waits for every backend; never throws on a backend's failure. */
export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const id = options.id ?? `${DRILL_ID_PREFIX}${randomUUID()}`;
  const body = sqreenWireBytes([drillNotification(id, new Date())]);
  const answer = await sendRequest(
    options.webhookUrl,
    buildSqreenRequest(body, options.secret),
    options.fetch,
  );
  if (!isSuccess(answer)) {
    return {
      id,
      answer: { status: answer.status, body: truncate(answer.body) },
      backends: options.backends.map((backend) => ({ backend, status: "no answer", reason: "not accepted" })),
      ok: false,
    };
  }
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_DRILL_TIMEOUT_MS);
  let entries: LedgerEntry[] = [];
  let byBackend = new Map<Backend, BackendVerdict>();
  for (;;) {
    entries = await options.ledger.find(id);
    byBackend = new Map(verdicts(entries).map((verdict) => [verdict.backend, verdict]));
    if (options.backends.every((backend) => finished(byBackend.get(backend))) || Date.now() >= deadline)
      break;
    await sleep(POLL_MS);
  }
  const backends = options.backends.map((backend) => resultOf(backend, byBackend.get(backend)));
  return {
    id,
    answer: { status: answer.status, body: truncate(answer.body) },
    backends,
    ok: backends.every((result) => result.status === "delivered"),
  };
}

/** The drill's report: one row per backend. */
export function formatDrill(result: DrillResult): string {
  const header = `Drill ${result.id}: relay answered ${result.answer.status}\n`;
  const rows = result.backends.map((backend) => [
    backend.backend,
    backend.status,
    backend.took ?? "",
    backend.reason ?? "",
  ]);
  const failed = result.backends
    .filter((backend) => backend.status !== "delivered")
    .map((backend) => backend.backend);
  const verdict = result.ok
    ? "Every enabled backend delivered the drill.\n"
    : `NOT delivered by: ${failed.join(", ")} (npm run relay -- trace ${result.id})\n`;
  return `${header}\n${table(["BACKEND", "RESULT", "TOOK", "REASON"], rows)}\n${verdict}`;
}
