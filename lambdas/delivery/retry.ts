/**
 * In-process retries for outbound deliveries, and the classification of AWS SDK failures.
 *
 * A delivery function runs under SNS asynchronous invocation: when it throws, Lambda retries the
 * whole event twice (about one and two minutes later) and then dead-letters it. The short loop
 * here absorbs brief hiccups (a 502, a 429 asking for one second) inside one invocation, and gives
 * up early enough to stay well inside the function timeout; anything longer is left to the
 * platform's retries.
 */
import { backoffDelay, type Sleep, sleep } from "../runtime/backoff.js";
import { PermanentDeliveryError, RelayError, TransientDeliveryError } from "../runtime/errors.js";

export interface RetryPolicy {
  /** Total attempts, the first one included. */
  attempts: number;
  /** First backoff wait; doubled on every retry (with jitter) when the receiver says nothing. */
  baseDelayMs: number;
  /**
   * Longest single wait. A `Retry-After` asking for more stops the in-process loop: the platform
   * retry (a minute later) honours it better than a function burning its timeout asleep.
   */
  maxDelayMs: number;
  /** Sleeps between attempts; injectable so tests can record the waits instead of taking them. */
  sleep?: Sleep;
}

/**
 * Three attempts, waits of at most 5 s: with a 5 s per-attempt timeout one delivery takes at most
 * about 25 s, which a 30 s (or longer) function timeout absorbs.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 5_000 };

/**
 * Runs `attempt` until it succeeds, throws something other than a TransientDeliveryError, or the
 * policy is exhausted; then rethrows the last error. Waits honour the error's `retryAfterSeconds`.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: (attemptNumber: number) => Promise<T>,
): Promise<T> {
  const wait = policy.sleep ?? sleep;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (error) {
      // Only transient failures are worth another try; a permanent one would fail the same way.
      if (!(error instanceof TransientDeliveryError) || attemptNumber >= policy.attempts) throw error;
      const delay = retryDelay(policy, attemptNumber, error.retryAfterSeconds);
      if (delay === undefined) throw error;
      await wait(delay);
    }
  }
}

/** The wait before retry number `attemptNumber`, or undefined when the receiver asks for too long. */
function retryDelay(
  policy: RetryPolicy,
  attemptNumber: number,
  retryAfterSeconds?: number,
): number | undefined {
  if (retryAfterSeconds !== undefined) {
    const asked = retryAfterSeconds * 1000;
    return asked <= policy.maxDelayMs ? asked : undefined;
  }
  // Jitter between half and all of the exponential delay spreads retries of parallel senders.
  const delay = backoffDelay(policy.baseDelayMs, attemptNumber, { fixedShare: 0.5 });
  return Math.min(policy.maxDelayMs, Math.round(delay));
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date. Returns whole seconds (never
 * negative), or undefined when the header is absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: Date = new Date(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/** AWS error names that mean "slow down" or "try later", whatever HTTP status carried them. */
const TRANSIENT_AWS_ERROR_NAMES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "Throttled",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "InternalFailure",
  "InternalError",
  "InternalErrorException",
  "KMSThrottlingException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);

/** Of those, the names that mean "you send too fast" (SES's sending rate, SNS SMS throttling). */
const RATE_LIMIT_AWS_ERROR_NAMES = new Set([
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "Throttled",
  "TooManyRequestsException",
  "RequestLimitExceeded",
]);

interface AwsErrorShape {
  name?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * Maps an AWS SDK v3 failure to a delivery error. `what` names the attempted action in the
 * message (it must hold no secret or unmasked address: it becomes the dead-letter reason).
 * Only the SDK error's name reaches the message; its text may quote the address.
 */
export function classifyAwsError(
  error: unknown,
  what: string,
): PermanentDeliveryError | TransientDeliveryError {
  if (error instanceof RelayError && isDeliveryError(error)) return error;
  const shape = (typeof error === "object" && error !== null ? error : {}) as AwsErrorShape;
  const name = typeof shape.name === "string" ? shape.name : "UnknownError";
  const status =
    typeof shape.$metadata?.httpStatusCode === "number" ? shape.$metadata.httpStatusCode : undefined;
  // Throttling comes back as a 400 from SES/SNS, so the name is checked before the status.
  if (TRANSIENT_AWS_ERROR_NAMES.has(name)) {
    return new TransientDeliveryError(`${what} failed: ${name} (transient)`, {
      cause: error,
      rateLimited: RATE_LIMIT_AWS_ERROR_NAMES.has(name),
    });
  }
  // No HTTP status at all means the request never got an answer (DNS, reset, socket timeout).
  if (status === undefined || status >= 500 || status === 429 || shape.$fault === "server") {
    return new TransientDeliveryError(`${what} failed: ${name} (transient)`, {
      cause: error,
      rateLimited: status === 429,
    });
  }
  // Any other 4xx (MessageRejected, InvalidParameter, an unverified sender...) fails the same way again.
  return new PermanentDeliveryError(`${what} failed: ${name} (permanent, status ${status})`, {
    cause: error,
  });
}

function isDeliveryError(error: RelayError): error is PermanentDeliveryError | TransientDeliveryError {
  return error instanceof PermanentDeliveryError || error instanceof TransientDeliveryError;
}

/**
 * Combines the failures of a fan-out (several recipients or targets) into one error: transient if
 * any of them is (a retry may then succeed), permanent otherwise.
 */
export function combineFailures(
  summary: string,
  failures: readonly (PermanentDeliveryError | TransientDeliveryError)[],
): PermanentDeliveryError | TransientDeliveryError {
  const message = `${summary}: ${failures.map((failure) => failure.message).join("; ")}`;
  const transient = failures.filter((failure) => failure instanceof TransientDeliveryError);
  if (transient.length === 0) return new PermanentDeliveryError(message, { cause: failures[0] });
  const retryAfter = transient
    .map((failure) => failure.retryAfterSeconds)
    .filter((seconds): seconds is number => seconds !== undefined);
  return new TransientDeliveryError(message, {
    retryAfterSeconds: retryAfter.length > 0 ? Math.max(...retryAfter) : undefined,
    rateLimited: transient.some((failure) => failure.rateLimited),
    cause: transient[0],
  });
}
