/**
 * Posting to Slack incoming webhooks with the official client (@slack/webhook IncomingWebhook),
 * its own retries off: the loop in retry.ts retries transient failures and honours
 * `Retry-After`, which the client's errors do not expose (the fetch it is given records it).
 * That fetch is the relay's one outbound POST (lambdas/delivery/http-post.ts: keep-alive, its own
 * deadline), so the client's own timeout, an AbortSignal per post, stays off.
 *
 * The webhook URL is a credential (whoever has it can post to the channel): it never reaches a
 * log or an error message, not even its origin's path. Errors name the channel role instead.
 */
import {
  type FetchFunction,
  IncomingWebhook,
  IncomingWebhookHTTPError,
  IncomingWebhookRequestError,
  type IncomingWebhookSendArguments,
} from "@slack/webhook";
import { type HttpAnswer, headerOf, postHttp } from "../delivery/http-post.js";

import { parseRetryAfter, type RetryPolicy, withRetries } from "../delivery/retry.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../runtime/errors.js";

/** What the client reads of a fetch Response (the package does not export the type by name). */
type FetchResponse = Awaited<ReturnType<FetchFunction>>;

/** What is posted: fallback text and Block Kit blocks. */
export interface SlackPost {
  text: string;
  blocks: NonNullable<IncomingWebhookSendArguments["blocks"]>;
}

export interface SlackPoster {
  /**
   * Posts to one incoming webhook. `channel` names it in errors (`alerts`, `admin`), since the URL
   * may not be shown. Rejects with PermanentDeliveryError or TransientDeliveryError.
   */
  post(webhookUrl: string, channel: string, message: SlackPost): Promise<{ attempts: number }>;
}

export interface SlackPosterOptions {
  /** Per-attempt timeout. */
  timeoutMs: number;
  retry: RetryPolicy;
}

/** Bytes of Slack's answer kept: its body is a short word (`ok`, `invalid_payload`, `no_service`). */
const SLACK_ANSWER_BYTES = 1024;

/** A SlackPoster over IncomingWebhook. */
export function createSlackPoster(options: SlackPosterOptions): SlackPoster {
  return {
    async post(webhookUrl, channel, message) {
      let attempts = 0;
      await withRetries(options.retry, async () => {
        attempts++;
        let retryAfter: string | null = null;
        const webhook = new IncomingWebhook(webhookUrl, {
          // 0: no AbortSignal of the client's own; the fetch below has the deadline.
          timeout: 0,
          retryConfig: { retries: 0 },
          fetch: slackFetch(options.timeoutMs, (answer) => {
            retryAfter = headerOf(answer, "retry-after");
          }),
        });
        try {
          await webhook.send(message);
        } catch (error) {
          throw classifySlackError(error, channel, retryAfter);
        }
      });
      return { attempts };
    },
  };
}

/**
 * The client's fetch seam over postHttp, with `timeoutMs` per post. A 3xx is answered as it is
 * (postHttp follows no redirect), so it fails as a permanent status, as Slack never redirects a
 * working webhook.
 */
function slackFetch(timeoutMs: number, answered: (answer: HttpAnswer) => void): FetchFunction {
  return async (url, init) => {
    const answer = await postHttp({
      url,
      headers: init?.headers ?? {},
      body: typeof init?.body === "string" ? init.body : "",
      timeoutMs,
      maxBodyBytes: SLACK_ANSWER_BYTES,
    });
    answered(answer);
    return fetchResponse(String(url), answer);
  };
}

/** An answer as the client reads a fetch Response (status, headers and text). */
function fetchResponse(url: string, answer: HttpAnswer): FetchResponse {
  const text = async () => answer.body;
  return {
    ok: answer.status >= 200 && answer.status < 300,
    status: answer.status,
    statusText: answer.statusText,
    url,
    headers: {
      get: (name: string) => headerOf(answer, name),
      entries: () =>
        Object.entries(answer.headers).map(([name, value]): [string, string] => [
          name,
          Array.isArray(value) ? value.join(", ") : (value ?? ""),
        ]),
    },
    text,
    json: async () => JSON.parse(answer.body) as unknown,
    arrayBuffer: async () => new TextEncoder().encode(answer.body).buffer as ArrayBuffer,
  };
}

/** Maps the client's errors to delivery errors; messages carry the status, never the URL or body. */
export function classifySlackError(
  error: unknown,
  channel: string,
  retryAfter: string | null = null,
): PermanentDeliveryError | TransientDeliveryError {
  if (error instanceof IncomingWebhookHTTPError) {
    const { statusCode } = error;
    // 429 (rate limited) and 5xx say "not now": retry, waiting as long as Slack asks.
    if (statusCode === 429 || statusCode >= 500) {
      return new TransientDeliveryError(`Slack webhook (${channel}): status ${statusCode} (transient)`, {
        retryAfterSeconds: parseRetryAfter(retryAfter),
        rateLimited: statusCode === 429,
      });
    }
    // 4xx: invalid_payload, no_service (revoked URL), channel_not_found... the same post fails again.
    return new PermanentDeliveryError(`Slack webhook (${channel}): status ${statusCode} (permanent)`);
  }
  if (error instanceof IncomingWebhookRequestError) {
    // No answer at all (timeout, DNS, reset): Slack may be reachable a moment later.
    const name = error.original.name === "TimeoutError" ? "timeout" : error.original.name;
    // node's code (ECONNREFUSED, ECONNRESET...) says what happened; its message may quote the URL.
    const code = (error.original as NodeJS.ErrnoException).code ?? name;
    return new TransientDeliveryError(`Slack webhook (${channel}): network error ${code}`);
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientDeliveryError(`Slack webhook (${channel}): unexpected ${name}`);
}
