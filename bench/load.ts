/**
 * The load generator: `concurrency` senders, each posting signed Sqreen requests back to back over
 * keep-alive connections for a fixed time. Bodies are prepared before the clock starts so the
 * generator's own work stays small and equal for every server it loads.
 */
import { Agent, request } from "node:http";
import { signBody } from "../lambdas/ingest/signature.js";
import { generateNotifications, newRunId } from "../scripts/sqreen/samples.js";
import { sqreenWireBytes } from "../scripts/sqreen/wire.js";
import { percentileOfSorted } from "./stats.js";

export interface SignedRequest {
  body: Buffer;
  signature: string;
}

/**
 * `count` requests of one notification each, all with distinct event ids (a fresh run id), signed
 * with `key`: what Sqreen sends, one alert at a time.
 */
export function signedRequests(count: number, key: string): SignedRequest[] {
  const runId = newRunId();
  const requests: SignedRequest[] = [];
  for (let index = 0; index < count; index++) {
    const body = sqreenWireBytes(generateNotifications(1, { runId, firstIndex: index }));
    requests.push({ body, signature: signBody(body, key) });
  }
  return requests;
}

export interface LoadOptions {
  url: string;
  requests: readonly SignedRequest[];
  concurrency: number;
  durationMs: number;
  /** Send each prepared request at most once (the relay: ids must stay distinct) or cycle through them. */
  reuse: boolean;
}

export interface LoadResult {
  /** Requests answered 200. */
  ok: number;
  /** Requests answered otherwise, or not at all. */
  failed: number;
  /** Answers by status (0: no answer). */
  statuses: Record<string, number>;
  elapsedMs: number;
  okPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** True when the prepared requests ran out before the time did. */
  exhausted: boolean;
}

function post(agent: Agent, url: URL, prepared: SignedRequest): Promise<number> {
  return new Promise((resolve) => {
    const outgoing = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": prepared.body.length,
          "x-sqreen-integrity": prepared.signature,
        },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", () => resolve(0));
      },
    );
    outgoing.on("error", () => resolve(0));
    outgoing.end(prepared.body);
  });
}

/** Runs the load; resolves when the time is up and every request in flight has its answer. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let exhausted = false;
  const started = performance.now();
  const deadline = started + options.durationMs;
  const sender = async (): Promise<void> => {
    while (performance.now() < deadline) {
      if (!options.reuse && next >= options.requests.length) {
        exhausted = true;
        return;
      }
      const prepared = options.requests[next++ % options.requests.length] as SignedRequest;
      const sent = performance.now();
      const status = await post(agent, url, prepared);
      latencies.push(performance.now() - sent);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, sender));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const ok = statuses["200"] ?? 0;
  return {
    ok,
    failed: latencies.length - ok,
    statuses,
    elapsedMs,
    okPerSecond: ok / (elapsedMs / 1000),
    p50Ms: percentileOfSorted(latencies, 50),
    p99Ms: percentileOfSorted(latencies, 99),
    exhausted,
  };
}
