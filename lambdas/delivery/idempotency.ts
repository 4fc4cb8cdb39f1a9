/**
 * Exactly-once delivery per backend: the DeliveryGuard of lambdas/shared/deliver.ts, built on
 * Powertools idempotency. Sqreen retries requests and SNS and Lambda redeliver events, so the same
 * alert can reach a backend more than once; the guard makes the second arrival return the first
 * one's recorded outcome instead of sending again.
 *
 * Two levels, both in the same store:
 * - the delivery, keyed by `<backend>#<alert id>` (deliveryKey): a duplicate of a delivery that
 *   succeeded costs one conditional write and sends nothing;
 * - each send of a fan-out (one per e-mail recipient, phone number, HTTP target, Slack channel),
 *   keyed by `<backend>#<alert id>#<recipient>` through `once`: when some sends of a delivery
 *   failed, the delivery fails and is retried, and the retry reaches only the recipients the
 *   failed attempt missed.
 *
 * Decisions:
 * - Records live IDEMPOTENCY_EXPIRY_SECONDS (14 days): as long as the dead-letter queues keep a
 *   failed alert, so a redrive (npm run redrive) days later still skips the recipients already
 *   reached. Sqreen's retries and Lambda's (6 hours of maximum event age) are well inside it.
 * - A delivery or send that throws is not recorded (Powertools deletes its in-progress record),
 *   so the platform's retry runs it again.
 * - A duplicate arriving while the first run is still in progress throws a TransientDeliveryError
 *   so the platform retries it later (by then the first run is recorded, or failed and deleted).
 *   An in-progress record left by a run that died (a timeout) blocks retries only until the
 *   invocation's deadline: the Lambda context given to the guard sets that expiry.
 * - No payload validation: the key is the alert's stable identity, and a resent Sqreen request
 *   legitimately differs in details (`retry_count`, receive time) while being the same alert.
 * - If the store fails after a send succeeded (the completed record cannot be written), the
 *   delivery fails and its retry may send once more: at-least-once is the floor, never at-most.
 * - Keys are hashed (SHA-256) by Powertools: addresses, numbers and URLs never reach the store.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
  IdempotencyUnknownError,
  makeIdempotent,
} from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { BasePersistenceLayer, IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { ResponseHook } from "@aws-lambda-powertools/idempotency/types";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { TransientDeliveryError } from "../runtime/errors.js";
import type { DeliveryGuard, SendOnce } from "./outcome.js";

/** How long a delivery's record is kept: the dead-letter queues' retention (14 days). */
export const IDEMPOTENCY_EXPIRY_SECONDS = 14 * 24 * 60 * 60;

/**
 * Prefix of every key. Fixed rather than Powertools' default (the function's name), so that keys
 * survive a function being replaced and the local stack and AWS agree.
 */
export const IDEMPOTENCY_KEY_PREFIX = "sqreen-relay";

export interface DeliveryGuardOptions {
  /** Where records live: DynamoDBPersistenceLayer in AWS, InMemoryPersistenceLayer locally. */
  persistenceStore: BasePersistenceLayer;
  /** @default IDEMPOTENCY_EXPIRY_SECONDS */
  expiresAfterSeconds?: number;
}

/** What Powertools hashes into a record's key. */
interface GuardedCall {
  key: string;
}

/**
 * A DeliveryGuard on a Powertools persistence store: runs a delivery once per key and hands it a
 * `once` that runs each send once per key and recipient (see the module comment for the rules).
 */
export function createDeliveryGuard(options: DeliveryGuardOptions): DeliveryGuard {
  const { persistenceStore } = options;
  const expiresAfterSeconds = options.expiresAfterSeconds ?? IDEMPOTENCY_EXPIRY_SECONDS;
  // A config per call: it carries the invocation's context, and the local stack runs many
  // invocations at once in one process.
  const configFor = (context: Context | undefined, markReplay: boolean): IdempotencyConfig =>
    new IdempotencyConfig({
      eventKeyJmesPath: "key",
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds,
      hashFunction: "sha256",
      ...(context ? { lambdaContext: context } : {}),
      ...(markReplay ? { responseHook: markDuplicate } : {}),
    });
  const runOnce = <T>(
    key: string,
    run: () => Promise<T>,
    context: Context | undefined,
    markReplay: boolean,
  ): Promise<T> => {
    const idempotent = makeIdempotent((_call: GuardedCall) => run(), {
      persistenceStore,
      config: configFor(context, markReplay),
      keyPrefix: IDEMPOTENCY_KEY_PREFIX,
    });
    return idempotent({ key }).catch((error: unknown) => {
      throw asDeliveryError(error, key);
    });
  };

  return (key, run, context) => {
    const once: SendOnce = (recipient, send) => runOnce(`${key}#${recipient}`, send, context, false);
    return runOnce(key, () => run(once), context, true);
  };
}

/** The outcome line of a duplicate says so: `duplicate: true` among its details. */
const markDuplicate: ResponseHook = (response) => {
  if (typeof response !== "object" || response === null || Array.isArray(response)) return response;
  const details = response.details;
  const recorded = typeof details === "object" && details !== null && !Array.isArray(details) ? details : {};
  return { ...response, details: { ...recorded, duplicate: true } };
};

/**
 * Powertools' own failures become delivery errors with a message fit for a log (the key holds
 * identifiers only: backend and alert id; a recipient is never part of the message). The
 * delivery's own errors pass through untouched.
 */
function asDeliveryError(error: unknown, key: string): unknown {
  if (!(error instanceof IdempotencyUnknownError)) return error;
  const deliveryKey = key.split("#").slice(0, 2).join("#");
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new TransientDeliveryError(
      `Delivery ${deliveryKey} is already in progress (a duplicate arrived meanwhile); retry later`,
      undefined,
      { cause: error },
    );
  }
  return new TransientDeliveryError(
    `Idempotency store failed for delivery ${deliveryKey}: ${error.name}`,
    undefined,
    { cause: error },
  );
}

export interface DynamoDbDeliveryGuardOptions {
  /** IDEMPOTENCY_TABLE_NAME: partition key `id` (string), TTL attribute `expiration`. */
  tableName: string;
  /** A module-scope client; it honours AWS_ENDPOINT_URL like every other SDK client. */
  client: DynamoDBClient;
  /** @default IDEMPOTENCY_EXPIRY_SECONDS */
  expiresAfterSeconds?: number;
}

/** The AWS guard: records in the DynamoDB idempotency table the stack creates. */
export function dynamoDbDeliveryGuard(options: DynamoDbDeliveryGuardOptions): DeliveryGuard {
  return createDeliveryGuard({
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: options.tableName,
      awsSdkV3Client: options.client,
    }),
    ...(options.expiresAfterSeconds !== undefined
      ? { expiresAfterSeconds: options.expiresAfterSeconds }
      : {}),
  });
}

/** The local guard: records in this process's memory (see InMemoryPersistenceLayer). */
export function inMemoryDeliveryGuard(
  store: InMemoryPersistenceLayer = new InMemoryPersistenceLayer(),
): DeliveryGuard {
  return createDeliveryGuard({ persistenceStore: store });
}

/** Least time between two scans for expired records of the in-memory store. */
const PURGE_INTERVAL_MS = 60_000;

/**
 * Records the in-memory store keeps at most (default). Records live 14 days, so without a cap a
 * local relay under steady load grows by about 10 MB a second (the soak: 584 MB in 50 s). Past
 * the cap the oldest records go first: a duplicate arriving after tens of thousands of newer
 * sends is delivered again, which is acceptable for the local stack (AWS uses DynamoDB).
 */
export const IN_MEMORY_MAX_RECORDS = 20_000;

/**
 * A Powertools persistence layer in this process's memory, for the local stack and tests. It
 * keeps DynamoDBPersistenceLayer's rules: a record can be (re)written when there is none, when it
 * expired, or when it is in progress past its in-progress deadline; anything else is an existing
 * record, handed back so Powertools returns its result or reports it in progress. Results are
 * stored as JSON, as DynamoDB would, so a replay returns a copy.
 */
export class InMemoryPersistenceLayer extends BasePersistenceLayer {
  readonly #records = new Map<string, IdempotencyRecord>();
  readonly #maxRecords: number;
  #lastPurgeAt = Number.NEGATIVE_INFINITY;

  /** `maxRecords`: the most records kept, oldest written dropped first (IN_MEMORY_MAX_RECORDS). */
  constructor(options: { maxRecords?: number } = {}) {
    super();
    this.#maxRecords = Math.max(1, options.maxRecords ?? IN_MEMORY_MAX_RECORDS);
  }

  /** Records currently held (expired ones included until overwritten or purged). */
  get size(): number {
    return this.#records.size;
  }

  protected async _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const record = this.#records.get(idempotencyKey);
    if (!record) throw new IdempotencyItemNotFoundError();
    return copy(record);
  }

  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const now = Date.now();
    const existing = this.#records.get(record.idempotencyKey);
    if (existing && !replaceable(existing, now)) {
      throw new IdempotencyItemAlreadyExistsError(
        `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
        copy(existing),
      );
    }
    this.#purgeExpired(now);
    // Deleted first so a rewritten key moves to the end: the Map's order is then oldest write first.
    this.#records.delete(record.idempotencyKey);
    for (const oldest of this.#records.keys()) {
      if (this.#records.size < this.#maxRecords) break;
      this.#records.delete(oldest);
    }
    this.#records.set(record.idempotencyKey, copy(record));
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.#records.set(record.idempotencyKey, copy(record));
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.#records.delete(record.idempotencyKey);
  }

  /**
   * A long-running local relay would otherwise keep every alert it ever saw. At most once a
   * minute: scanning every record on every put made each delivery O(records), and a local relay
   * under load slowed down as it went (the soak went from 62 to 14 requests/s in a minute).
   */
  #purgeExpired(now: number): void {
    if (now - this.#lastPurgeAt < PURGE_INTERVAL_MS) return;
    this.#lastPurgeAt = now;
    for (const [key, record] of this.#records) {
      if (record.expiryTimestamp !== undefined && record.expiryTimestamp < now / 1000)
        this.#records.delete(key);
    }
  }
}

/** DynamoDBPersistenceLayer's put condition, for a record already there. */
function replaceable(existing: IdempotencyRecord, now: number): boolean {
  if (existing.expiryTimestamp !== undefined && existing.expiryTimestamp < now / 1000) return true;
  return (
    existing.getStatus() === IdempotencyRecordStatus.INPROGRESS &&
    existing.inProgressExpiryTimestamp !== undefined &&
    existing.inProgressExpiryTimestamp < now
  );
}

function copy(record: IdempotencyRecord): IdempotencyRecord {
  return new IdempotencyRecord({
    idempotencyKey: record.idempotencyKey,
    status: record.getStatus(),
    ...(record.expiryTimestamp !== undefined ? { expiryTimestamp: record.expiryTimestamp } : {}),
    ...(record.inProgressExpiryTimestamp !== undefined
      ? { inProgressExpiryTimestamp: record.inProgressExpiryTimestamp }
      : {}),
    ...(record.payloadHash !== undefined ? { payloadHash: record.payloadHash } : {}),
    ...(record.responseData !== undefined
      ? { responseData: JSON.parse(JSON.stringify(record.responseData)) }
      : {}),
  });
}
