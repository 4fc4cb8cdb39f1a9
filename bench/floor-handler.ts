/**
 * The bundle goal's floor (issue 17): a handler that only sends one SQS message with the same SDK
 * the functions bundle. bench/cold-start.ts bundles it with the stack's esbuild options; each
 * function's bytes and cold import are compared with it.
 */
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";

const sqs = new SQSClient({});

export const handler = async (): Promise<void> => {
  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.FLOOR_QUEUE_URL, MessageBody: "{}" }));
};
