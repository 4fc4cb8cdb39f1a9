/**
 * An in-process stand-in for an SNS topic fanning out to Lambda subscribers: each subscription
 * has a filter policy (evaluated on message attributes with SNS semantics), and each delivery is
 * an asynchronous invocation, retried `retryAttempts` times and then sent to the dead-letter sink
 * with the error as the reason, as Lambda's on-failure destination does. Subscribers never wait
 * on each other: one failing or slow backend holds no other back.
 */
import { randomUUID } from "node:crypto";
import type { SNSEvent, SNSMessageAttributes } from "aws-lambda";
import type { FilterPolicy } from "../../lib/routing.js";
import type { DeadLetterSink } from "./dead-letters.js";
import { errorMessage, InFlight, withTimeout } from "./in-flight.js";
import { type LambdaHandler, lambdaContext } from "./lambda-context.js";

export interface TopicSubscription {
  /** The backend's name; also the dead-letter source. */
  name: string;
  /** The subscribed function's name, as its log lines report it. */
  functionName: string;
  filterPolicy: FilterPolicy;
  handler: LambdaHandler<SNSEvent, unknown>;
  /** Retries after the first attempt (Lambda allows 0 to 2). */
  retryAttempts?: number;
  /** Delay before retry `n` (1-based). */
  retryDelayMs?: (retry: number) => number;
  timeoutMs?: number;
  /** Invocations of this subscriber running at once, as reserved concurrency would cap them. */
  maxConcurrency?: number;
}

export type FilterPolicyMatcher = (
  policy: FilterPolicy,
  attributes: Readonly<Record<string, string>>,
) => boolean;

export interface EmbeddedTopicOptions {
  name: string;
  subscriptions: readonly TopicSubscription[];
  deadLetters: DeadLetterSink;
  matches: FilterPolicyMatcher;
}

export interface SubscriptionStats {
  /** Messages the filter policy let through. */
  matched: number;
  /** Messages the handler finished successfully. */
  delivered: number;
  /** Failed attempts that were retried. */
  retried: number;
  deadLettered: number;
}

interface Delivery {
  messageId: string;
  message: string;
  attributes: Readonly<Record<string, string>>;
}

class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active += 1;
    try {
      return await work();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

export class EmbeddedTopic {
  private readonly inFlight = new InFlight();
  private readonly counters = new Map<string, SubscriptionStats>();
  private readonly limits = new Map<string, Semaphore>();
  readonly arn: string;

  constructor(private readonly options: EmbeddedTopicOptions) {
    this.arn = `arn:aws:sns:local:000000000000:${options.name}`;
    for (const subscription of options.subscriptions) {
      this.counters.set(subscription.name, { matched: 0, delivered: 0, retried: 0, deadLettered: 0 });
      this.limits.set(subscription.name, new Semaphore(subscription.maxConcurrency ?? 16));
    }
  }

  /** Accepts a message and fans it out in the background; returns its message id at once. */
  publish(message: string, attributes: Readonly<Record<string, string>>): string {
    const delivery: Delivery = { messageId: randomUUID(), message, attributes };
    for (const subscription of this.options.subscriptions) {
      if (!this.options.matches(subscription.filterPolicy, attributes)) continue;
      this.stats(subscription.name).matched += 1;
      this.inFlight.begin();
      void this.deliver(subscription, delivery).finally(() => this.inFlight.end());
    }
    return delivery.messageId;
  }

  /** Per subscription: what it matched, delivered, retried and dead-lettered. */
  subscriptionStats(): Readonly<Record<string, SubscriptionStats>> {
    return Object.fromEntries([...this.counters].map(([name, stats]) => [name, { ...stats }]));
  }

  /** Resolves once every delivery started so far has succeeded or been dead-lettered. */
  drained(): Promise<void> {
    return this.inFlight.settled();
  }

  private stats(name: string): SubscriptionStats {
    const stats = this.counters.get(name);
    if (!stats) throw new Error(`unknown subscription ${name}`);
    return stats;
  }

  private async deliver(subscription: TopicSubscription, delivery: Delivery): Promise<void> {
    const attempts = 1 + (subscription.retryAttempts ?? 2);
    const timeoutMs = subscription.timeoutMs ?? 30_000;
    const limit = this.limits.get(subscription.name) ?? new Semaphore(1);
    let reason = "";
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) {
        this.stats(subscription.name).retried += 1;
        await sleep(subscription.retryDelayMs?.(attempt - 1) ?? 100 * 2 ** (attempt - 2));
      }
      try {
        await limit.run(() =>
          withTimeout(
            subscription.handler(
              this.toEvent(subscription, delivery),
              lambdaContext(subscription.functionName, timeoutMs),
            ),
            timeoutMs,
            `${subscription.name} delivery`,
          ),
        );
        this.stats(subscription.name).delivered += 1;
        return;
      } catch (error) {
        reason = errorMessage(error);
      }
    }
    this.stats(subscription.name).deadLettered += 1;
    this.options.deadLetters.put({
      source: subscription.name,
      reason,
      attempts,
      failedAt: new Date().toISOString(),
      payload: { messageId: delivery.messageId, message: delivery.message, attributes: delivery.attributes },
    });
  }

  private toEvent(subscription: TopicSubscription, delivery: Delivery): SNSEvent {
    const messageAttributes: SNSMessageAttributes = {};
    for (const [name, value] of Object.entries(delivery.attributes)) {
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
            MessageId: delivery.messageId,
            Message: delivery.message,
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
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
