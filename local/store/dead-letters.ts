/**
 * Where the local stack puts what AWS would put in a dead-letter queue: the `dead_letters` table
 * of the relay's database (local/store/relay-store.ts), written in the same transaction that removes the
 * failed message or delivery, so a failure is never silently dropped, even by a crash, and can be
 * replayed (`npm run redrive -- --local`).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { BACKENDS } from "../../lambdas/contracts/messages.js";
import { deadLetteredEntry, subjectOfMessage } from "../../lambdas/ledger/entry.js";
import { maskPersonalData } from "../../lambdas/runtime/logger.js";
import { SqliteLedger } from "./ledger-store.js";
import type { RelayStore } from "./relay-store.js";

export interface DeadLetter {
  /** Queue or backend the message failed in. */
  source: string;
  /** Why it was dead-lettered: the last error message. */
  reason: string;
  attempts: number;
  failedAt: string;
  /** The message as the consumer received it (SQS body, or the SNS message). */
  payload: unknown;
}

/** A dead letter as stored: its row id, and the pending delivery (or queue message) it was. */
export interface StoredDeadLetter extends DeadLetter {
  id: number;
  originId: number | null;
}

interface DeadLetterRow {
  id: number;
  source: string;
  reason: string;
  attempts: number;
  failed_at: string;
  payload: string;
  origin_id: number | null;
}

export class DeadLetterStore {
  readonly #insert;
  readonly #counts;
  readonly #ledger: SqliteLedger;

  /** `logger` reports a ledger entry that could not be written (the dead letter is kept anyway). */
  constructor(
    private readonly store: RelayStore,
    readonly logger: Pick<Logger, "error"> = stderrLogger,
  ) {
    this.#ledger = new SqliteLedger(store);
    this.#insert = store.db.prepare(
      "INSERT INTO dead_letters (source, reason, attempts, failed_at, payload, origin_id) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#counts = store.db.prepare("SELECT source, COUNT(*) AS count FROM dead_letters GROUP BY source");
  }

  /**
   * Records a dead letter, and a backend's in the ledger as `dead-lettered`; call inside the
   * transaction that removes what failed.
   */
  put(letter: DeadLetter, originId?: number): void {
    const backend = BACKENDS.find((name) => name === letter.source);
    const message = (letter.payload as { message?: unknown } | null)?.message;
    const subject = backend && typeof message === "string" ? subjectOfMessage(message, backend) : undefined;
    if (subject) {
      this.#ledger.insertSafely([deadLetteredEntry(subject, letter.reason, letter.failedAt)], this.logger);
    }
    this.#insert.run(
      letter.source,
      // Reasons are read by people and printed by the redrive: masked as log lines are.
      maskPersonalData(letter.reason),
      letter.attempts,
      letter.failedAt,
      JSON.stringify(letter.payload),
      originId ?? null,
    );
  }

  /** Dead letters kept, per source. */
  counts(): Readonly<Record<string, number>> {
    const rows = this.#counts.all() as { source: string; count: number }[];
    return Object.fromEntries(rows.map((row) => [row.source, row.count]));
  }

  /** The dead letters of `source` (all sources when absent), oldest first, at most `limit`. */
  list(source?: string, limit = Number.MAX_SAFE_INTEGER): StoredDeadLetter[] {
    const rows = (
      source === undefined
        ? this.store.db.prepare("SELECT * FROM dead_letters ORDER BY id LIMIT ?").all(limit)
        : this.store.db
            .prepare("SELECT * FROM dead_letters WHERE source = ? ORDER BY id LIMIT ?")
            .all(source, limit)
    ) as DeadLetterRow[];
    return rows.map(fromRow);
  }

  /** The dead letters whose origin is one of `originIds` (what a redrive's replays failed into). */
  fromOrigins(originIds: readonly number[]): StoredDeadLetter[] {
    if (originIds.length === 0) return [];
    const found: StoredDeadLetter[] = [];
    const select = this.store.db.prepare("SELECT * FROM dead_letters WHERE origin_id = ? ORDER BY id");
    for (const originId of originIds) {
      for (const row of select.all(originId) as DeadLetterRow[]) found.push(fromRow(row));
    }
    return found;
  }

  /** Removes a dead letter (a redrive that handed it back). */
  remove(id: number): void {
    this.store.db.prepare("DELETE FROM dead_letters WHERE id = ?").run(id);
  }
}

/** Where a ledger failure is reported when no logger is given: one JSON line on stderr. */
const stderrLogger: Pick<Logger, "error"> = {
  error: (message: unknown, ...attributes: unknown[]) => {
    process.stderr.write(
      `${JSON.stringify({ level: "ERROR", message, ...Object.assign({}, ...attributes) })}\n`,
    );
  },
};

function fromRow(row: DeadLetterRow): StoredDeadLetter {
  return {
    id: row.id,
    source: row.source,
    reason: row.reason,
    attempts: row.attempts,
    failedAt: row.failed_at,
    payload: JSON.parse(row.payload) as unknown,
    originId: row.origin_id,
  };
}
