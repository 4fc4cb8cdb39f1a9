/**
 * Queue defaults shared by the ingest queue and every dead-letter queue: SQS-managed encryption
 * (no key policy for SNS or Lambda to get wrong), TLS-only access, and the longest retention for
 * dead letters so an operator has two weeks to look and redrive.
 */
import { Duration, Validations } from "aws-cdk-lib";
import { Queue, QueueEncryption, type QueueProps } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/** Queue properties every relay queue has. */
export const QUEUE_DEFAULTS = {
  encryption: QueueEncryption.SQS_MANAGED,
  enforceSSL: true,
} as const satisfies QueueProps;

export interface DeadLetterQueueOptions {
  /**
   * Who sends here, when it is not an SQS redrive policy cdk-nag can see (an SNS subscription's
   * redrive policy, a Lambda on-failure destination): the acknowledgement of AwsSolutions-SQS3
   * names it. Leave it out for a queue that is an SQS redrive target.
   */
  readonly deadLetterOf?: string;
}

/** A dead-letter queue: encrypted, TLS-only, 14 days' retention, and no DLQ of its own. */
export function createDeadLetterQueue(
  scope: Construct,
  id: string,
  options: DeadLetterQueueOptions = {},
): Queue {
  const queue = new Queue(scope, id, { ...QUEUE_DEFAULTS, retentionPeriod: Duration.days(14) });
  if (options.deadLetterOf !== undefined) {
    Validations.of(queue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason: `This queue is itself a dead-letter queue (${options.deadLetterOf}); a dead-letter queue of a dead-letter queue would only move the problem.`,
    });
  }
  return queue;
}
