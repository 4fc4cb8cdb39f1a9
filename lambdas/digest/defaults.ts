/**
 * The default digest policy of each human backend, defined once (lib/settings.ts reads it for
 * `backends.<name>.digest`). Chosen so that a burst of 1000 alerts from one application reaches
 * each destination as a handful of messages, while the first alert of a quiet period still goes
 * out at once:
 * - Slack: 3 at once, then a digest per minute. A channel is read in bursts and an incoming
 *   webhook takes about one message a second; a minute keeps the channel current.
 * - E-mail: 3 at once, then a digest every 5 minutes. An inbox is read less often than a channel,
 *   and SES sends about one message a second in the sandbox.
 * - SMS: 1 at once, then a digest every 10 minutes. A text wakes someone up: the first says
 *   something is happening, the digest how much; more would only be noise (and cost per text).
 */
import type { DigestPolicy, HumanBackend } from "./seams.js";

export const DEFAULT_DIGEST_POLICIES: Readonly<Record<HumanBackend, DigestPolicy>> = {
  slack: { immediate: 3, windowSeconds: 60 },
  email: { immediate: 3, windowSeconds: 300 },
  sms: { immediate: 1, windowSeconds: 600 },
};

/**
 * How long a delivery refused for its rate waits on the backend's queue when the destination did
 * not say (SES and SNS throttling carry no Retry-After; Slack's 429 does): a minute, as Lambda's
 * own first retry, by when a per-second sending rate has long recovered.
 */
export const DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60;

/**
 * How often one alert may wait for a rate limit before its delivery fails like any other (and so
 * is retried, then dead-lettered): 20 waits of a minute or more is a destination refusing for
 * good, not a burst.
 */
export const MAX_DEFERRALS = 20;
