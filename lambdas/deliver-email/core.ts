/**
 * deliver-email: one e-mail per recipient through an EmailSender (SES in AWS, an outbox locally).
 *
 * Decisions: one message per recipient rather than one with Bcc, so recipients never see each
 * other, each gets a normal `To:` (better deliverability than undisclosed recipients), and one
 * rejected address does not stop the others. A secret listing nobody at all is a configuration
 * failure (the secret source throws BackendNotConfiguredError: retried, then dead-lettered until
 * it is filled in); one listing administrators only skips the alerts that are not internal, and
 * the outcome line says why.
 * Each send goes through `once` (the idempotency guard's, keyed by alert, backend and address),
 * so a retry after a partial failure e-mails only the recipients the failed attempt missed.
 *
 * With `digests`, a burst becomes a digest per recipient (lambdas/digest/admission.ts), and the
 * handler also consumes the backend's own queue: window closes and deliveries that waited for a
 * rate limit (lambdas/digest/consumer.ts).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../contracts/alert.js";
import type { EmailSecret } from "../contracts/backend-secrets.js";
import { createDeliverHandler, type DeliverHandler, type DeliveryRecording } from "../delivery/chain.js";
import { sendToEachRecipient } from "../delivery/fan-out.js";
import type { DeliveryGuard, DeliveryOutcome, SendOnce } from "../delivery/outcome.js";
import type { SecretSource } from "../delivery/secret-source.js";
import { type DigestDeps, deliverThroughWindows } from "../digest/admission.js";
import { createBackendQueue } from "../digest/consumer.js";
import { digestEmail } from "../digest/render.js";
import { ConfigurationError } from "../runtime/errors.js";
import { maskEmail } from "../runtime/logger.js";
import { emailRecipients, formatEmail } from "./format.js";
import type { EmailSender } from "./ses-email.js";

export interface DeliverEmailDeps {
  /** Recipients: `{ to: [...], adminTo: [...] }`. */
  secrets: SecretSource<EmailSecret>;
  sender: EmailSender;
  /** The verified sender address (`EMAIL_FROM`). */
  from: string;
  logger: Logger;
  guard?: DeliveryGuard;
  /** Bursts become digests per recipient (lambdas/digest/admission.ts); every alert alone when omitted. */
  digests?: DigestDeps;
  /** The delivery ledger this function records its outcomes in. */
  recording?: DeliveryRecording | undefined;
}

const emailNaming = {
  backend: "email",
  address: (to: string) => to,
  label: maskEmail,
} as const;

/**
 * Sends the alert's e-mail to each recipient (each send through `once`, when given); throws the
 * combined failure if any send failed.
 */
export async function deliverEmail(
  alert: Alert,
  deps: Pick<DeliverEmailDeps, "secrets" | "sender" | "from" | "logger" | "digests"> & {
    once?: SendOnce | undefined;
  },
): Promise<DeliveryOutcome> {
  const recipients = emailRecipients(alert, await deps.secrets.get());
  // Rendered only when something is sent now: in a burst, most alerts are held for a digest.
  return deliverThroughWindows(alert, recipients, emailNaming, deps.digests, (now) => {
    const email = formatEmail(alert);
    return sendToEachRecipient(
      now,
      {
        channel: "e-mail",
        plural: "recipients",
        mask: maskEmail,
        // Keyed ignoring case: emailRecipients already treats addresses that way.
        key: (to) => to.toLowerCase(),
        whenNobody:
          "the secret lists administrators only (adminTo, to is empty), and they get internal alerts only",
        send: (to) => deps.sender.send({ ...email, from: deps.from, to }),
      },
      { alertId: alert.id, once: deps.once, logger: deps.logger },
    );
  });
}

/** The deliver-email middy handler. */
export function createDeliverEmailHandler(deps: DeliverEmailDeps): DeliverHandler {
  if (deps.from.trim().length === 0)
    throw new ConfigurationError("The e-mail sender address (EMAIL_FROM) is empty");
  const { digests } = deps;
  return createDeliverHandler({
    backend: "email",
    deliver: (alert, once) => deliverEmail(alert, { ...deps, once }),
    logger: deps.logger,
    guard: deps.guard,
    backendQueue:
      digests &&
      createBackendQueue({
        channel: {
          ...emailNaming,
          // Administrators too: a window of internal alerts is theirs.
          destinations: async () => emailRecipients({ internal: true }, await deps.secrets.get()),
          send: (to, summary) => deps.sender.send({ ...digestEmail(summary), from: deps.from, to }),
        },
        digests,
        logger: deps.logger,
        guard: deps.guard,
        ledger: deps.recording?.ledger,
      }),
    recording: deps.recording,
  });
}
