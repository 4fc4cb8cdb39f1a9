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
