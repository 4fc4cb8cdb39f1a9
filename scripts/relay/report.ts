/**
 * What the operator CLI makes of ledger entries (lambdas/ledger/entry.ts): the per-backend and
 * per-destination state of one alert, whether each backend got it, and the tables printed. Pure.
 */
import type { Backend } from "../../lambdas/contracts/messages.js";
import {
  type LedgerEntry,
  type LedgerOutcome,
  SETTLED_OUTCOMES,
  WHOLE_DELIVERY,
} from "../../lambdas/ledger/entry.js";

/** One row of `trace`: the latest state of one destination of one backend. */
export interface TraceRow {
  backend: Backend;
  destination: string;
  outcome: LedgerOutcome;
  /** Attempts made so far (the highest attempt recorded). */
  attempts: number;
  acceptedAt: string;
  /** When the latest outcome was recorded. */
  at: string;
  reason?: string | undefined;
  digestId?: string | undefined;
}

/** How one backend stands with one alert. */
export interface BackendVerdict {
  backend: Backend;
  /** Every destination of its latest attempt settled (delivered, duplicate, digested, skipped). */
  settled: boolean;
  /** Every destination of its latest attempt delivered now or earlier (delivered, duplicate). */
  delivered: boolean;
  /** The latest outcome recorded for the backend. */
  latest: LedgerEntry;
}

function byTime(a: LedgerEntry, b: LedgerEntry): number {
  return a.recordedAt.localeCompare(b.recordedAt);
}

/** The rows of `trace`, backend by backend, destinations in the order first recorded. */
export function traceRows(entries: readonly LedgerEntry[]): TraceRow[] {
  const rows = new Map<string, TraceRow>();
  for (const entry of [...entries].sort(byTime)) {
    const key = JSON.stringify([entry.backend, entry.destination]);
    const previous = rows.get(key);
    rows.set(key, {
      backend: entry.backend,
      destination: entry.destination,
      outcome: entry.outcome,
      attempts: Math.max(previous?.attempts ?? 0, entry.attempt),
      acceptedAt: entry.acceptedAt,
      at: entry.recordedAt,
      reason: entry.reason,
      digestId: entry.digestId,
    });
  }
  return [...rows.values()].sort((a, b) => a.backend.localeCompare(b.backend));
}

/**
 * Per backend: its latest attempt's destinations (every destination a fan-out tried is recorded
 * at each attempt), and whether they all settled. A dead letter or a redrive recorded after that
 * attempt means the backend still owes the alert.
 */
export function verdicts(entries: readonly LedgerEntry[]): BackendVerdict[] {
  const byBackend = new Map<Backend, LedgerEntry[]>();
  for (const entry of [...entries].sort(byTime)) {
    byBackend.set(entry.backend, [...(byBackend.get(entry.backend) ?? []), entry]);
  }
  return [...byBackend].map(([backend, recorded]) => {
    const latest = recorded.at(-1) as LedgerEntry;
    const lastAttempt = Math.max(...recorded.map((entry) => entry.attempt));
    const ofLastAttempt = recorded.filter((entry) => entry.attempt === lastAttempt && entry.attempt > 0);
    const open =
      latest.outcome === "dead-lettered" || latest.outcome === "redriven" || ofLastAttempt.length === 0;
    return {
      backend,
      settled: !open && ofLastAttempt.every((entry) => SETTLED_OUTCOMES.includes(entry.outcome)),
      delivered:
        !open &&
        ofLastAttempt.every((entry) => entry.outcome === "delivered" || entry.outcome === "duplicate"),
      latest,
    };
  });
}

/** A plain-text table, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** Seconds from acceptance to `at`, e.g. `1.2 s`; blank when either time is unknown. */
export function sinceAccepted(acceptedAt: string, at: string): string {
  const ms = Date.parse(at) - Date.parse(acceptedAt);
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : "";
}

function outcomeLabel(outcome: LedgerOutcome, digestId?: string): string {
  return outcome === "digested" && digestId ? `digested (${digestId})` : outcome;
}

/** `trace`'s output for the entries of one alert. */
export function formatTrace(id: string, entries: readonly LedgerEntry[]): string {
  if (entries.length === 0)
    return `No ledger entry for ${id}: not accepted, not routed to any backend yet, or expired.\n`;
  const first = entries[0] as LedgerEntry;
  const rows = traceRows(entries).map((row) => [
    row.backend,
    row.destination === WHOLE_DELIVERY ? "(all)" : row.destination,
    outcomeLabel(row.outcome, row.digestId),
    row.attempts > 0 ? String(row.attempts) : "",
    row.at,
    sinceAccepted(row.acceptedAt, row.at),
    row.reason ?? "",
  ]);
  const verdictLines = verdicts(entries).map(
    (verdict) =>
      `  ${verdict.backend}: ${verdict.delivered ? "delivered" : verdict.settled ? `settled (${verdict.latest.outcome})` : `NOT delivered (${verdict.latest.outcome})`}`,
  );
  return [
    `Alert ${first.alertId}${first.eventId === first.alertId ? "" : ` (event ${first.eventId})`}, accepted ${first.acceptedAt}\n`,
    table(["BACKEND", "DESTINATION", "OUTCOME", "ATTEMPTS", "AT", "AFTER", "REASON"], rows),
    `${verdictLines.join("\n")}\n`,
  ].join("\n");
}

/** `recent`'s output, newest first. */
export function formatRecent(entries: readonly LedgerEntry[]): string {
  if (entries.length === 0) return "No ledger entry matches.\n";
  return table(
    ["AT", "BACKEND", "ALERT", "DESTINATION", "OUTCOME", "ATTEMPT", "REASON"],
    entries.map((entry) => [
      entry.recordedAt,
      entry.backend,
      entry.alertId,
      entry.destination === WHOLE_DELIVERY ? "(all)" : entry.destination,
      outcomeLabel(entry.outcome, entry.digestId),
      entry.attempt > 0 ? String(entry.attempt) : "",
      entry.reason ?? "",
    ]),
  );
}
