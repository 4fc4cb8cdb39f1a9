/**
 * The local relay's idempotency records: a Powertools persistence layer on the `idempotency`
 * table of the relay's database (local/store/relay-store.ts), with the same rules and retention as the
 * DynamoDB table on AWS (lambdas/delivery/idempotency.ts), so a duplicate is recognised after a
 * restart, a crash or 14 days of other alerts, and `npm run redrive -- --local` shares the records
 * of the running relay.
 */
import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from "@aws-lambda-powertools/idempotency";
import { BasePersistenceLayer, IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { IdempotencyRecordStatusValue } from "@aws-lambda-powertools/idempotency/types";
import { createDeliveryGuard } from "../../lambdas/delivery/idempotency.js";
import type { DeliveryGuard } from "../../lambdas/delivery/outcome.js";
import type { RelayStore } from "./relay-store.js";

/** Least time between two deletions of expired records. */
const PURGE_INTERVAL_MS = 60_000;

interface RecordRow {
  key: string;
  status: string;
  expiry: number | null;
  in_progress_expiry: number | null;
  payload_hash: string | null;
  response: string | null;
}

/**
 * DynamoDBPersistenceLayer's rules on SQLite: a record can be (re)written when there is none,
 * when it expired, or when it is in progress past its in-progress deadline; anything else is an
 * existing record, handed back so Powertools returns its result or reports it in progress.
 * Expired records are deleted at most once a minute (DynamoDB's TTL does the same on AWS).
 */
export class SqlitePersistenceLayer extends BasePersistenceLayer {
  readonly #store: RelayStore;
  readonly #sql;
  #lastPurgeAt = Number.NEGATIVE_INFINITY;

  constructor(store: RelayStore) {
    super();
    this.#store = store;
    const db = store.db;
    this.#sql = {
      get: db.prepare("SELECT * FROM idempotency WHERE key = ?"),
      upsert: db.prepare(
        `INSERT OR REPLACE INTO idempotency (key, status, expiry, in_progress_expiry, payload_hash, response)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      remove: db.prepare("DELETE FROM idempotency WHERE key = ?"),
      purge: db.prepare("DELETE FROM idempotency WHERE expiry IS NOT NULL AND expiry < ?"),
    };
  }

  /** Records held (expired ones included until purged). */
  get size(): number {
    return (this.#store.db.prepare("SELECT COUNT(*) AS n FROM idempotency").get() as { n: number }).n;
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const row = this.#sql.get.get(idempotencyKey) as RecordRow | undefined;
    if (!row) throw new IdempotencyItemNotFoundError();
    return fromRow(row);
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const now = Date.now();
    // One transaction: the check and the write, as DynamoDB's conditional put.
    const existing = this.#store.transaction(() => {
      const row = this.#sql.get.get(record.idempotencyKey) as RecordRow | undefined;
      if (row && !replaceable(row, now)) return fromRow(row);
      this.#write(record);
      return undefined;
    });
    if (existing) {
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        existing,
      );
    }
    this.#purgeExpired(now);
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.#write(record);
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.#sql.remove.run(record.idempotencyKey);
  }

  #write(record: IdempotencyRecord): void {
    this.#sql.upsert.run(
      record.idempotencyKey,
      record.getStatus(),
      record.expiryTimestamp ?? null,
      record.inProgressExpiryTimestamp ?? null,
      record.payloadHash ?? null,
      record.responseData === undefined ? null : JSON.stringify(record.responseData),
    );
  }

  #purgeExpired(now: number): void {
    if (now - this.#lastPurgeAt < PURGE_INTERVAL_MS) return;
    this.#lastPurgeAt = now;
    this.#sql.purge.run(Math.floor(now / 1000));
  }
}

/** DynamoDBPersistenceLayer's put condition, for a record already there. */
function replaceable(row: RecordRow, now: number): boolean {
  if (row.expiry !== null && row.expiry < now / 1000) return true;
  return (
    row.status === IdempotencyRecordStatus.INPROGRESS &&
    row.in_progress_expiry !== null &&
    row.in_progress_expiry < now
  );
}

function fromRow(row: RecordRow): IdempotencyRecord {
  return new IdempotencyRecord({
    idempotencyKey: row.key,
    status: row.status as IdempotencyRecordStatusValue,
    ...(row.expiry !== null ? { expiryTimestamp: row.expiry } : {}),
    ...(row.in_progress_expiry !== null ? { inProgressExpiryTimestamp: row.in_progress_expiry } : {}),
    ...(row.payload_hash !== null ? { payloadHash: row.payload_hash } : {}),
    ...(row.response !== null ? { responseData: JSON.parse(row.response) } : {}),
  });
}

/**
 * The local guard: Powertools idempotency on the relay's database. Records left in progress by an
 * earlier process are released first: that process is gone (one relay owns a data directory), and
 * keeping them would fail every retry of its interrupted deliveries as "in progress" until their
 * deadline, then dead-letter them. A send it made just before dying is then made again (the
 * at-least-once floor; the HTTP `webhook-id` lets a receiver drop it).
 */
export function sqliteDeliveryGuard(store: RelayStore): DeliveryGuard {
  store.db.prepare("DELETE FROM idempotency WHERE status = ?").run(IdempotencyRecordStatus.INPROGRESS);
  return createDeliveryGuard({ persistenceStore: new SqlitePersistenceLayer(store) });
}
