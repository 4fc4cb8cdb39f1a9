/**
 * The one outbound POST of the backends that call a receiver over HTTP (deliver-http, and
 * deliver-slack through the Slack client's `fetch` seam): node:http(s) on a keep-alive agent per
 * process, with a per-attempt deadline on a plain timer.
 *
 * Why not the global `fetch`: undici's fetch with an `AbortSignal.timeout` per request was a
 * quarter of the local relay's CPU per notification (issue 17), and a keep-alive node:http agent
 * measured 15% less CPU for the same posts. Connections are reused across invocations of a warm
 * function, as the SDK clients' are.
 *
 * Redirects are never followed (a signed delivery goes where it was configured to, not where a
 * 3xx points): a 3xx is answered like any other status. The answer's body is read up to
 * `maxBodyBytes` (what a caller shows of it, e.g. Slack's error word) and the rest is discarded.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/**
 * How long an idle connection is kept for the next post: under the 5 s that Node servers (and
 * many proxies) keep an idle connection open, so a post rarely goes out on a socket the receiver
 * is closing at that moment (and one that does fails as a network error, which is retried).
 */
const IDLE_SOCKET_TIMEOUT_MS = 4_000;

const agents = {
  "http:": new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS }),
  "https:": new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_TIMEOUT_MS }),
};

export interface HttpPost {
  url: string | URL;
  headers: Readonly<Record<string, string>>;
  body: string;
  /** The whole attempt (connection, request and answer) gets this long. */
  timeoutMs: number;
  /** Bytes of the answer's body kept (0, the default, keeps none). */
  maxBodyBytes?: number;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The body's first `maxBodyBytes` bytes, as UTF-8. */
  body: string;
}

/** The post got no answer in time. Named as fetch's timeout is, so a caller can tell it apart. */
export class HttpPostTimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * POSTs `post.body` and resolves with the answer, whatever its status. Rejects with
 * HttpPostTimeoutError past the deadline, or with node's own error (its `code`: ECONNREFUSED,
 * ECONNRESET...) when the connection failed: the caller classifies both as transient.
 */
export function postHttp(post: HttpPost): Promise<HttpAnswer> {
  const url = typeof post.url === "string" ? new URL(post.url) : post.url;
  const secure = url.protocol === "https:";
  if (!secure && url.protocol !== "http:") {
    return Promise.reject(new TypeError(`unsupported protocol ${url.protocol}`));
  }
  const maxBodyBytes = post.maxBodyBytes ?? 0;
  const body = Buffer.from(post.body, "utf8");
  return new Promise<HttpAnswer>((resolve, reject) => {
    const outgoing = (secure ? httpsRequest : httpRequest)(
      url,
      {
        method: "POST",
        agent: agents[secure ? "https:" : "http:"],
        headers: { ...post.headers, "content-length": body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        response.on("data", (chunk: Buffer) => {
          if (kept >= maxBodyBytes) return;
          const part = chunk.subarray(0, maxBodyBytes - kept);
          chunks.push(part);
          kept += part.length;
        });
        response.on("end", () => {
          clearTimeout(timer);
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? "",
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          });
        });
        response.on("error", fail);
      },
    );
    let timedOut = false;
    function fail(error: Error): void {
      clearTimeout(timer);
      // Past the deadline, whatever the destroyed request reports (a reset, an aborted answer) is the timeout.
      reject(timedOut ? new HttpPostTimeoutError(`no answer within ${post.timeoutMs} ms`) : error);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      outgoing.destroy(new HttpPostTimeoutError(`no answer within ${post.timeoutMs} ms`));
    }, post.timeoutMs);
    outgoing.on("error", fail);
    outgoing.end(body);
  });
}

/** One header of an answer as text (the first, when it was repeated), or null. */
export function headerOf(answer: HttpAnswer, name: string): string | null {
  const value = answer.headers[name.toLowerCase()];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}
