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
import {
  createDeliverHandler,
  type DeliverHandler,
  type DeliveryGuard,
  type DeliveryOutcome,
  type SendOnce,
  sendEveryTime,
} from "../delivery/chain.js";
import { combineFailures, DEFAULT_RETRY_POLICY, type RetryPolicy } from "../delivery/retry.js";
import type { SecretSource } from "../delivery/secret-source.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../runtime/errors.js";
import { formatSlackMessage } from "./format.js";
import { createSlackPoster, type SlackPoster } from "./slack.js";

/** Per-attempt timeout when none is given. */
export const DEFAULT_SLACK_TIMEOUT_MS = 5_000;

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
}

/**
 * Posts the alert to its Slack channel(s) (each post through `once`, when given); throws the
 * combined failure if any post failed.
 */
export async function deliverSlack(
  alert: Alert,
  deps: { secrets: SecretSource<SlackSecret>; poster: SlackPoster; once?: SendOnce },
): Promise<DeliveryOutcome> {
  const once = deps.once ?? sendEveryTime;
  const secret = await deps.secrets.get();
  const message = formatSlackMessage(alert);
  const channels: { channel: string; url: string }[] = [{ channel: "alerts", url: secret.webhookUrl }];
  // A second post only when it reaches a different channel than the first.
  if (alert.internal && secret.adminWebhookUrl && secret.adminWebhookUrl !== secret.webhookUrl) {
    channels.push({ channel: "admin", url: secret.adminWebhookUrl });
  }
  const results = await Promise.allSettled(
    channels.map(({ channel, url }) => once(url, () => deps.poster.post(url, channel, message))),
  );
  const failures: (PermanentDeliveryError | TransientDeliveryError)[] = [];
  const reached: { channel: string; attempts: number }[] = [];
  results.forEach((result, index) => {
    const channel = channels[index]?.channel ?? "unknown";
    if (result.status === "fulfilled") reached.push({ channel, ...result.value });
    else failures.push(asDeliveryError(result.reason, channel));
  });
  if (failures.length > 0) {
    throw combineFailures(
      `Slack delivery failed for ${failures.length} of ${channels.length} channels`,
      failures,
    );
  }
  return { status: "delivered", delivered: reached.length, details: { channels: reached } };
}

function asDeliveryError(error: unknown, channel: string): PermanentDeliveryError | TransientDeliveryError {
  if (error instanceof PermanentDeliveryError || error instanceof TransientDeliveryError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientDeliveryError(`Slack webhook (${channel}): unexpected ${name}`, { cause: error });
}

/** The deliver-slack middy handler. */
export function createDeliverSlackHandler(deps: DeliverSlackDeps): DeliverHandler {
  const poster =
    deps.poster ??
    createSlackPoster({
      timeoutMs: deps.timeoutMs ?? DEFAULT_SLACK_TIMEOUT_MS,
      retry: deps.retry ?? DEFAULT_RETRY_POLICY,
    });
  return createDeliverHandler({
    backend: "slack",
    deliver: (alert, once) => deliverSlack(alert, { secrets: deps.secrets, poster, once }),
    logger: deps.logger,
    guard: deps.guard,
  });
}
