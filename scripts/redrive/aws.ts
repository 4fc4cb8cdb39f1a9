/**
 * Redrive in AWS: replays a deliver function's dead-letter queue through the function.
 *
 * The delivery DLQ is the function's on-failure destination: it holds Lambda invocation records,
 * not the original messages, and there is no source queue to move them back to, so
 * `sqs start-message-move-task` cannot replay them. This reads each record, takes the SNS event it
 * carries (`requestPayload`) and invokes the function that failed (`requestContext.functionArn`,
 * or --function-name) with it.
 *
 * Decisions:
 * - Synchronous invocations (RequestResponse): the tool learns whether each replay worked, deletes
 *   a message only then, and prints why the others still fail. An asynchronous invoke would only
 *   say the event was queued, and a failure would come back later as a new record.
 * - One at a time: the backends (Slack, SES, SMS) have rate limits, and a redrive is not urgent.
 * - Safe to repeat: deliveries are idempotent per alert, backend and recipient (see
 *   lambdas/delivery/idempotency.ts), so replaying an alert that meanwhile got through sends nothing.
 * - Messages that fail again, cannot be read, or are only looked at (--dry-run) stay in the queue
 *   and are made visible again at the end, for the next run.
 */

import { type CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Backend } from "../../lambdas/contracts/messages.js";
import { redrivenEntry, subjectOfMessage } from "../../lambdas/ledger/entry.js";
import { type DeliveryLedger, LEDGER_WRITE_FAILED } from "../../lambdas/ledger/ledger.js";
import { type Replayable, replayableFromQueueMessage } from "./records.js";
import { type RedriveResult, type RedriveSummary, summarize } from "./summary.js";

/** Name of the deployed stack (lib/relay-app.ts STACK_NAME). */
export const DEFAULT_STACK_NAME = "SqreenRelay";

/** Which of a backend's two dead-letter queues. */
export type DeadLetterSource = "delivery" | "subscription";

/** Long enough that a message is seen once per run; given back at the end when kept. */
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 300;

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** The stack output naming a backend's dead-letter queue (lib/relay-stack.ts). */
export function deadLetterQueueOutputKey(backend: Backend, source: DeadLetterSource): string {
  return `${pascal(backend)}${source === "delivery" ? "Delivery" : "Subscription"}DeadLetterQueueName`;
}

/** The stack output naming a backend's delivery function. */
export function deliveryFunctionOutputKey(backend: Backend): string {
  return `${pascal(backend)}FunctionName`;
}

/** What the redrive of one backend's dead-letter queue needs from the deployed stack. */
export interface RedriveTarget {
  queueUrl: string;
  /** The backend's delivery function, when the stack names it. */
  functionName: string | undefined;
}

/** The URL of a backend's dead-letter queue and the name of its function, from the stack's outputs. */
export async function findRedriveTarget(options: {
  cloudFormation: CloudFormationClient;
  sqs: SQSClient;
  stackName: string;
  backend: Backend;
  source: DeadLetterSource;
}): Promise<RedriveTarget> {
  const { Stacks } = await options.cloudFormation.send(
    new DescribeStacksCommand({ StackName: options.stackName }),
  );
  const output = (key: string) => Stacks?.[0]?.Outputs?.find((entry) => entry.OutputKey === key)?.OutputValue;
  const key = deadLetterQueueOutputKey(options.backend, options.source);
  const name = output(key);
  if (!name) {
    throw new Error(
      `Stack ${options.stackName} has no output ${key}: is the ${options.backend} backend enabled in the deployed settings? ` +
        "Pass --queue-url to name the queue yourself.",
    );
  }
  const { QueueUrl } = await options.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`Queue ${name} has no URL`);
  return { queueUrl: QueueUrl, functionName: output(deliveryFunctionOutputKey(options.backend)) };
}

export interface AwsRedriveOptions {
  sqs: SQSClient;
  lambda: LambdaClient;
  queueUrl: string;
  /** Invoke this function instead of the one each record names (required for subscription DLQs). */
  functionName?: string | undefined;
  /** Dead letters to look at, at most. */
  max?: number | undefined;
  /** List what would be replayed; invoke and delete nothing. */
  dryRun?: boolean | undefined;
  visibilityTimeoutSeconds?: number | undefined;
  /** Called after each dead letter, for progress output. */
  onResult?: ((result: RedriveResult) => void) | undefined;
  /** Where each replay is recorded as `redriven` before it runs (the stack's ledger), with the backend it is for. */
  recording?: { ledger: DeliveryLedger; backend: Backend; stderr: (text: string) => void } | undefined;
}

/** Records `redriven` for the alert a replay carries; a ledger failure is said, never fatal. */
async function recordRedriven(
  recording: NonNullable<AwsRedriveOptions["recording"]>,
  replayable: Replayable,
): Promise<void> {
  const message = replayable.event.Records?.[0]?.Sns?.Message;
  const subject = typeof message === "string" ? subjectOfMessage(message, recording.backend) : undefined;
  if (!subject) return;
  try {
    await recording.ledger.record([redrivenEntry(subject, new Date().toISOString())]);
  } catch (error) {
    recording.stderr(`${LEDGER_WRITE_FAILED} (redriven of ${subject.alertId}): ${(error as Error).name}\n`);
  }
}

/** Replays a deliver function's dead-letter queue through the function; see the module comment. */
export async function redriveQueue(options: AwsRedriveOptions): Promise<RedriveSummary> {
  const { sqs, queueUrl } = options;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const dryRun = options.dryRun ?? false;
  const results: RedriveResult[] = [];
  const kept: string[] = [];
  const seen = new Set<string>();

  const record = (result: RedriveResult, receiptHandle: string | undefined, keep: boolean): void => {
    results.push(result);
    if (keep && receiptHandle) kept.push(receiptHandle);
    options.onResult?.(result);
  };

  try {
    receiving: while (results.length < max) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: Math.min(10, max - results.length),
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
          WaitTimeSeconds: 1,
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        const ref = message.MessageId ?? "unknown";
        // A message back already (a run longer than the visibility timeout): the queue went round.
        if (seen.has(ref)) break receiving;
        seen.add(ref);
        let replayable: Replayable;
        try {
          replayable = replayableFromQueueMessage(message.Body ?? "");
        } catch (error) {
          record(
            { status: "unreadable", ref, alertId: "unknown", reason: (error as Error).message },
            message.ReceiptHandle,
            true,
          );
          continue;
        }
        const { alertId } = replayable;
        if (dryRun) {
          record(
            {
              status: "would-replay",
              ref,
              alertId,
              ...(replayable.reason ? { reason: replayable.reason } : {}),
            },
            message.ReceiptHandle,
            true,
          );
          continue;
        }
        const functionName = options.functionName ?? replayable.functionArn;
        if (!functionName) {
          record(
            { status: "failed", ref, alertId, reason: "the message names no function: pass --function-name" },
            message.ReceiptHandle,
            true,
          );
          continue;
        }
        if (options.recording) await recordRedriven(options.recording, replayable);
        const failure = await invoke(options.lambda, functionName, replayable);
        if (failure !== undefined) {
          record({ status: "failed", ref, alertId, reason: failure }, message.ReceiptHandle, true);
          continue;
        }
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        record({ status: "replayed", ref, alertId }, message.ReceiptHandle, false);
      }
    }
  } finally {
    // Whatever stays is visible again at once, for the next run (or the operator's own look).
    for (const receiptHandle of kept) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
  }
  return summarize(queueUrl, dryRun, results);
}

/** Invokes the function with the record's event and waits; the failure's message, or undefined. */
async function invoke(
  lambda: LambdaClient,
  functionName: string,
  replayable: Replayable,
): Promise<string | undefined> {
  try {
    const output = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: new TextEncoder().encode(JSON.stringify(replayable.event)),
      }),
    );
    if (!output.FunctionError) return undefined;
    return `${output.FunctionError}: ${errorMessageOf(output.Payload)}`;
  } catch (error) {
    // Throttled, not found, not allowed: the message stays for the next run.
    return `Invoke failed: ${(error as Error).name}: ${(error as Error).message}`;
  }
}

/** A failed invocation's payload is `{ errorType, errorMessage, trace }`; only the message is shown. */
function errorMessageOf(payload: Uint8Array | undefined): string {
  if (!payload) return "no error message";
  try {
    const parsed = JSON.parse(new TextDecoder().decode(payload)) as {
      errorType?: unknown;
      errorMessage?: unknown;
    };
    const type = typeof parsed.errorType === "string" ? `${parsed.errorType}: ` : "";
    return typeof parsed.errorMessage === "string" ? `${type}${parsed.errorMessage}` : "no error message";
  } catch {
    return "unreadable error payload";
  }
}
