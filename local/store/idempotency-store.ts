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
 *
 * Every write is one statement in the turn's group commit (local/store/relay-store.ts), and Powertools waits
 * for it to be committed, as it waits for DynamoDB's answer: the records are as durable as with a
 * transaction each, for a fraction of the cost.
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
      // DynamoDB's conditional put as one statement: the write happens unless a record is there
      // that has not expired and is not in progress past its in-progress deadline.
      put: db.prepare(
        `INSERT INTO idempotency (key, status, expiry, in_progress_expiry, payload_hash, response)
         VALUES (@key, @status, @expiry, @inProgressExpiry, @payloadHash, @response)
         ON CONFLICT (key) DO UPDATE SET status = excluded.status, expiry = excluded.expiry,
           in_progress_expiry = excluded.in_progress_expiry, payload_hash = excluded.payload_hash,
           response = excluded.response
         WHERE (idempotency.expiry IS NOT NULL AND idempotency.expiry < @nowSeconds)
            OR (idempotency.status = @inProgress AND idempotency.in_progress_expiry IS NOT NULL
                AND idempotency.in_progress_expiry < @nowMs)`,
      ),
      upsert: db.prepare(
        `INSERT INTO idempotency (key, status, expiry, in_progress_expiry, payload_hash, response)
         VALUES (@key, @status, @expiry, @inProgressExpiry, @payloadHash, @response)
         ON CONFLICT (key) DO UPDATE SET status = excluded.status, expiry = excluded.expiry,
           in_progress_expiry = excluded.in_progress_expiry, payload_hash = excluded.payload_hash,
           response = excluded.response`,
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
    const existing = await this.#store.commit(() => {
      const now = Date.now();
      const written = this.#sql.put.run({
        ...columns(record),
        nowSeconds: now / 1000,
        nowMs: now,
        inProgress: IdempotencyRecordStatus.INPROGRESS,
      });
      this.#purgeExpired(now);
      if (written.changes > 0) return undefined;
      return fromRow(this.#sql.get.get(record.idempotencyKey) as RecordRow);
    });
    // The relay stopped while this waited for its commit (a stop past its drain time closes the
    // database): the send must not be made now, as its completed record could not be written.
    // The delivery runs again at the next start.
    if (this.#store.closed) throw new Error("the relay's database is closed");
    if (existing) {
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        existing,
      );
    }
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    await this.#store.commit(() => this.#sql.upsert.run(columns(record)));
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    await this.#store.commit(() => this.#sql.remove.run(record.idempotencyKey));
  }

  #purgeExpired(now: number): void {
    if (now - this.#lastPurgeAt < PURGE_INTERVAL_MS) return;
    this.#lastPurgeAt = now;
    this.#sql.purge.run(Math.floor(now / 1000));
  }
}

/** A record as the table's columns (named parameters of the statements above). */
function columns(record: IdempotencyRecord) {
  return {
    key: record.idempotencyKey,
    status: record.getStatus(),
    expiry: record.expiryTimestamp ?? null,
    inProgressExpiry: record.inProgressExpiryTimestamp ?? null,
    payloadHash: record.payloadHash ?? null,
    response: record.responseData === undefined ? null : JSON.stringify(record.responseData),
  };
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
