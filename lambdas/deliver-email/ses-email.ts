/**
 * Sending e-mail: the interface the email backend calls, and its SES (v1 API, `ses:SendEmail`)
 * implementation. The local stack provides its own EmailSender (an outbox on disk).
 */
import { type SESClient, SendEmailCommand } from "@aws-sdk/client-ses";
import { classifyAwsError } from "../delivery/retry.js";
import { maskEmail } from "../runtime/logger.js";

/** One message to one recipient: recipients never see each other. */
export interface EmailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface EmailSender {
  /**
   * Sends the message; resolves with the provider's message id. Rejects with a
   * PermanentDeliveryError or TransientDeliveryError whose message holds no unmasked address.
   */
  send(message: EmailMessage): Promise<{ messageId?: string }>;
}

/** EmailSender over SES SendEmail with the function's module-scope client. */
export class SesEmailSender implements EmailSender {
  constructor(private readonly client: SESClient) {}

  async send(message: EmailMessage): Promise<{ messageId?: string }> {
    try {
      const output = await this.client.send(
        new SendEmailCommand({
          Source: message.from,
          Destination: { ToAddresses: [message.to] },
          Message: {
            Subject: { Data: message.subject, Charset: "UTF-8" },
            Body: {
              Text: { Data: message.text, Charset: "UTF-8" },
              Html: { Data: message.html, Charset: "UTF-8" },
            },
          },
        }),
      );
      return { messageId: output.MessageId };
    } catch (error) {
      // Throttling and 5xx are transient; MessageRejected, MailFromDomainNotVerified... are permanent.
      throw classifyAwsError(error, `SES SendEmail to ${maskEmail(message.to)}`);
    }
  }
}
