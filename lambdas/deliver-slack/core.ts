/**
 * deliver-slack: posts the alert's Block Kit message to the alerts channel's incoming webhook,
 * and internal alerts also to the administrators' channel when `adminWebhookUrl` is set. Both
 * posts are attempted even if one fails; then any failure fails the delivery. Each post goes
 * through `once` (the idempotency guard's, keyed by alert, backend and webhook URL), so the
 * platform's retry re-posts only to the channel that failed.
 *
 * With `digests`, a burst becomes a digest per channel (lambdas/digest/admission.ts), and the
 * handler also consumes the backend's own queue: window closes and deliveries that waited for a
 * rate limit (lambdas/digest/consumer.ts).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../contracts/alert.js";
import type { SlackSecret } from "../contracts/backend-secrets.js";
import { createDeliverHandler, type DeliverHandler, type DeliveryRecording } from "../delivery/chain.js";
import { sendToEachInParallel } from "../delivery/fan-out.js";
import type { DeliveryGuard, DeliveryOutcome, SendOnce } from "../delivery/outcome.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../delivery/retry.js";
import type { SecretSource } from "../delivery/secret-source.js";
import { type DigestDeps, deliverThroughWindows } from "../digest/admission.js";
import { createBackendQueue } from "../digest/consumer.js";
import { slackDigest } from "../digest/render.js";
import { TransientDeliveryError } from "../runtime/errors.js";
import { DEFAULT_SLACK_TIMEOUT_SECONDS } from "./config.js";
import { formatSlackMessage } from "./format.js";
import { createSlackPoster, type SlackPoster } from "./slack.js";

export interface DeliverSlackDeps {
  /** `{ webhookUrl, adminWebhookUrl? }`. */
  secrets: SecretSource<SlackSecret>;
  logger: Logger;
  /** The real IncomingWebhook poster (createSlackPoster) when omitted. */
  poster?: SlackPoster;
  /** Used to build the default poster. */
  timeoutMs?: number;
  /** Used to build the default poster. */
  retry?: RetryPolicy;
  guard?: DeliveryGuard;
  /** Bursts become digests per channel (lambdas/digest/admission.ts); every alert alone when omitted. */
  digests?: DigestDeps;
  /** The delivery ledger this function records its outcomes in. */
  recording?: DeliveryRecording | undefined;
}

/** A Slack destination: the webhook URL (`key`, a credential, never logged) and the channel's role. */
interface SlackChannel {
  key: string;
  label: string;
}

/** The channels the secret names: the alerts channel, and the administrators' when it is another one. */
function slackChannels(secret: SlackSecret, includeAdmin: boolean): SlackChannel[] {
  const channels = [{ key: secret.webhookUrl, label: "alerts" }];
  // A second post only when it reaches a different channel than the first.
  if (includeAdmin && secret.adminWebhookUrl && secret.adminWebhookUrl !== secret.webhookUrl) {
    channels.push({ key: secret.adminWebhookUrl, label: "admin" });
  }
  return channels;
}

const slackNaming = {
  backend: "slack",
  address: (channel: SlackChannel) => channel.key,
  label: (channel: SlackChannel) => channel.label,
} as const;

/**
 * Posts the alert to its Slack channel(s) (each post through `once`, when given); throws the
 * combined failure if any post failed.
 */
export async function deliverSlack(
  alert: Alert,
  deps: {
    secrets: SecretSource<SlackSecret>;
    poster: SlackPoster;
    once?: SendOnce | undefined;
    digests?: DigestDeps | undefined;
  },
): Promise<DeliveryOutcome> {
  const secret = await deps.secrets.get();
  const channels = slackChannels(secret, alert.internal);
  // Rendered only when something is posted now: in a burst, most alerts are held for a digest.
  return deliverThroughWindows(alert, channels, slackNaming, deps.digests, (now) => {
    const message = formatSlackMessage(alert);
    return sendToEachInParallel(
      now,
      {
        what: "Slack delivery",
        plural: "channels",
        reachedKey: "channels",
        labelKey: "channel",
        send: ({ key, label }) => deps.poster.post(key, label, message),
        unexpected: (error, { label }) => {
          const name = error instanceof Error ? error.name : typeof error;
          return new TransientDeliveryError(`Slack webhook (${label}): unexpected ${name}`, { cause: error });
        },
      },
      deps.once,
    );
  });
}

/** The deliver-slack middy handler. */
export function createDeliverSlackHandler(deps: DeliverSlackDeps): DeliverHandler {
  const poster =
    deps.poster ??
    createSlackPoster({
      timeoutMs: deps.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_SECONDS * 1000,
      retry: deps.retry ?? DEFAULT_RETRY_POLICY,
    });
  const { digests } = deps;
  return createDeliverHandler({
    backend: "slack",
    deliver: (alert, once) => deliverSlack(alert, { secrets: deps.secrets, poster, once, digests }),
    logger: deps.logger,
    guard: deps.guard,
    backendQueue:
      digests &&
      createBackendQueue({
        channel: {
          ...slackNaming,
          destinations: async () => slackChannels(await deps.secrets.get(), true),
          send: (channel, summary) => poster.post(channel.key, channel.label, slackDigest(summary)),
        },
        digests,
        logger: deps.logger,
        guard: deps.guard,
        ledger: deps.recording?.ledger,
      }),
    recording: deps.recording,
  });
}
