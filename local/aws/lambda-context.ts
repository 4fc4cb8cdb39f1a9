/** Running a handler in process as Lambda would: its context, its deadline, its failure message. */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

/**
 * A Lambda `Context` for running a handler in-process: what Powertools and middy read from it,
 * with a real deadline so timeouts behave as they would on Lambda.
 */
export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "256",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The shape of every middy handler the local stack runs. */
export type LambdaHandler<Event, Result> = (event: Event, context: Context) => Promise<Result>;

/** Rejects with a timeout error when `work` takes longer than `ms`, as Lambda stops a function. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How a failed invocation is reported (a dead letter's reason). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
