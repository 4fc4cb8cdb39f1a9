/**
 * A stand-in for an SNS topic fanning out to Lambda subscribers, kept in the relay's database
 * (local/store/relay-store.ts): each subscription has a filter policy (evaluated on message attributes with
 * SNS semantics), and each matched message becomes one pending delivery row, invoked
 * asynchronously, retried `retryAttempts` times and then moved to the dead letters with the
 * error as the reason, as Lambda's on-failure destination does. Subscribers never wait on each
 * other: one failing or slow backend holds no other back.
 *
 * A delivery row is removed only once its handler succeeded (or it was dead-lettered, in the same
 * transaction), so after a crash every unfinished delivery runs again at the next start (an
 * attempt the crash interrupted is not counted): at-least-once, and the idempotency records make
 * the repeat send nothing a recipient already got.
 *
 * A delivery under way is leased in memory (its row id among the subscriber's `#underWay`), not
 * in its row: one relay owns the database (local/store/relay-store.ts), and nothing is under way
 * at a start anyway, so a lease written to the row was one more rewrite of a row that holds the
 * whole alert, for each of the five deliveries of every notification (issue 17).
 */
import { randomUUID } from "node:crypto";
import type { SNSEvent, SNSMessageAttributes } from "aws-lambda";
import type { FilterPolicy } from "../../lib/routing.js";
import type { DeadLetterStore } from "../store/dead-letters.js";
import type { RelayStore } from "../store/relay-store.js";
import { LEASE_MARGIN_MS } from "./embedded-queue.js";
import { errorMessage, type LambdaHandler, lambdaContext, withTimeout } from "./lambda-context.js";
import { Pump } from "./pump.js";

export interface TopicSubscription {
  /** The backend's name; also the dead-letter source. */
  name: string;
  /** The subscribed function's name, as its log lines report it. */
  functionName: string;
  filterPolicy: FilterPolicy;
  handler: LambdaHandler<SNSEvent, unknown>;
  /** Retries after the first attempt (Lambda allows 0 to 2); DEFAULT_RETRY_ATTEMPTS by default. */
  retryAttempts?: number | undefined;
  /** Delay before retry `n` (1-based); short by default (minutes on AWS), so tests and demos move on. */
  retryDelayMs?: ((retry: number) => number) | undefined;
  /** The subscribed function's timeout; DEFAULT_TIMEOUT_MS by default. */
  timeoutMs?: number | undefined;
  /** Invocations of this subscriber running at once, as reserved concurrency would cap them. */
  maxConcurrency?: number | undefined;
}

/** Retries after a failed attempt, as the stack's asynchronous invocation config allows. */
const DEFAULT_RETRY_ATTEMPTS = 2;
/** A delivery function's timeout, as the stack's default for the backends. */
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_CONCURRENCY = 16;
/** 50 ms, then 200 ms. */
const defaultRetryDelayMs = (retry: number): number => 50 * 4 ** (retry - 1);

export type FilterPolicyMatcher = (
  policy: FilterPolicy,
  attributes: Readonly<Record<string, string>>,
) => boolean;

export interface EmbeddedTopicOptions {
  name: string;
  subscriptions: readonly TopicSubscription[];
  store: RelayStore;
  deadLetters: DeadLetterStore;
  matches: FilterPolicyMatcher;
}

export interface SubscriptionStats {
  /** Messages the filter policy let through (in this process). */
  matched: number;
  /** Deliveries the handler finished successfully. */
  delivered: number;
  /** Failed attempts that were retried. */
  retried: number;
  deadLettered: number;
  /** Deliveries pending now (from earlier runs too), under way included. */
  pending: number;
}

interface DeliveryRow {
  id: number;
  message_id: string;
  message: string;
  attributes: string;
  attempts: number;
}

class Subscriber {
  readonly pump: Pump<DeliveryRow>;
  readonly stats: SubscriptionStats;
  private readonly timeoutMs: number;
  /** The rows claimed and not settled yet: claims and `nextDueAt` pass them over. */
  readonly #underWay = new Set<number>();

  constructor(
    readonly subscription: TopicSubscription,
    private readonly topic: EmbeddedTopic,
    private readonly sql: ReturnType<EmbeddedTopic["statements"]>,
    pending: number,
  ) {
    this.stats = { matched: 0, delivered: 0, retried: 0, deadLettered: 0, pending };
    this.timeoutMs = subscription.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pump = new Pump({
      concurrency: subscription.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
      // A read, in no commit: what it sees is committed (a publish wakes the pump once its rows are).
      claim: async (now, max) => {
        const rows = sql.claim.all(subscription.name, now, this.#underWayJson(), max) as DeliveryRow[];
        for (const row of rows) this.#underWay.add(row.id);
        return rows;
      },
      run: (row) =>
        this.deliver(row).then(
          () => {
            this.#underWay.delete(row.id);
          },
          (error: unknown) => {
            // Its settlement failed to commit (the database failing): leased as long as an
            // attempt may take, as a lease in the row was, rather than claimed again at once.
            setTimeout(() => this.#underWay.delete(row.id), this.timeoutMs + LEASE_MARGIN_MS).unref();
            throw error;
          },
        ),
      nextDueAt: () =>
        (sql.nextDue.get(subscription.name, this.#underWayJson()) as { at: number | null }).at ?? undefined,
    });
  }

  /** The rows under way, as the JSON array the statements pass over (`json_each`). */
  #underWayJson(): string {
    return JSON.stringify([...this.#underWay]);
  }

  private async deliver(row: DeliveryRow): Promise<void> {
    const { subscription, timeoutMs } = this;
    const attempt = row.attempts + 1;
    let reason: string | undefined;
    try {
      await withTimeout(
        subscription.handler(
          this.topic.toEvent(subscription, row),
          lambdaContext(subscription.functionName, timeoutMs),
        ),
        timeoutMs,
        `${subscription.name} delivery`,
      );
    } catch (error) {
      reason = errorMessage(error);
    }
    // A stop that gave up waiting closed the database: the delivery runs again at the next start.
    if (this.topic.store.closed) return;
    // Settled in the turn's group commit (local/store/relay-store.ts): the row stays leased until it committed.
    if (reason === undefined) {
      await this.topic.store.commit(() => this.sql.remove.run(row.id));
      this.stats.delivered += 1;
      this.stats.pending -= 1;
      return;
    }
    const attempts = 1 + (subscription.retryAttempts ?? DEFAULT_RETRY_ATTEMPTS);
    if (attempt < attempts) {
      const delay = (subscription.retryDelayMs ?? defaultRetryDelayMs)(attempt);
      await this.topic.store.commit(() => this.sql.retry.run(Date.now() + delay, reason, row.id));
      this.stats.retried += 1;
      return;
    }
    await this.topic.store.commit(() => {
      this.topic.deadLetters.put(
        {
          source: subscription.name,
          reason,
          attempts,
          failedAt: new Date().toISOString(),
          payload: {
            messageId: row.message_id,
            message: row.message,
            attributes: JSON.parse(row.attributes) as unknown,
          },
        },
        row.id,
      );
      this.sql.remove.run(row.id);
    });
    this.stats.deadLettered += 1;
    this.stats.pending -= 1;
  }
}

export class EmbeddedTopic {
  readonly arn: string;
  readonly store: RelayStore;
  readonly deadLetters: DeadLetterStore;
  readonly #subscribers = new Map<string, Subscriber>();
  readonly #sql;

  constructor(private readonly options: EmbeddedTopicOptions) {
    this.arn = `arn:aws:sns:local:000000000000:${options.name}`;
    this.store = options.store;
    this.deadLetters = options.deadLetters;
    this.#sql = this.statements();
    // Nothing is under way at start: what a crash interrupted (and what an earlier version leased
    // in the row) is due again at once.
    this.store.db.prepare("UPDATE deliveries SET next_attempt_at = 0 WHERE next_attempt_at > 0").run();
    const pending = this.pendingBySubscription();
    for (const subscription of options.subscriptions) {
      this.#subscribers.set(
        subscription.name,
        new Subscriber(subscription, this, this.#sql, pending[subscription.name] ?? 0),
      );
    }
  }

  /** @internal The prepared statements the subscribers share. */
  statements() {
    const db = this.options.store.db;
    return {
      insert: db.prepare(
        "INSERT INTO deliveries (subscription, message_id, message, attributes, published_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, 0)",
      ),
      // The due rows not under way (leased in memory: see the module comment), oldest first.
      claim: db.prepare(
        `SELECT id, message_id, message, attributes, attempts FROM deliveries
          WHERE subscription = ? AND next_attempt_at <= ? AND id NOT IN (SELECT value FROM json_each(?))
          ORDER BY next_attempt_at, id LIMIT ?`,
      ),
      nextDue: db.prepare(
        `SELECT MIN(next_attempt_at) AS at FROM deliveries
          WHERE subscription = ? AND id NOT IN (SELECT value FROM json_each(?))`,
      ),
      remove: db.prepare("DELETE FROM deliveries WHERE id = ?"),
      retry: db.prepare(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
      ),
    };
  }

  /** Starts delivering (what earlier runs left, then what is published). */
  start(): void {
    for (const subscriber of this.#subscribers.values()) subscriber.pump.start();
  }

  /**
   * Accepts a message: one pending delivery per subscription whose filter policy matches it,
   * committed (in the turn's group commit) before this resolves; resolves with its message id.
   */
  async publish(message: string, attributes: Readonly<Record<string, string>>): Promise<string> {
    const messageId = randomUUID();
    const matched = this.options.subscriptions.filter((subscription) =>
      this.options.matches(subscription.filterPolicy, attributes),
    );
    const now = Date.now();
    const attributesJson = JSON.stringify(attributes);
    await this.store.commit(() => {
      for (const subscription of matched) {
        this.#sql.insert.run(subscription.name, messageId, message, attributesJson, now);
      }
    });
    for (const subscription of matched) {
      const subscriber = this.#subscriber(subscription.name);
      subscriber.stats.matched += 1;
      subscriber.stats.pending += 1;
      subscriber.pump.wake();
    }
    return messageId;
  }

  /** Counts the table again (the redrive tool may have added rows from another process). */
  resync(): void {
    const pending = this.pendingBySubscription();
    for (const [name, subscriber] of this.#subscribers) subscriber.stats.pending = pending[name] ?? 0;
  }

  /** Per subscription: what it matched, delivered, retried and dead-lettered, and what is pending. */
  subscriptionStats(): Readonly<Record<string, SubscriptionStats>> {
    return Object.fromEntries(
      [...this.#subscribers].map(([name, subscriber]) => [name, { ...subscriber.stats }]),
    );
  }

  /** Deliveries pending over every subscription, under way included. */
  get pending(): number {
    let pending = 0;
    for (const subscriber of this.#subscribers.values()) pending += subscriber.stats.pending;
    return pending;
  }

  /** Deliveries running right now. */
  get active(): number {
    let active = 0;
    for (const subscriber of this.#subscribers.values()) active += subscriber.pump.active;
    return active;
  }

  /**
   * Pending deliveries of backends not subscribed in this run (turned off since): they stay in
   * the database until the backend is on again.
   */
  unsubscribedPending(): Readonly<Record<string, number>> {
    const pending = this.pendingBySubscription();
    for (const name of this.#subscribers.keys()) delete pending[name];
    return pending;
  }

  /**
   * Stops starting deliveries and waits up to `deadlineMs` for those under way; resolves with how
   * many were still running (they stay pending, and run again at the next start).
   */
  async stop(deadlineMs: number): Promise<number> {
    const left = await Promise.all(
      [...this.#subscribers.values()].map((subscriber) => subscriber.pump.stop(deadlineMs)),
    );
    return left.reduce((total, count) => total + count, 0);
  }

  /** @internal The SNS event a subscribed function receives for a delivery. */
  toEvent(subscription: TopicSubscription, row: DeliveryRow): SNSEvent {
    const messageAttributes: SNSMessageAttributes = {};
    const attributes = JSON.parse(row.attributes) as Record<string, string>;
    for (const [name, value] of Object.entries(attributes)) {
      messageAttributes[name] = { Type: "String", Value: value };
    }
    return {
      Records: [
        {
          EventVersion: "1.0",
          EventSubscriptionArn: `${this.arn}:${subscription.name}`,
          EventSource: "aws:sns",
          Sns: {
            SignatureVersion: "1",
            Timestamp: new Date().toISOString(),
            Signature: "local",
            SigningCertUrl: "",
            MessageId: row.message_id,
            Message: row.message,
            MessageAttributes: messageAttributes,
            Type: "Notification",
            UnsubscribeUrl: "",
            TopicArn: this.arn,
            Subject: "",
          },
        },
      ],
    };
  }

  #subscriber(name: string): Subscriber {
    const subscriber = this.#subscribers.get(name);
    if (!subscriber) throw new Error(`unknown subscription ${name}`);
    return subscriber;
  }

  private pendingBySubscription(): Record<string, number> {
    const rows = this.store.db
      .prepare("SELECT subscription, COUNT(*) AS n FROM deliveries GROUP BY subscription")
      .all() as { subscription: string; n: number }[];
    return Object.fromEntries(rows.map((row) => [row.subscription, row.n]));
  }
}
