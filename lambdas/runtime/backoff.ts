/**
 * Waiting between attempts, for every in-process retry loop (SQS and SNS batch entries, outbound
 * deliveries): one sleep and one exponential backoff with jitter.
 */

/** Waits `milliseconds`; every retry loop takes one as an option so tests can record the waits. */
export type Sleep = (milliseconds: number) => Promise<void>;

export const sleep: Sleep = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

export interface BackoffOptions {
  /**
   * Share of the exponential delay always waited; the rest is random. 0 is full jitter, 0.5 waits
   * between half and all of it. Jitter spreads the retries of callers that failed together.
   */
  fixedShare: number;
  /** Source of jitter in [0, 1). */
  random?: () => number;
}

/** The wait before retry number `attempt` (1 for the first retry): `baseDelayMs · 2^(attempt-1)`, jittered. */
export function backoffDelay(baseDelayMs: number, attempt: number, options: BackoffOptions): number {
  const exponential = baseDelayMs * 2 ** (attempt - 1);
  const random = options.random ?? Math.random;
  return exponential * options.fixedShare + random() * exponential * (1 - options.fixedShare);
}
