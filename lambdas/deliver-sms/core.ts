/**
 * deliver-sms: one short text per phone number through an SmsSender (SNS SMS in AWS, an outbox
 * locally). Numbers are masked in every log line and error message.
 *
 * Decisions: one Publish per number (SNS SMS takes one PhoneNumber per call). If some numbers
 * fail, the others are still attempted, then the delivery throws; each send goes through `once`
 * (the idempotency guard's, keyed by alert, backend and number), so the platform's retry texts
 * only the numbers the failed attempt missed. No number at all in the secret is a configuration
 * failure (BackendNotConfiguredError from the secret source); administrators' numbers only skips
 * the alerts that are not internal, saying why.
 *
 * With `digests`, a burst becomes a digest per number (lambdas/digest/admission.ts), and the
 * handler also consumes the backend's own queue: window closes and deliveries that waited for a
 * rate limit (lambdas/digest/consumer.ts).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../contracts/alert.js";
import type { SmsSecret } from "../contracts/backend-secrets.js";
import { createDeliverHandler, type DeliverHandler, type DeliveryRecording } from "../delivery/chain.js";
import { sendToEachRecipient } from "../delivery/fan-out.js";
import type { DeliveryGuard, DeliveryOutcome, SendOnce } from "../delivery/outcome.js";
import type { SecretSource } from "../delivery/secret-source.js";
import { type DigestDeps, deliverThroughWindows } from "../digest/admission.js";
import { createBackendQueue } from "../digest/consumer.js";
import { digestSms } from "../digest/render.js";
import { maskPhoneNumber } from "../runtime/logger.js";
import { smsRecipients, smsText } from "./format.js";
import type { SmsSender } from "./sns-sms.js";

export interface DeliverSmsDeps {
  /** Numbers: `{ phoneNumbers: [...], adminPhoneNumbers: [...] }`. */
  secrets: SecretSource<SmsSecret>;
  sender: SmsSender;
  logger: Logger;
  guard?: DeliveryGuard;
  /** Bursts become digests per number (lambdas/digest/admission.ts); every alert alone when omitted. */
  digests?: DigestDeps;
  /** The delivery ledger this function records its outcomes in. */
  recording?: DeliveryRecording | undefined;
}

const smsNaming = {
  backend: "sms",
  address: (phoneNumber: string) => phoneNumber,
  label: maskPhoneNumber,
} as const;

/**
 * Sends the alert's SMS to each number (each send through `once`, when given); throws the
 * combined failure if any send failed.
 */
export async function deliverSms(
  alert: Alert,
  deps: Pick<DeliverSmsDeps, "secrets" | "sender" | "logger" | "digests"> & { once?: SendOnce | undefined },
): Promise<DeliveryOutcome> {
  const numbers = smsRecipients(alert, await deps.secrets.get());
  // Rendered only when something is sent now: in a burst, most alerts are held for a digest.
  return deliverThroughWindows(alert, numbers, smsNaming, deps.digests, (now) => {
    const text = smsText(alert);
    return sendToEachRecipient(
      now,
      {
        channel: "SMS",
        plural: "numbers",
        mask: maskPhoneNumber,
        whenNobody:
          "the secret lists administrators' numbers only (adminPhoneNumbers, phoneNumbers is empty), " +
          "and they get internal alerts only",
        send: (phoneNumber) => deps.sender.send(phoneNumber, text),
      },
      { alertId: alert.id, once: deps.once, logger: deps.logger },
    );
  });
}

/** The deliver-sms middy handler. */
export function createDeliverSmsHandler(deps: DeliverSmsDeps): DeliverHandler {
  const { digests } = deps;
  return createDeliverHandler({
    backend: "sms",
    deliver: (alert, once) => deliverSms(alert, { ...deps, once }),
    logger: deps.logger,
    guard: deps.guard,
    backendQueue:
      digests &&
      createBackendQueue({
        channel: {
          ...smsNaming,
          // Administrators too: a window of internal alerts is theirs.
          destinations: async () => smsRecipients({ internal: true }, await deps.secrets.get()),
          send: (phoneNumber, summary) => deps.sender.send(phoneNumber, digestSms(summary)),
        },
        digests,
        logger: deps.logger,
        guard: deps.guard,
        ledger: deps.recording?.ledger,
      }),
    recording: deps.recording,
  });
}
