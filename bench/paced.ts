/**
 * A sender that holds a rate (wrk cannot: it keeps a number of requests in flight, so it always
 * loads a server to its limit). Each request starts at its scheduled time whatever the earlier
 * ones are doing (an open loop, so a slow server does not slow the load down and hide its
 * latency), over keep-alive connections. At the few hundred requests per second it is used for,
 * it is far from what a Node client can send, so it is not the bound.
 */
import { Agent, request } from "node:http";
import type { SignedRequest } from "./load.js";

export interface PacedOptions {
  url: string;
  /** Sent in order, each once. */
  requests: readonly SignedRequest[];
  perSecond: number;
  seconds: number;
  /** Requests in flight at most: past it the sender is the bound, and says so in `late`. */
  maxInFlight: number;
}

export interface PacedResult {
  sent: number;
  ok: number;
  /** Requests that started later than scheduled by more than 10 ms (sender or connections saturated). */
  late: number;
  elapsedMs: number;
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

/** Sends `perSecond × seconds` requests (at most the ones prepared) at the rate, and waits for every answer. */
export async function runPaced(options: PacedOptions): Promise<PacedResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxInFlight });
  const total = Math.min(options.requests.length, Math.round(options.perSecond * options.seconds));
  const intervalMs = 1000 / options.perSecond;
  const answers: Promise<number>[] = [];
  let late = 0;
  const started = performance.now();
  for (let index = 0; index < total; index++) {
    const due = started + index * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    if (performance.now() - due > 10) late++;
    answers.push(post(agent, url, options.requests[index] as SignedRequest));
  }
  const statuses = await Promise.all(answers);
  const elapsedMs = performance.now() - started;
  agent.destroy();
  return { sent: total, ok: statuses.filter((status) => status === 200).length, late, elapsedMs };
}
