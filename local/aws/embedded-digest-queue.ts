/**
 * A human backend's own queue, locally: the DigestQueue of lambdas/digest/seams.ts on an
 * EmbeddedQueue (local/aws/embedded-queue.ts) in the relay's database, its messages delayed as
 * SQS DelaySeconds delays them on AWS (at most MAX_QUEUE_DELAY_SECONDS: a later close is sent
 * again by the consumer when it finds the window not due). A restart keeps them, delay included.
 */
import {
  type DigestQueue,
  type DigestQueueMessage,
  MAX_QUEUE_DELAY_SECONDS,
} from "../../lambdas/digest/seams.js";
import type { EmbeddedQueue } from "./embedded-queue.js";

/** The name of a backend's own queue (and its dead letters' source). */
export function digestQueueName(backend: string): string {
  return `${backend}-queue`;
}

export class EmbeddedDigestQueue implements DigestQueue {
  constructor(private readonly queue: EmbeddedQueue) {}

  closeWindowAt(windowId: string, closesAt: number, now: number): Promise<void> {
    return this.#send({ action: "close-window", windowId }, closesAt, now);
  }

  deliverLaterAt(alertMessage: string, at: number, now: number, deferrals?: number): Promise<void> {
    return this.#send(
      { action: "deliver-later", alert: alertMessage, ...(deferrals ? { deferrals } : {}) },
      at,
      now,
    );
  }

  #send(message: DigestQueueMessage, at: number, now: number): Promise<void> {
    const delayMs = Math.min(Math.max(0, at - now), MAX_QUEUE_DELAY_SECONDS * 1000);
    return this.queue.send([{ body: JSON.stringify(message), attributes: {}, availableAt: now + delayMs }]);
  }
}
