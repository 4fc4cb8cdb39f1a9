/**
 * Posting to Slack incoming webhooks with the official client (@slack/webhook IncomingWebhook),
 * its own retries off: the loop in retry.ts retries transient failures and honours
 * `Retry-After`, which the client's errors do not expose (a wrapped fetch records it).
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
import { parseRetryAfter, type RetryPolicy, withRetries } from "../delivery/retry.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../runtime/errors.js";

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
  /** Defaults to the global fetch. */
  fetch?: FetchFunction;
}

/** A SlackPoster over IncomingWebhook. */
export function createSlackPoster(options: SlackPosterOptions): SlackPoster {
  const baseFetch: FetchFunction = options.fetch ?? (globalThis.fetch as FetchFunction);
  return {
    async post(webhookUrl, channel, message) {
      let attempts = 0;
      await withRetries(options.retry, async () => {
        attempts++;
        let retryAfter: string | null = null;
        const webhook = new IncomingWebhook(webhookUrl, {
          timeout: options.timeoutMs,
          retryConfig: { retries: 0 },
          fetch: async (url, init) => {
            const response = await baseFetch(url, init);
            retryAfter = response.headers.get("retry-after");
            return response;
          },
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
    const cause = error.original.cause as { code?: unknown } | undefined;
    const code = typeof cause?.code === "string" ? cause.code : name;
    return new TransientDeliveryError(`Slack webhook (${channel}): network error ${code}`);
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientDeliveryError(`Slack webhook (${channel}): unexpected ${name}`);
}
