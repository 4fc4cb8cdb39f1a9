/**
 * deliver-slack: posts the alert's Block Kit message to the alerts channel's incoming webhook,
 * and internal alerts also to the administrators' channel when `adminWebhookUrl` is set. Both
 * posts are attempted even if one fails; then any failure fails the delivery. Each post goes
 * through `once` (the idempotency guard's, keyed by alert, backend and webhook URL), so the
 * platform's retry re-posts only to the channel that failed.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../contracts/alert.js";
import type { SlackSecret } from "../contracts/backend-secrets.js";
import { createDeliverHandler, type DeliverHandler, type DeliveryRecording } from "../delivery/chain.js";
import { sendToEachInParallel } from "../delivery/fan-out.js";
import type { DeliveryGuard, DeliveryOutcome, SendOnce } from "../delivery/outcome.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../delivery/retry.js";
import type { SecretSource } from "../delivery/secret-source.js";
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
  /** The delivery ledger this function records its outcomes in. */
  recording?: DeliveryRecording | undefined;
}

/**
 * Posts the alert to its Slack channel(s) (each post through `once`, when given); throws the
 * combined failure if any post failed.
 */
export async function deliverSlack(
  alert: Alert,
  deps: { secrets: SecretSource<SlackSecret>; poster: SlackPoster; once?: SendOnce },
): Promise<DeliveryOutcome> {
  const secret = await deps.secrets.get();
  const message = formatSlackMessage(alert);
  const channels = [{ key: secret.webhookUrl, label: "alerts" }];
  // A second post only when it reaches a different channel than the first.
  if (alert.internal && secret.adminWebhookUrl && secret.adminWebhookUrl !== secret.webhookUrl) {
    channels.push({ key: secret.adminWebhookUrl, label: "admin" });
  }
  return sendToEachInParallel(
    channels,
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
}

/** The deliver-slack middy handler. */
export function createDeliverSlackHandler(deps: DeliverSlackDeps): DeliverHandler {
  const poster =
    deps.poster ??
    createSlackPoster({
      timeoutMs: deps.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_SECONDS * 1000,
      retry: deps.retry ?? DEFAULT_RETRY_POLICY,
    });
  return createDeliverHandler({
    backend: "slack",
    deliver: (alert, once) => deliverSlack(alert, { secrets: deps.secrets, poster, once }),
    logger: deps.logger,
    guard: deps.guard,
    recording: deps.recording,
  });
}
