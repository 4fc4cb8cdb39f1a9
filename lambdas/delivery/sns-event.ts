/** Unpacking the Alert from the SNS event a delivery function is invoked with. */
import type { SNSEvent } from "aws-lambda";
import { type Alert, alertSchema } from "../contracts/alert.js";
import { formatIssues } from "../runtime/config.js";
import { PermanentDeliveryError } from "../runtime/errors.js";

/**
 * The alert carried by an SNS event (`Message` = the Alert as JSON). SNS gives a subscribed
 * function exactly one record; anything else, or a message that is not an Alert, is an error
 * (PermanentDeliveryError: retrying cannot fix it, the dead-letter queue keeps it for a look).
 */
export function alertFromSnsEvent(event: SNSEvent): Alert {
  const records = event?.Records;
  if (!Array.isArray(records) || records.length !== 1) {
    throw new PermanentDeliveryError(
      `Expected exactly one SNS record, got ${Array.isArray(records) ? records.length : "none"}`,
    );
  }
  const message = records[0]?.Sns?.Message;
  if (typeof message !== "string") throw new PermanentDeliveryError("SNS record has no Message");
  return alertFromMessage(message);
}

/** The alert a topic message carries (the Alert as JSON); also what `deliver-later` carries again. */
export function alertFromMessage(message: string): Alert {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    throw new PermanentDeliveryError("SNS message is not JSON");
  }
  const result = alertSchema.safeParse(json);
  if (!result.success) {
    // Paths and reasons only: the values may be personal data.
    throw new PermanentDeliveryError(
      `SNS message is not an alert: ${formatIssues(result.error.issues).join("; ")}`,
    );
  }
  return result.data;
}
