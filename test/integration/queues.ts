/** Reading what moto's queues hold. */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SnsEnvelope } from "./events.js";

/**
 * Every message waiting in the queue, deleted as read (moto delivers SNS fan-out synchronously,
 * so once a publish has returned the queue is complete). Message attributes included.
 */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return messages;
    messages.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((message, index) => ({
          Id: String(index),
          ReceiptHandle: message.ReceiptHandle,
        })),
      }),
    );
  }
}

/** The SNS envelopes a subscribed queue received (raw delivery off). */
export async function drainEnvelopes(sqs: SQSClient, queueUrl: string): Promise<SnsEnvelope[]> {
  return (await drainQueue(sqs, queueUrl)).map((message) => JSON.parse(message.Body ?? "") as SnsEnvelope);
}
