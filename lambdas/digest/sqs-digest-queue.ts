/**
 * The backend's own queue on AWS: a DigestQueue on SQS. A window's close and a delivery that must
 * wait for its destination are messages delayed until their time (DelaySeconds, at most 15
 * minutes: a later time gets the longest delay, and the consumer schedules again when it finds
 * the work not due yet). The same function consumes the queue; its body is a DigestQueueMessage,
 * validated by the consumer with digestQueueMessageSchema.
 */
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { TransientDeliveryError } from "../runtime/errors.js";
import { type DigestQueue, type DigestQueueMessage, MAX_QUEUE_DELAY_SECONDS } from "./seams.js";

/** Seconds to delay a message due at `at` (epoch ms) sent at `now`: 0 to 900, rounded up so it is never early. */
export function delaySecondsUntil(at: number, now: number): number {
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.max(0, Math.ceil((at - now) / 1000)));
}

export interface SqsDigestQueueOptions {
  /** DIGEST_QUEUE_URL: the backend's own queue. */
  queueUrl: string;
  /** A module-scope client; it honours AWS_ENDPOINT_URL like every other SDK client. */
  client: SQSClient;
}

/** The DigestQueue on SQS. */
export class SqsDigestQueue implements DigestQueue {
  constructor(private readonly options: SqsDigestQueueOptions) {}

  closeWindowAt(windowId: string, closesAt: number, now: number): Promise<void> {
    return this.send({ action: "close-window", windowId }, closesAt, now, "schedule a window's close");
  }

  /** `deferrals`: how often the alert already waited (the consumer bounds it); left out when 0. */
  deliverLaterAt(alertMessage: string, at: number, now: number, deferrals = 0): Promise<void> {
    const message = {
      action: "deliver-later" as const,
      alert: alertMessage,
      ...(deferrals > 0 ? { deferrals } : {}),
    };
    return this.send(message, at, now, "schedule a delivery");
  }

  private async send(message: DigestQueueMessage, at: number, now: number, what: string): Promise<void> {
    try {
      await this.options.client.send(
        new SendMessageCommand({
          QueueUrl: this.options.queueUrl,
          MessageBody: JSON.stringify(message),
          DelaySeconds: delaySecondsUntil(at, now),
        }),
      );
    } catch (error) {
      // Always transient: the queue is the relay's own, so a refusal is an outage or a deployment
      // under way, and the delivery that asked is retried (then dead-lettered) as a whole.
      const name = error instanceof Error ? error.name : typeof error;
      throw new TransientDeliveryError(`Digest queue failed to ${what}: ${name}`, { cause: error });
    }
  }
}
