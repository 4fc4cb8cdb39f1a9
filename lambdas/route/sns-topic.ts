/**
 * Publishing alerts to the alerts topic. Route calls `publish` once per notification; the SNS
 * implementation gathers the calls made in the same turn of the event loop and sends them with
 * PublishBatch (10 entries per call at most, the SNS limit), retrying the entries SNS reports as
 * failed. Each caller's promise settles with its own entry's outcome, so one failed alert fails
 * one SQS record, not the whole batch.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import {
  type MessageAttributeValue,
  PublishBatchCommand,
  type PublishBatchCommandOutput,
  type PublishBatchRequestEntry,
  type SNSClient,
} from "@aws-sdk/client-sns";
import type { Alert } from "../contracts/alert.js";
import { type AlertMessage, publishableAlertMessage } from "../contracts/alert-message.js";
import { MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES } from "../contracts/messages.js";
import { backoffDelay, type Sleep, sleep } from "../runtime/backoff.js";
import { packBatches } from "../runtime/batches.js";
import { DependencyUnavailableError, PermanentError } from "../runtime/errors.js";

/** Where route hands each alert. The local stack provides an in-process one. */
export interface AlertPublisher {
  /**
   * Resolves once the topic has accepted the alert. Rejects with `DependencyUnavailableError`
   * when it may be accepted later (retry the record), or `PermanentError` when it never
   * will be (too large, refused by SNS as the sender's fault).
   */
  publish(alert: Alert): Promise<void>;
}

export interface SnsAlertPublisherOptions {
  /** A module-scope client (it honours `AWS_ENDPOINT_URL`, as every SDK v3 client does). */
  client: SNSClient;
  topicArn: string;
  /** Attempts per entry SNS reports as failed, counting the first. Default 3. */
  maxAttempts?: number;
  /** Backoff before retry n is `baseDelayMs * 2^(n-1)`, half of it jittered. Default 100 ms. */
  baseDelayMs?: number;
  /** Waits between attempts; tests pass an instant one. */
  sleep?: Sleep;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  /** Told about entries being retried, by alert id and SNS error code. */
  logger?: Pick<Logger, "warn">;
}

interface PendingAlert {
  alertId: string;
  message: string;
  attributes: Record<string, MessageAttributeValue>;
  /** Bytes SNS counts against the message size limit: body plus attribute names, types and values. */
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * `AlertPublisher` on an SNS topic with micro-batched PublishBatch calls. `Message` and the
 * message attributes (`String`) are `alertMessage(alert)`'s.
 */
export class SnsAlertPublisher implements AlertPublisher {
  private readonly client: SNSClient;
  private readonly topicArn: string;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly logger: Pick<Logger, "warn"> | undefined;
  private pending: PendingAlert[] = [];
  private flushScheduled = false;

  constructor(options: SnsAlertPublisherOptions) {
    this.client = options.client;
    this.topicArn = options.topicArn;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 3);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
    this.logger = options.logger;
  }

  publish(alert: Alert): Promise<void> {
    let message: AlertMessage;
    try {
      // Too large fails this alert now rather than the whole PublishBatch call.
      message = publishableAlertMessage(alert);
    } catch (error) {
      return Promise.reject(error);
    }
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(message.attributes)) {
      attributes[name] = { DataType: "String", StringValue: value };
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        alertId: alert.id,
        message: message.body,
        attributes,
        bytes: message.bytes,
        resolve,
        reject,
      });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate runs after the current turn and its promise jobs: every record of an SQS
        // batch processed in parallel has published by then, and they share PublishBatch calls.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const pending = this.pending;
    this.pending = [];
    this.flushScheduled = false;
    for (const batch of intoBatches(pending)) {
      this.send(batch, 1).catch((error: unknown) => {
        // Only reached on a bug in send (it settles every entry itself); never leave a caller hanging.
        const failure = new DependencyUnavailableError("Publishing to the alerts topic failed", {
          cause: error,
        });
        for (const item of batch) item.reject(failure);
      });
    }
  }

  private async send(batch: readonly PendingAlert[], attempt: number): Promise<void> {
    const entries: PublishBatchRequestEntry[] = batch.map((item, index) => ({
      // Ids only need to be unique within one call.
      Id: `alert-${index}`,
      Message: item.message,
      MessageAttributes: item.attributes,
    }));
    let output: PublishBatchCommandOutput;
    try {
      output = await this.client.send(
        new PublishBatchCommand({ TopicArn: this.topicArn, PublishBatchRequestEntries: entries }),
      );
    } catch (error) {
      // The SDK has already retried throttling and 5xx; whatever is left may pass on a later
      // attempt of the SQS record (permissions fixed, topic back), so it is not permanent.
      const failure = new DependencyUnavailableError(
        `PublishBatch to the alerts topic failed: ${errorName(error)}`,
        { cause: error },
      );
      for (const item of batch) item.reject(failure);
      return;
    }
    const succeeded = new Set((output.Successful ?? []).map((entry) => entry.Id));
    const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]));
    const retry: PendingAlert[] = [];
    batch.forEach((item, index) => {
      const id = entries[index]?.Id;
      if (succeeded.has(id)) {
        item.resolve();
        return;
      }
      const failure = failed.get(id);
      const code = failure?.Code ?? "NotReported";
      if (failure?.SenderFault === true) {
        // SNS says the request itself is wrong: sending it again cannot help.
        item.reject(new PermanentError(`SNS refused alert ${item.alertId}: ${code}`));
      } else if (attempt < this.maxAttempts) {
        retry.push(item);
        this.logger?.warn("Retrying alert SNS did not accept", { alertId: item.alertId, code, attempt });
      } else {
        item.reject(
          new DependencyUnavailableError(
            `SNS did not accept alert ${item.alertId} after ${attempt} attempts: ${code}`,
          ),
        );
      }
    });
    if (retry.length === 0) return;
    await this.sleep(this.backoff(attempt));
    await this.send(retry, attempt + 1);
  }

  /** Exponential, half fixed and half random, so retries of many records spread out. */
  private backoff(attempt: number): number {
    return backoffDelay(this.baseDelayMs, attempt, { fixedShare: 0.5, random: this.random });
  }
}

/** Groups alerts in arrival order into PublishBatch calls within the entry and size limits. */
function intoBatches(alerts: readonly PendingAlert[]): PendingAlert[][] {
  return packBatches(alerts, (alert) => alert.bytes, {
    maxEntries: MAX_BATCH_ENTRIES,
    maxBytes: MAX_MESSAGE_BYTES,
  });
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown error";
}
