/**
 * The delivery ledger's seams: where the delivery chain, the dead-letter stores and the redrive
 * write entries (DeliveryLedger), and where the operator CLI reads them (LedgerReader). DynamoDB
 * implements both on AWS (lambdas/ledger/dynamodb-ledger.ts), the relay's SQLite database locally
 * (local/store/ledger-store.ts).
 *
 * The ledger is a record, never a gate: `recordSafely` is how every writer calls it, so a ledger
 * that fails (throttled, unreachable, disk full) costs a log line `LEDGER_WRITE_FAILED` (counted
 * by a metric filter and alarmed on AWS, lib/constructs/relay-monitoring.ts), never a delivery.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Backend } from "../contracts/messages.js";
import type { LedgerEntry, LedgerOutcome } from "./entry.js";

export interface DeliveryLedger {
  /** Writes the entries (all of one alert and backend); resolves once they are stored. */
  record(entries: readonly LedgerEntry[]): Promise<void>;
  /** The failures recorded so far for `alertId` on `backend`: the next attempt is this plus one. */
  failedAttempts(backend: Backend, alertId: string): Promise<number>;
}

export interface RecentQuery {
  backend?: Backend | undefined;
  /** Only these outcomes (`--failed`: failed and dead-lettered). */
  outcomes?: readonly LedgerOutcome[] | undefined;
  /** Entries recorded at or after this time (epoch ms). */
  since: number;
  limit: number;
}

export interface LedgerReader {
  /** Every entry of the alert whose alert id or event id is `id`, oldest first. */
  find(id: string): Promise<LedgerEntry[]>;
  /** The latest entries matching `query`, newest first (on AWS, of the outcomes its day index holds: lambdas/ledger/dynamodb-ledger.ts). */
  recent(query: RecentQuery): Promise<LedgerEntry[]>;
}

/** The message of the line a failed ledger write logs; the metric filter and tests match it. */
export const LEDGER_WRITE_FAILED = "Delivery ledger write failed";

/**
 * Runs a ledger call and swallows its failure after logging it (identifiers and the error's name
 * only): the ledger must never fail or hold back a delivery.
 */
export async function recordSafely<T>(
  logger: Pick<Logger, "error">,
  context: { backend: Backend; alertId: string; outcome: string },
  write: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await write();
  } catch (error) {
    logger.error(LEDGER_WRITE_FAILED, {
      ...context,
      ledgerWriteFailed: 1,
      errorName: error instanceof Error ? error.name : typeof error,
    });
    return undefined;
  }
}
