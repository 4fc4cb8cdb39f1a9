/**
 * deliver-email: one e-mail per recipient through an EmailSender (SES in AWS, an outbox locally).
 *
 * Decisions: one message per recipient rather than one with Bcc, so recipients never see each
 * other, each gets a normal `To:` (better deliverability than undisclosed recipients), and one
 * rejected address does not stop the others. When the secret lists nobody for this alert, the
 * delivery succeeds as `skipped` (there is nothing to retry), and the outcome line says why.
 * Each send goes through `once` (the idempotency guard's, keyed by alert, backend and address),
 * so a retry after a partial failure e-mails only the recipients the failed attempt missed.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../shared/alert.js";
import type { EmailSecret } from "../shared/backend-secrets.js";
import {
  createDeliverHandler,
  type DeliverHandler,
  type DeliveryGuard,
  type DeliveryOutcome,
  type SendOnce,
  sendEveryTime,
} from "../shared/deliver.js";
import {
  ConfigurationError,
  type PermanentDeliveryError,
  type TransientDeliveryError,
} from "../shared/errors.js";
import { maskEmail } from "../shared/logger.js";
import { classifyAwsError, combineFailures } from "../shared/retry.js";
import type { SecretSource } from "../shared/secret-source.js";
import type { EmailSender } from "../shared/ses-email.js";
import { emailRecipients, formatEmail } from "./format.js";

export interface DeliverEmailDeps {
  /** Recipients: `{ to: [...], adminTo: [...] }`. */
  secrets: SecretSource<EmailSecret>;
  sender: EmailSender;
  /** The verified sender address (`EMAIL_FROM`). */
  from: string;
  logger: Logger;
  guard?: DeliveryGuard;
}

/**
 * Sends the alert's e-mail to each recipient (each send through `once`, when given); throws the
 * combined failure if any send failed.
 */
export async function deliverEmail(
  alert: Alert,
  deps: Pick<DeliverEmailDeps, "secrets" | "sender" | "from" | "logger"> & { once?: SendOnce },
): Promise<DeliveryOutcome> {
  const once = deps.once ?? sendEveryTime;
  const recipients = emailRecipients(alert, await deps.secrets.get());
  if (recipients.length === 0) {
    return { status: "skipped", delivered: 0, reason: "no e-mail recipient configured for this alert" };
  }
  const email = formatEmail(alert);
  const failures: (PermanentDeliveryError | TransientDeliveryError)[] = [];
  const reached: string[] = [];
  // One after the other: SES accounts have a per-second send rate, and recipients are few.
  for (const to of recipients) {
    try {
      // Keyed ignoring case: emailRecipients already treats addresses that way.
      const { messageId } = await once(to.toLowerCase(), () =>
        deps.sender.send({ ...email, from: deps.from, to }),
      );
      reached.push(maskEmail(to));
      deps.logger.debug("E-mail sent", { alertId: alert.id, recipient: maskEmail(to), messageId });
    } catch (error) {
      failures.push(classifyAwsError(error, `e-mail to ${maskEmail(to)}`));
    }
  }
  if (failures.length > 0) {
    throw combineFailures(
      `e-mail failed for ${failures.length} of ${recipients.length} recipients`,
      failures,
    );
  }
  return { status: "delivered", delivered: reached.length, details: { recipients: reached } };
}

/** The deliver-email middy handler. */
export function createDeliverEmailHandler(deps: DeliverEmailDeps): DeliverHandler {
  if (deps.from.trim().length === 0)
    throw new ConfigurationError("The e-mail sender address (EMAIL_FROM) is empty");
  return createDeliverHandler({
    backend: "email",
    deliver: (alert, once) => deliverEmail(alert, { ...deps, once }),
    logger: deps.logger,
    guard: deps.guard,
  });
}
