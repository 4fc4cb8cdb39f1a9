/**
 * The local delivery ledger: the `ledger` table of the relay's database (local/store/relay-store.ts),
 * what the DynamoDB ledger table is on AWS. The delivery chain records through `record` (in the
 * turn's group commit, so an entry costs no transaction of its own); the dead-letter store and the
 * redrive insert theirs inside the transaction that moves the dead letter, so a dead letter and its
 * entry are never one without the other. `npm run relay -- trace --local` reads it, beside a
 * running relay (WAL: readers never block it).
 *
 * Kept as long as dead letters and idempotency records (IDEMPOTENCY_EXPIRY_SECONDS): entries older
 * than that are dropped when the relay starts.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Backend } from "../../lambdas/contracts/messages.js";
import { IDEMPOTENCY_EXPIRY_SECONDS } from "../../lambdas/delivery/idempotency.js";
import type { LedgerEntry, LedgerOutcome } from "../../lambdas/ledger/entry.js";
import {
  type DeliveryLedger,
  LEDGER_WRITE_FAILED,
  type LedgerReader,
  type RecentQuery,
} from "../../lambdas/ledger/ledger.js";
import type { RelayStore } from "./relay-store.js";

interface LedgerRow {
  alert_id: string;
  event_id: string;
  backend: string;
  destination: string;
  outcome: string;
  attempt: number;
  digest_id: string | null;
  reason: string | null;
  accepted_at: string;
  recorded_at: number;
}

export class SqliteLedger implements DeliveryLedger, LedgerReader {
  readonly #insert;
  readonly #lastFailure;

  constructor(private readonly store: RelayStore) {
    this.#insert = store.db.prepare(
      `INSERT INTO ledger (alert_id, event_id, backend, destination, outcome, attempt, digest_id, reason, accepted_at, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#lastFailure = store.db.prepare(
      "SELECT MAX(attempt) AS attempt FROM ledger WHERE alert_id = ? AND backend = ? AND outcome = 'failed'",
    );
  }

  /** Inserts the entries in the caller's transaction (dead letters, redrive). */
  insert(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) {
      this.#insert.run(
        entry.alertId,
        entry.eventId,
        entry.backend,
        entry.destination,
        entry.outcome,
        entry.attempt,
        entry.digestId ?? null,
        entry.reason ?? null,
        entry.acceptedAt,
        Date.parse(entry.recordedAt),
      );
    }
  }

  /**
   * `insert`, its failure logged (LEDGER_WRITE_FAILED) and swallowed: a failed INSERT undoes only
   * itself in SQLite, so the caller's transaction (a dead letter's move) still commits.
   */
  insertSafely(entries: readonly LedgerEntry[], logger: Pick<Logger, "error">): void {
    try {
      this.insert(entries);
    } catch (error) {
      logger.error(LEDGER_WRITE_FAILED, {
        backend: entries[0]?.backend,
        alertId: entries[0]?.alertId,
        outcome: entries[0]?.outcome,
        ledgerWriteFailed: 1,
        errorName: error instanceof Error ? error.name : typeof error,
      });
    }
  }

  record(entries: readonly LedgerEntry[]): Promise<void> {
    return this.store.commit(() => this.insert(entries));
  }

  async failedAttempts(backend: Backend, alertId: string): Promise<number> {
    return (this.#lastFailure.get(alertId, backend) as { attempt: number | null }).attempt ?? 0;
  }

  async find(id: string): Promise<LedgerEntry[]> {
    const rows = this.store.db
      .prepare("SELECT * FROM ledger WHERE alert_id = ? OR event_id = ? ORDER BY recorded_at, id")
      .all(id, id) as LedgerRow[];
    return rows.map(fromRow);
  }

  async recent(query: RecentQuery): Promise<LedgerEntry[]> {
    const conditions = ["recorded_at >= ?"];
    const values: (string | number)[] = [query.since];
    if (query.backend) {
      conditions.push("backend = ?");
      values.push(query.backend);
    }
    if (query.outcomes?.length) {
      conditions.push(`outcome IN (${query.outcomes.map(() => "?").join(", ")})`);
      values.push(...query.outcomes);
    }
    const rows = this.store.db
      .prepare(
        `SELECT * FROM ledger WHERE ${conditions.join(" AND ")} ORDER BY recorded_at DESC, id DESC LIMIT ?`,
      )
      .all(...values, query.limit) as LedgerRow[];
    return rows.map(fromRow);
  }

  /** Drops the entries older than the dead letters' retention. */
  prune(now = Date.now()): number {
    return this.store.db
      .prepare("DELETE FROM ledger WHERE recorded_at < ?")
      .run(now - IDEMPOTENCY_EXPIRY_SECONDS * 1000).changes;
  }
}

function fromRow(row: LedgerRow): LedgerEntry {
  return {
    alertId: row.alert_id,
    eventId: row.event_id,
    backend: row.backend as Backend,
    destination: row.destination,
    outcome: row.outcome as LedgerOutcome,
    attempt: row.attempt,
    ...(row.digest_id !== null ? { digestId: row.digest_id } : {}),
    ...(row.reason !== null ? { reason: row.reason } : {}),
    acceptedAt: row.accepted_at,
    recordedAt: new Date(row.recorded_at).toISOString(),
  };
}
