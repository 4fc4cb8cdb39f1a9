/**
 * The SNS message of a published alert: its body and the message attributes that subscription
 * filter policies see (and nothing else). Route publishes it, and ingest sizes it before
 * accepting a notification, so both agree on what travels. Attribute values are always
 * non-empty (SNS rejects empty strings), short, and made of characters SNS accepts.
 */

import { PermanentError } from "../runtime/errors.js";
import type { Alert } from "./alert.js";
import {
  ALERT_ATTRIBUTES,
  type AlertAttributeName,
  attributeValue,
  MAX_MESSAGE_BYTES,
  messageBytes,
  messageJson,
} from "./messages.js";

/**
 * The message attributes route sets on `alert` (all SNS `String`): `type`, `kind`, `severity`,
 * `internal` (`"true"`/`"false"`), `environment` and `application` (`unknown` when absent).
 */
export function alertAttributes(alert: Alert): Record<AlertAttributeName, string> {
  return {
    [ALERT_ATTRIBUTES.type]: attributeValue(alert.sourceType),
    [ALERT_ATTRIBUTES.kind]: attributeValue(alert.kind),
    [ALERT_ATTRIBUTES.severity]: attributeValue(alert.severity),
    [ALERT_ATTRIBUTES.internal]: alert.internal ? "true" : "false",
    [ALERT_ATTRIBUTES.environment]: attributeValue(alert.environment),
    [ALERT_ATTRIBUTES.application]: attributeValue(alert.applicationId),
  };
}

/** An alert as one SNS message. */
export interface AlertMessage {
  /** The Alert as JSON (messageJson). */
  body: string;
  attributes: Record<AlertAttributeName, string>;
  /** What SNS counts against MAX_MESSAGE_BYTES: the body and the attributes. */
  bytes: number;
}

/** The SNS message route publishes for `alert`. */
export function alertMessage(alert: Alert): AlertMessage {
  const body = messageJson(alert);
  const attributes = alertAttributes(alert);
  return { body, attributes, bytes: messageBytes(body, attributes) };
}

/**
 * The SNS message for `alert`, or PermanentError when it is over MAX_MESSAGE_BYTES: no
 * retry can shrink it. Ingest refuses any notification whose Alert would be, so this only fires
 * for a message queued by an older ingest.
 */
export function publishableAlertMessage(alert: Alert): AlertMessage {
  const message = alertMessage(alert);
  if (message.bytes > MAX_MESSAGE_BYTES) {
    throw new PermanentError(
      `Alert ${alert.id} is ${message.bytes} bytes serialized, over the ${MAX_MESSAGE_BYTES}-byte SNS message limit`,
    );
  }
  return message;
}
