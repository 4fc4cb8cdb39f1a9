/**
 * Building, signing and sending requests exactly as Sqreen does, and summarizing many of them.
 * Pure where possible; the one network call goes through an injected `fetch`.
 */
import { signBody } from "../../lambdas/ingest/signature.js";

/** The header as Sqreen spelled it (HTTP header names are case-insensitive). */
export const INTEGRITY_HEADER = "X-Sqreen-Integrity";

export interface SqreenRequest {
  /** The exact bytes sent and signed. */
  body: Uint8Array;
  headers: Record<string, string>;
}

/**
 * The same signature with one hex digit changed (its lowest bit flipped): still 64 hex
 * characters, so a relay must compute and compare the HMAC to refuse it, not just check a format.
 */
export function tamperSignature(signature: string): string {
  const first = Number.parseInt(signature.charAt(0), 16);
  if (Number.isNaN(first)) throw new RangeError("Not a hex signature");
  return `${(first ^ 1).toString(16)}${signature.slice(1)}`;
}

/** A POST Sqreen would send: `Content-Type: application/json` and `X-Sqreen-Integrity` over `body`. */
export function buildSqreenRequest(
  body: Uint8Array,
  secret: string,
  options: { tamper?: boolean } = {},
): SqreenRequest {
  const signature = signBody(body, secret);
  return {
    body,
    headers: {
      "Content-Type": "application/json",
      [INTEGRITY_HEADER]: options.tamper ? tamperSignature(signature) : signature,
    },
  };
}

export interface SendResult {
  /** HTTP status, or 0 when no answer came (network error, refused connection). */
  status: number;
  /** The answer body, or the network error's message. */
  body: string;
  latencyMs: number;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** True for a 2xx answer: the only kind Sqreen took as delivered. */
export function isSuccess(result: SendResult): boolean {
  return result.status >= 200 && result.status < 300;
}

/** POSTs one request and measures the time to the full answer. Never throws. */
export async function sendRequest(
  url: string,
  request: SqreenRequest,
  fetchImpl: FetchLike = fetch,
  now: () => number = performance.now.bind(performance),
): Promise<SendResult> {
  const started = now();
  try {
    const response = await fetchImpl(url, { method: "POST", headers: request.headers, body: request.body });
    const body = await response.text();
    return { status: response.status, body, latencyMs: now() - started };
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    const message = error instanceof Error ? `${error.message}${cause}` : String(error);
    return { status: 0, body: message, latencyMs: now() - started };
  }
}

/**
 * Runs `count` tasks with at most `concurrency` in flight, reporting each completion, and returns
 * the results in task order.
 */
export async function runBounded<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
  onDone: (completed: number, result: T) => void = () => {},
): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let completed = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const index = next++;
      const result = await task(index);
      results[index] = result;
      completed++;
      onDone(completed, result);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return results;
}

/** Nearest-rank percentile (`p` in 0..100) of ascending `sorted`; 0 for no values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface SendSummary {
  ok: number;
  failed: number;
  /** How many answers had each status (0: no answer). */
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Counts and latency percentiles of a run. */
export function summarize(results: readonly SendResult[]): SendSummary {
  const statuses: Record<string, number> = {};
  for (const result of results) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
  const latencies = results.map((result) => result.latencyMs).sort((a, b) => a - b);
  const ok = results.filter(isSuccess).length;
  return {
    ok,
    failed: results.length - ok,
    statuses,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? 0,
  };
}

/** `text` cut to `max` characters with an ellipsis, newlines flattened: fits one terminal line. */
export function truncate(text: string, max = 200): string {
  const flat = text.replace(/\s*\n\s*/g, " ");
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
