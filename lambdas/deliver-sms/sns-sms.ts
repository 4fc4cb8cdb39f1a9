/**
 * Sending SMS: the interface the sms backend calls, and its SNS implementation (Publish with a
 * PhoneNumber, transactional). The local stack provides its own SmsSender (an outbox on disk).
 */
import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { classifyAwsError } from "../delivery/retry.js";
import { maskPhoneNumber } from "../runtime/logger.js";

export interface SmsSender {
  /**
   * Sends `text` to one E.164 number; resolves with the provider's message id. Rejects with a
   * PermanentDeliveryError or TransientDeliveryError whose message holds no unmasked number.
   */
  send(phoneNumber: string, text: string): Promise<{ messageId?: string }>;
}

/** SmsSender over SNS Publish with the function's module-scope client. */
export class SnsSmsSender implements SmsSender {
  constructor(private readonly client: SNSClient) {}

  async send(phoneNumber: string, text: string): Promise<{ messageId?: string }> {
    try {
      const output = await this.client.send(
        new PublishCommand({
          PhoneNumber: phoneNumber,
          Message: text,
          MessageAttributes: {
            // Transactional: delivered with priority, even to numbers on promotional quiet hours.
            "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" },
          },
        }),
      );
      return { messageId: output.MessageId };
    } catch (error) {
      // Throttled/InternalError are transient; InvalidParameter (a bad number), AuthorizationError... permanent.
      throw classifyAwsError(error, `SNS Publish to ${maskPhoneNumber(phoneNumber)}`);
    }
  }
}
