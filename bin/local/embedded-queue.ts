/**
 * An in-process stand-in for an SQS queue with a Lambda event source mapping: batches of up to
 * `batchSize` messages, partial batch failures (`batchItemFailures`), redelivery after a
 * visibility timeout, and a dead-letter sink after `maxReceiveCount` receives. The consumer is the
 * same handler that runs on Lambda, given the same event shape.
 */
import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { DeadLetterSink } from "./dead-letters.js";
import { errorMessage, InFlight, withTimeout } from "./in-flight.js";
import { type LambdaHandler, lambdaContext } from "./lambda-context.js";

export interface EmbeddedQueueOptions {
  name: string;
  /** The consumer function's name, as its log lines report it. */
  consumerName: string;
  consumer: LambdaHandler<SQSEvent, SQSBatchResponse | undefined>;
  deadLetters: DeadLetterSink;
  /** Messages per consumer invocation, as the event source mapping's batch size. */
  batchSize?: number;
  /** How long to gather messages before invoking, as the mapping's batching window. */
  batchWindowMs?: number;
  /** Batches processed at once. */
  concurrency?: number;
  /** Delay before a failed message is received again. */
  visibilityTimeoutMs?: number;
  /** Receives before a message goes to the dead-letter sink, as the redrive policy's. */
  maxReceiveCount?: number;
  /** Consumer timeout: past it the whole batch counts as failed, as on Lambda. */
  timeoutMs?: number;
}

export interface QueueInput {
  body: string;
  attributes: Readonly<Record<string, string>>;
}

interface StoredMessage extends QueueInput {
  id: string;
  sentAt: number;
  receiveCount: number;
}

export interface QueueStats {
  sent: number;
  /** Messages the consumer finished successfully. */
  consumed: number;
  /** Failed receives that were put back for another try. */
  redelivered: number;
  deadLettered: number;
}

export class EmbeddedQueue {
  private readonly ready: StoredMessage[] = [];
  private readonly inFlight = new InFlight();
  private activeBatches = 0;
  private pumpScheduled = false;
  private readonly counters: QueueStats = { sent: 0, consumed: 0, redelivered: 0, deadLettered: 0 };
  private readonly settings: Required<
    Omit<EmbeddedQueueOptions, "name" | "consumerName" | "consumer" | "deadLetters">
  >;

  constructor(private readonly options: EmbeddedQueueOptions) {
    this.settings = {
      batchSize: options.batchSize ?? 10,
      batchWindowMs: options.batchWindowMs ?? 5,
      concurrency: options.concurrency ?? 4,
      visibilityTimeoutMs: options.visibilityTimeoutMs ?? 200,
      maxReceiveCount: options.maxReceiveCount ?? 5,
      timeoutMs: options.timeoutMs ?? 30_000,
    };
  }

  /** Accepts messages durably (for the life of the process) and returns at once. */
  send(messages: readonly QueueInput[]): void {
    for (const message of messages) {
      this.inFlight.begin();
      this.ready.push({ ...message, id: randomUUID(), sentAt: Date.now(), receiveCount: 0 });
      this.counters.sent += 1;
    }
    this.schedulePump();
  }

  stats(): QueueStats {
    return { ...this.counters };
  }

  /** Resolves when every message sent so far was consumed or dead-lettered. */
  drained(): Promise<void> {
    return this.inFlight.settled();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setTimeout(() => {
      this.pumpScheduled = false;
      this.pump();
    }, this.settings.batchWindowMs);
  }

  private pump(): void {
    while (this.activeBatches < this.settings.concurrency && this.ready.length > 0) {
      const batch = this.ready.splice(0, this.settings.batchSize);
      this.activeBatches += 1;
      void this.deliver(batch).finally(() => {
        this.activeBatches -= 1;
        this.pump();
      });
    }
  }

  private async deliver(batch: StoredMessage[]): Promise<void> {
    for (const message of batch) message.receiveCount += 1;
    let failed: Set<string>;
    let reason = "reported as a batch item failure by the consumer";
    try {
      const response = await withTimeout(
        this.options.consumer(
          this.toEvent(batch),
          lambdaContext(this.options.consumerName, this.settings.timeoutMs),
        ),
        this.settings.timeoutMs,
        `${this.options.name} consumer`,
      );
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A consumer that throws fails the whole batch, as Lambda does.
      failed = new Set(batch.map((message) => message.id));
      reason = errorMessage(error);
    }
    for (const message of batch) {
      if (!failed.has(message.id)) {
        this.counters.consumed += 1;
        this.inFlight.end();
      } else if (message.receiveCount >= this.settings.maxReceiveCount) {
        this.counters.deadLettered += 1;
        this.options.deadLetters.put({
          source: this.options.name,
          reason,
          attempts: message.receiveCount,
          failedAt: new Date().toISOString(),
          payload: { body: message.body, attributes: message.attributes },
        });
        this.inFlight.end();
      } else {
        this.counters.redelivered += 1;
        setTimeout(() => {
          this.ready.push(message);
          this.schedulePump();
        }, this.settings.visibilityTimeoutMs);
      }
    }
  }

  private toEvent(batch: StoredMessage[]): SQSEvent {
    return { Records: batch.map((message) => this.toRecord(message)) };
  }

  private toRecord(message: StoredMessage): SQSRecord {
    const messageAttributes: SQSRecord["messageAttributes"] = {};
    for (const [name, value] of Object.entries(message.attributes)) {
      messageAttributes[name] = {
        stringValue: value,
        dataType: "String",
        stringListValues: [],
        binaryListValues: [],
      };
    }
    return {
      messageId: message.id,
      receiptHandle: `${message.id}#${message.receiveCount}`,
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: "local",
        ApproximateFirstReceiveTimestamp: String(message.sentAt),
      },
      messageAttributes,
      md5OfBody: createHash("md5").update(message.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: `arn:aws:sqs:local:000000000000:${this.options.name}`,
      awsRegion: "local",
    };
  }
}
