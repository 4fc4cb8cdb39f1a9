/**
 * Posting a signed JSON webhook: Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`, https://www.standardwebhooks.com), a timeout per attempt, in-process
 * retries of transient failures honouring `Retry-After`, and failures classified on purpose.
 *
 * Only a URL's origin ever reaches a log or an error message: paths and query strings of webhook
 * URLs routinely carry tokens.
 */
import { createHash } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { type HttpAnswer, HttpPostTimeoutError, headerOf, postHttp } from "../delivery/http-post.js";
import { parseRetryAfter, type RetryPolicy, withRetries } from "../delivery/retry.js";
import { ConfigurationError, PermanentDeliveryError, TransientDeliveryError } from "../runtime/errors.js";

export interface SignedWebhookTarget {
  url: string;
  /** `whsec_` + base64 key, as the receiver was given it. */
  signingSecret: string;
}

export interface PostOptions {
  /** Per-attempt timeout. */
  timeoutMs: number;
  retry: RetryPolicy;
  /** Clock for `webhook-timestamp`. */
  now?: () => Date;
}

export interface PostResult {
  status: number;
  attempts: number;
}

/** `https://hooks.example.com/t/abc?token=x` → `https://hooks.example.com`: what logs may show. */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * `webhook-id` for an alert: stable, so a receiver can drop the copies retries produce. Characters
 * outside `[A-Za-z0-9_-]` are replaced, and a short hash of the real id is then appended so two
 * ids differing only in those characters stay distinct.
 */
export function webhookIdFor(alertId: string): string {
  const safe = alertId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 100);
  if (safe === alertId) return `msg_${safe}`;
  const hash = createHash("sha256").update(alertId).digest("hex").slice(0, 12);
  return `msg_${safe}_${hash}`;
}

/** The three Standard Webhooks headers for `body` sent now. */
export function standardWebhookHeaders(
  signingSecret: string,
  webhookId: string,
  body: string,
  now: Date,
): Record<string, string> {
  let signer: Webhook;
  try {
    signer = new Webhook(signingSecret);
  } catch {
    // The library's message is fine, but it is about the secret: keep to the fact.
    throw new ConfigurationError("signing secret is not a valid whsec_/base64 key");
  }
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": Math.floor(now.getTime() / 1000).toString(),
    "webhook-signature": signer.sign(webhookId, now, body),
  };
}

/**
 * POSTs `body` (JSON text) to the target, re-signing every attempt (receivers reject stale
 * timestamps). Resolves on any 2xx; rejects with TransientDeliveryError (network, timeout, 408,
 * 429, 5xx, once retries are spent) or PermanentDeliveryError (other statuses).
 */
export async function postSignedWebhook(
  target: SignedWebhookTarget,
  webhookId: string,
  body: string,
  options: PostOptions,
): Promise<PostResult> {
  const now = options.now ?? (() => new Date());
  const origin = urlOrigin(target.url);
  let attempts = 0;
  const status = await withRetries(options.retry, async () => {
    attempts++;
    let headers: Record<string, string>;
    try {
      headers = standardWebhookHeaders(target.signingSecret, webhookId, body, now());
    } catch (error) {
      throw new ConfigurationError(`HTTP target ${origin}: ${(error as Error).message}`);
    }
    let answer: HttpAnswer;
    try {
      // A 3xx is not followed (postHttp never does): a signed delivery goes where it was configured to.
      // The answer's body is not needed and may be large: none of it is kept.
      answer = await postHttp({
        url: target.url,
        headers: { "content-type": "application/json", "user-agent": "sqreen-relay", ...headers },
        body,
        timeoutMs: options.timeoutMs,
      });
    } catch (error) {
      throw networkFailure(error, origin, options.timeoutMs);
    }
    return classifyStatus(answer, origin);
  });
  return { status, attempts };
}

function networkFailure(error: unknown, origin: string, timeoutMs: number): TransientDeliveryError {
  const name = error instanceof Error ? error.name : "Error";
  // A timeout or a network error got no answer: the receiver may be fine a moment later.
  if (error instanceof HttpPostTimeoutError) {
    return new TransientDeliveryError(`HTTP target ${origin}: no answer within ${timeoutMs / 1000} s`);
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // The error's code (ECONNREFUSED, ECONNRESET...) says what happened; its message may quote the URL.
  return new TransientDeliveryError(`HTTP target ${origin}: network error ${code ?? name}`, {
    cause: error,
  });
}

function classifyStatus(answer: HttpAnswer, origin: string): number {
  const { status } = answer;
  if (status >= 200 && status < 300) return status;
  // 408, 429 and 5xx say "not now": retry, waiting as long as the receiver asks.
  if (status === 408 || status === 429 || status >= 500) {
    throw new TransientDeliveryError(`HTTP target ${origin}: status ${status} (transient)`, {
      retryAfterSeconds: parseRetryAfter(headerOf(answer, "retry-after")),
    });
  }
  // Other 4xx (and an unfollowed 3xx) will answer the same to the same request: do not retry.
  throw new PermanentDeliveryError(`HTTP target ${origin}: status ${status} (permanent)`);
}
