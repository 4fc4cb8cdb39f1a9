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
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../contracts/alert.js";
import type { SmsSecret } from "../contracts/backend-secrets.js";
import { createDeliverHandler, type DeliverHandler, type DeliveryRecording } from "../delivery/chain.js";
import { sendToEachRecipient } from "../delivery/fan-out.js";
import type { DeliveryGuard, DeliveryOutcome, SendOnce } from "../delivery/outcome.js";
import type { SecretSource } from "../delivery/secret-source.js";
import { maskPhoneNumber } from "../runtime/logger.js";
import { smsRecipients, smsText } from "./format.js";
import type { SmsSender } from "./sns-sms.js";

export interface DeliverSmsDeps {
  /** Numbers: `{ phoneNumbers: [...], adminPhoneNumbers: [...] }`. */
  secrets: SecretSource<SmsSecret>;
  sender: SmsSender;
  logger: Logger;
  guard?: DeliveryGuard;
  /** The delivery ledger this function records its outcomes in. */
  recording?: DeliveryRecording | undefined;
}

/**
 * Sends the alert's SMS to each number (each send through `once`, when given); throws the
 * combined failure if any send failed.
 */
export async function deliverSms(
  alert: Alert,
  deps: Pick<DeliverSmsDeps, "secrets" | "sender" | "logger"> & { once?: SendOnce },
): Promise<DeliveryOutcome> {
  const numbers = smsRecipients(alert, await deps.secrets.get());
  const text = smsText(alert);
  return sendToEachRecipient(
    numbers,
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
}

/** The deliver-sms middy handler. */
export function createDeliverSmsHandler(deps: DeliverSmsDeps): DeliverHandler {
  return createDeliverHandler({
    backend: "sms",
    deliver: (alert, once) => deliverSms(alert, { ...deps, once }),
    logger: deps.logger,
    guard: deps.guard,
    recording: deps.recording,
  });
}
