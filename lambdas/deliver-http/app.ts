/**
 * deliver-http: POSTs every alert, signed, to every target of the secret (in parallel). A failing
 * target never stops the others; once all were attempted, any failure fails the delivery. Each
 * post goes through `once` (the idempotency guard's, keyed by alert, backend and target URL), so
 * the platform's retry re-posts only to the targets that failed; a target still sees the same
 * `webhook-id` on every attempt, to deduplicate on its side too.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../shared/alert.js";
import type { HttpSecret } from "../shared/backend-secrets.js";
import {
  createDeliverHandler,
  type DeliverHandler,
  type DeliveryGuard,
  type DeliveryOutcome,
  type SendOnce,
  sendEveryTime,
} from "../shared/deliver.js";
import { ConfigurationError, PermanentDeliveryError, TransientDeliveryError } from "../shared/errors.js";
import { postSignedWebhook, urlOrigin, webhookIdFor } from "../shared/http-forward.js";
import { combineFailures, DEFAULT_RETRY_POLICY, type RetryPolicy } from "../shared/retry.js";
import type { SecretSource } from "../shared/secret-source.js";
import { webhookBodyText } from "./format.js";

export interface DeliverHttpDeps {
  /** Targets: `{ targets: [{ url, signingSecret }] }`. */
  secrets: SecretSource<HttpSecret>;
  logger: Logger;
  /** Per-attempt timeout (`HTTP_TIMEOUT_SECONDS` × 1000). */
  timeoutMs: number;
  /** In-process retries; DEFAULT_RETRY_POLICY when omitted. */
  retry?: RetryPolicy;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Clock for `webhook-timestamp`. */
  now?: () => Date;
  guard?: DeliveryGuard;
}

/**
 * Posts the alert to every target (each post through `once`, when given); throws the combined
 * failure if any target failed.
 */
export async function deliverHttp(
  alert: Alert,
  deps: Omit<DeliverHttpDeps, "guard"> & { once?: SendOnce },
): Promise<DeliveryOutcome> {
  const once = deps.once ?? sendEveryTime;
  const { targets } = await deps.secrets.get();
  const body = webhookBodyText(alert);
  const webhookId = webhookIdFor(alert.id);
  const options = {
    timeoutMs: deps.timeoutMs,
    retry: deps.retry ?? DEFAULT_RETRY_POLICY,
    fetch: deps.fetch,
    now: deps.now,
  };
  const results = await Promise.allSettled(
    targets.map((target) => once(target.url, () => postSignedWebhook(target, webhookId, body, options))),
  );
  const failures: (PermanentDeliveryError | TransientDeliveryError)[] = [];
  const reached: { target: string; status: number; attempts: number }[] = [];
  results.forEach((result, index) => {
    const origin = urlOrigin(targets[index]?.url ?? "");
    if (result.status === "fulfilled") {
      reached.push({ target: origin, ...result.value });
    } else {
      failures.push(asDeliveryError(result.reason, origin));
    }
  });
  if (failures.length > 0) {
    throw combineFailures(
      `HTTP delivery failed for ${failures.length} of ${targets.length} targets`,
      failures,
    );
  }
  return { status: "delivered", delivered: reached.length, details: { webhookId, targets: reached } };
}

function asDeliveryError(error: unknown, origin: string): PermanentDeliveryError | TransientDeliveryError {
  if (error instanceof PermanentDeliveryError || error instanceof TransientDeliveryError) return error;
  // A target misconfigured (bad signing secret) fails every retry alike.
  if (error instanceof ConfigurationError) return new PermanentDeliveryError(error.message, { cause: error });
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientDeliveryError(`HTTP target ${origin}: unexpected ${name}`, undefined, { cause: error });
}

/** The deliver-http middy handler. */
export function createDeliverHttpHandler(deps: DeliverHttpDeps): DeliverHandler {
  return createDeliverHandler({
    backend: "http",
    deliver: (alert, once) => deliverHttp(alert, { ...deps, once }),
    logger: deps.logger,
    guard: deps.guard,
  });
}
