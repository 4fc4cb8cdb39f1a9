/**
 * A stand-in for an SQS queue with a Lambda event source mapping, kept in the relay's database
 * (local/store/relay-store.ts): batches of up to `batchSize` messages, partial batch failures
 * (`batchItemFailures`), redelivery after a visibility timeout, and the dead letters after
 * `maxReceiveCount` failed receives. The consumer is the same handler that runs on Lambda, given
 * the same event shape.
 *
 * A message stays in the table until its consumer succeeded or it was dead-lettered (in the same
 * transaction), so a crash at any point leaves it there for the next start; a receive the crash
 * interrupted is not counted against `maxReceiveCount`. Only the batches under way are in memory.
 */
import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { DeadLetterStore } from "../store/dead-letters.js";
import type { RelayStore } from "../store/relay-store.js";
import { errorMessage, type LambdaHandler, lambdaContext, withTimeout } from "./lambda-context.js";
import { Pump } from "./pump.js";

export interface EmbeddedQueueOptions {
  name: string;
  /** The consumer function's name, as its log lines report it. */
  consumerName: string;
  consumer: LambdaHandler<SQSEvent, SQSBatchResponse | undefined>;
  store: RelayStore;
  deadLetters: DeadLetterStore;
  /** Messages per consumer invocation, as the event source mapping's batch size. */
  batchSize?: number;
  /** How long to gather messages before invoking, as the mapping's batching window. */
  batchWindowMs?: number;
  /** Batches processed at once. */
  concurrency?: number;
  /** Delay before a failed message is received again. */
  visibilityTimeoutMs?: number;
  /** Failed receives before a message goes to the dead letters, as the redrive policy's. */
  maxReceiveCount?: number;
  /** Consumer timeout: past it the whole batch counts as failed, as on Lambda. */
  timeoutMs?: number;
}

export interface QueueInput {
  body: string;
  attributes: Readonly<Record<string, string>>;
  /** Receivable from then on (epoch ms), as SQS DelaySeconds; at once when absent. */
  availableAt?: number;
}

interface QueueRow {
  id: number;
  message_id: string;
  body: string;
  attributes: string;
  sent_at: number;
  failures: number;
}

export interface QueueStats {
  /** Messages accepted by this process. */
  sent: number;
  /** Messages the consumer finished successfully. */
  consumed: number;
  /** Failed receives that were put back for another try. */
  redelivered: number;
  deadLettered: number;
  /** Messages in the queue now (from earlier runs too), under way included. */
  depth: number;
}

export class EmbeddedQueue {
  readonly #store: RelayStore;
  readonly #pump: Pump<QueueRow[]>;
  readonly #counters = { sent: 0, consumed: 0, redelivered: 0, deadLettered: 0 };
  #depth: number;
  readonly #settings: Required<
    Omit<EmbeddedQueueOptions, "name" | "consumerName" | "consumer" | "deadLetters" | "store">
  >;
  readonly #sql;

  constructor(private readonly options: EmbeddedQueueOptions) {
    this.#store = options.store;
    this.#settings = {
      batchSize: options.batchSize ?? 10,
      batchWindowMs: options.batchWindowMs ?? 5,
      concurrency: options.concurrency ?? 4,
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? 200,
      maxReceiveCount: options.maxReceiveCount ?? 5,
      timeoutMs: options.timeoutMs ?? 30_000,
    };
    const db = this.#store.db;
    this.#sql = {
      insert: db.prepare(
        `INSERT INTO queue (queue_name, message_id, body, attributes, sent_at, visible_at, available_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      // A receive leases the messages until the consumer's deadline (and a little more).
      claim: db.prepare(
        `UPDATE queue SET visible_at = ? WHERE id IN
           (SELECT id FROM queue WHERE queue_name = ? AND visible_at <= ? AND available_at <= ?
            ORDER BY visible_at, id LIMIT ?)
         RETURNING id, message_id, body, attributes, sent_at, failures`,
      ),
      // When the next message falls due: the earliest lease or retry delay among the messages
      // available, else the earliest delayed one (each an index range, not a scan of the queue).
      nextVisible: db.prepare(
        `SELECT MIN(
           COALESCE((SELECT MIN(visible_at) FROM queue WHERE queue_name = @name AND available_at <= @now), @none),
           COALESCE((SELECT MIN(available_at) FROM queue WHERE queue_name = @name AND available_at > @now), @none)
         ) AS at`,
      ),
      remove: db.prepare("DELETE FROM queue WHERE id = ?"),
      putBack: db.prepare("UPDATE queue SET failures = failures + 1, visible_at = ? WHERE id = ?"),
      count: db.prepare("SELECT COUNT(*) AS n FROM queue WHERE queue_name = ?"),
      countDue: db.prepare("SELECT COUNT(*) AS n FROM queue WHERE queue_name = ? AND available_at <= ?"),
    };
    // Nothing is under way at start: what a crash interrupted is receivable again at once (a
    // delayed message stays delayed: available_at is not a lease).
    db.prepare("UPDATE queue SET visible_at = 0 WHERE queue_name = ? AND visible_at > 0").run(options.name);
    this.#depth = this.#count();
    this.#pump = new Pump({
      concurrency: this.#settings.concurrency,
      batchWindowMs: this.#settings.batchWindowMs,
      claim: (now, max) => this.#claim(now, max),
      run: (batch) => this.#deliver(batch),
      nextDueAt: () => {
        const { at } = this.#sql.nextVisible.get({
          name: this.options.name,
          now: Date.now(),
          none: Number.MAX_SAFE_INTEGER,
        }) as { at: number };
        return at === Number.MAX_SAFE_INTEGER ? undefined : at;
      },
    });
  }

  /**
   * Accepts messages durably: resolves once they are committed and fsynced (local/store/relay-store.ts), so
   * ingest answers 200 only then. `admit` is asked inside the commit whether `count` more fit.
   */
  async send(
    messages: readonly QueueInput[],
    admit: (count: number) => void = () => undefined,
  ): Promise<void> {
    await this.#store.commitDurably(() => {
      admit(messages.length);
      const now = Date.now();
      for (const message of messages) {
        this.#sql.insert.run(
          this.options.name,
          randomUUID(),
          message.body,
          JSON.stringify(message.attributes),
          now,
          0,
          message.availableAt ?? 0,
        );
      }
    });
    this.#depth += messages.length;
    this.#counters.sent += messages.length;
    this.#pump.wake();
  }

  /** Starts receiving (what earlier runs left, then what is sent). */
  start(): void {
    this.#pump.start();
  }

  /** Counts the table again (the redrive tool may have added rows from another process). */
  resync(): void {
    this.#depth = this.#count();
  }

  /** Messages receivable now or under way (delayed ones not yet available left out). */
  dueDepth(now = Date.now()): number {
    return (this.#sql.countDue.get(this.options.name, now) as { n: number }).n;
  }

  #count(): number {
    return (this.#sql.count.get(this.options.name) as { n: number }).n;
  }

  stats(): QueueStats {
    return { ...this.#counters, depth: this.#depth };
  }

  get name(): string {
    return this.options.name;
  }

  /** Messages in the queue, under way included. */
  get depth(): number {
    return this.#depth;
  }

  /** Batches being consumed right now. */
  get active(): number {
    return this.#pump.active;
  }

  /**
   * Stops receiving and waits up to `deadlineMs` for the batches under way; resolves with how
   * many were still running (they stay in the table, receivable at the next start).
   */
  stop(deadlineMs: number): Promise<number> {
    return this.#pump.stop(deadlineMs);
  }

  /** Up to `max` batches of up to `batchSize` messages, claimed in one statement. */
  async #claim(now: number, max: number): Promise<QueueRow[][]> {
    const { batchSize } = this.#settings;
    const rows = await this.#store.commit(
      () =>
        this.#sql.claim.all(
          now + this.#settings.timeoutMs + LEASE_MARGIN_MS,
          this.options.name,
          now,
          now,
          max * batchSize,
        ) as QueueRow[],
    );
    const batches: QueueRow[][] = [];
    for (let start = 0; start < rows.length; start += batchSize) {
      batches.push(rows.slice(start, start + batchSize));
    }
    return batches;
  }

  async #deliver(batch: QueueRow[]): Promise<void> {
    let failed: Set<string>;
    let reason = "reported as a batch item failure by the consumer";
    try {
      const response = await withTimeout(
        this.options.consumer(
          this.#toEvent(batch),
          lambdaContext(this.options.consumerName, this.#settings.timeoutMs),
        ),
        this.#settings.timeoutMs,
        `${this.options.name} consumer`,
      );
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A consumer that throws fails the whole batch, as Lambda does.
      failed = new Set(batch.map((message) => message.message_id));
      reason = errorMessage(error);
    }
    // A stop that gave up waiting closed the database: the batch is received again next start.
    if (this.#store.closed) return;
    const now = Date.now();
    // In the turn's group commit (local/store/relay-store.ts): the messages stay leased until it committed.
    await this.#store.commit(() => {
      for (const message of batch) {
        if (!failed.has(message.message_id)) {
          this.#sql.remove.run(message.id);
          this.#counters.consumed += 1;
          this.#depth -= 1;
        } else if (message.failures + 1 >= this.#settings.maxReceiveCount) {
          this.options.deadLetters.put(
            {
              source: this.options.name,
              reason,
              attempts: message.failures + 1,
              failedAt: new Date(now).toISOString(),
              payload: { body: message.body, attributes: JSON.parse(message.attributes) as unknown },
            },
            message.id,
          );
          this.#sql.remove.run(message.id);
          this.#counters.deadLettered += 1;
          this.#depth -= 1;
        } else {
          this.#sql.putBack.run(now + this.#settings.visibilityTimeoutMs, message.id);
          this.#counters.redelivered += 1;
        }
      }
    });
  }

  #toEvent(batch: QueueRow[]): SQSEvent {
    return { Records: batch.map((message) => this.#toRecord(message)) };
  }

  #toRecord(message: QueueRow): SQSRecord {
    const messageAttributes: SQSRecord["messageAttributes"] = {};
    const attributes = JSON.parse(message.attributes) as Record<string, string>;
    for (const [name, value] of Object.entries(attributes)) {
      messageAttributes[name] = {
        stringValue: value,
        dataType: "String",
        stringListValues: [],
        binaryListValues: [],
      };
    }
    const receiveCount = message.failures + 1;
    return {
      messageId: message.message_id,
      receiptHandle: `${message.message_id}#${receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: String(message.sent_at),
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: String(message.sent_at),
      },
      messageAttributes,
      md5OfBody: createHash("md5").update(message.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.options.name}`,
      awsRegion: "local",
    };
  }
}

/** A lease outlives the consumer's deadline by this much, so a late finish is not received twice. */
export const LEASE_MARGIN_MS = 5_000;
