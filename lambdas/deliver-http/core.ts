/**
 * deliver-http: POSTs every alert, signed, to every target of the secret (in parallel). A failing
 * target never stops the others; once all were attempted, any failure fails the delivery. Each
 * post goes through `once` (the idempotency guard's, keyed by alert, backend and target URL), so
 * the platform's retry re-posts only to the targets that failed; a target still sees the same
 * `webhook-id` on every attempt, to deduplicate on its side too.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../contracts/alert.js";
import type { HttpSecret } from "../contracts/backend-secrets.js";
import { createDeliverHandler, type DeliverHandler, type DeliveryRecording } from "../delivery/chain.js";
import { sendToEachInParallel } from "../delivery/fan-out.js";
import type { DeliveryGuard, DeliveryOutcome, SendOnce } from "../delivery/outcome.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../delivery/retry.js";
import type { SecretSource } from "../delivery/secret-source.js";
import { ConfigurationError, PermanentDeliveryError, TransientDeliveryError } from "../runtime/errors.js";
import { webhookBodyText } from "./format.js";
import { postSignedWebhook, urlOrigin, webhookIdFor } from "./http-forward.js";

export interface DeliverHttpDeps {
  /** Targets: `{ targets: [{ url, signingSecret }] }`. */
  secrets: SecretSource<HttpSecret>;
  logger: Logger;
  /** Per-attempt timeout (`HTTP_TIMEOUT_SECONDS` × 1000). */
  timeoutMs: number;
  /** In-process retries; DEFAULT_RETRY_POLICY when omitted. */
  retry?: RetryPolicy;
  /** Clock for `webhook-timestamp`. */
  now?: () => Date;
  guard?: DeliveryGuard;
  /** The delivery ledger this function records its outcomes in. */
  recording?: DeliveryRecording | undefined;
}

/**
 * Posts the alert to every target (each post through `once`, when given); throws the combined
 * failure if any target failed.
 */
export async function deliverHttp(
  alert: Alert,
  deps: Omit<DeliverHttpDeps, "guard"> & { once?: SendOnce },
): Promise<DeliveryOutcome> {
  const { targets } = await deps.secrets.get();
  const body = webhookBodyText(alert);
  const webhookId = webhookIdFor(alert.id);
  const options = {
    timeoutMs: deps.timeoutMs,
    retry: deps.retry ?? DEFAULT_RETRY_POLICY,
    now: deps.now,
  };
  return sendToEachInParallel(
    targets.map((target) => ({ ...target, key: target.url, label: urlOrigin(target.url) })),
    {
      what: "HTTP delivery",
      plural: "targets",
      reachedKey: "targets",
      labelKey: "target",
      send: (target) => postSignedWebhook(target, webhookId, body, options),
      unexpected: (error, target) => {
        // A target misconfigured (bad signing secret) fails every retry alike.
        if (error instanceof ConfigurationError) {
          return new PermanentDeliveryError(error.message, { cause: error });
        }
        const name = error instanceof Error ? error.name : typeof error;
        return new TransientDeliveryError(`HTTP target ${target.label}: unexpected ${name}`, {
          cause: error,
        });
      },
    },
    deps.once,
    { webhookId },
  );
}

/** The deliver-http middy handler. */
export function createDeliverHttpHandler(deps: DeliverHttpDeps): DeliverHandler {
  return createDeliverHandler({
    backend: "http",
    deliver: (alert, once) => deliverHttp(alert, { ...deps, once }),
    logger: deps.logger,
    guard: deps.guard,
    recording: deps.recording,
  });
}
