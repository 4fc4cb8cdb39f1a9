/**
 * The Sqreen wire format (docs/PROTOCOL.md): the strict envelope both formats share, and where each
 * format keeps its type, application id and event identity. Contents are read leniently: every
 * field may be missing or null in a real delivery.
 */
import { createHash } from "node:crypto";
import * as z from "../runtime/schema.js";
import { attributeCharacters, attributeValue } from "./messages.js";

/** Sqreen splits larger batches; a request over this is refused whole (422). */
export const MAX_NOTIFICATIONS_PER_REQUEST = 1000;

/** A JSON object, checked without visiting its keys (z.record would copy every one of them). */
const jsonObject = z.custom<JsonObject>((value) => isObject(value), { message: "Expected an object" });

/** v2: an envelope around `message`; `message_id` is always null in practice, never a key. */
export const v2NotificationSchema = z.looseObject({
  api_version: z.optional(z.union([z.literal("2"), z.literal(2)])),
  message_type: z.string().check(z.minLength(1)),
  message: jsonObject,
});

/** v1: flat objects typed by `sqreen_payload_type`. */
export const v1NotificationSchema = z.looseObject({ sqreen_payload_type: z.string().check(z.minLength(1)) });

export const notificationSchema = z.union([v2NotificationSchema, v1NotificationSchema]);

/** The request body: 1 to 1000 notifications of either format, mixed. */
export const notificationBatchSchema = z
  .array(notificationSchema)
  .check(z.minLength(1), z.maxLength(MAX_NOTIFICATIONS_PER_REQUEST));

export type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

export function isV2(notification: JsonObject): boolean {
  return typeof notification.message_type === "string" && isObject(notification.message);
}

export function apiVersionOf(notification: JsonObject): "1" | "2" {
  return isV2(notification) ? "2" : "1";
}

/** `message_type` (v2) or `sqreen_payload_type` (v1), or `unknown`. */
export function notificationTypeOf(notification: JsonObject): string {
  return (
    nonEmptyString(notification.message_type) ?? nonEmptyString(notification.sqreen_payload_type) ?? "unknown"
  );
}

/** The fields of the notification itself: `message` for v2, the object for v1. */
export function bodyOf(notification: JsonObject): JsonObject {
  return isV2(notification) ? (notification.message as JsonObject) : notification;
}

/**
 * Where the application id lives: `application_id` (v1 event and pulse, v2 event and incident
 * inside `message`), `application.id` (security responses), nowhere (test).
 */
export function applicationIdOf(notification: JsonObject): string | null {
  const body = bodyOf(notification);
  const application = body.application;
  return (
    nonEmptyString(body.application_id) ?? (isObject(application) ? nonEmptyString(application.id) : null)
  );
}

/**
 * The stable identity of the event a notification reports, the same every time Sqreen resends
 * it: v1 `id`; v2 `message.event_id`, `message.id` (test), `message.incident_thread` with
 * `date_last_updated` (an incident is one thread updated many times); otherwise a hash of the
 * notification without its delivery fields (`retry_count` changes on every resend).
 *
 * The identity travels as an SQS message attribute, an idempotency key and in every log line, so
 * it is always a valid attribute value of at most MAX_ATTRIBUTE_VALUE_LENGTH characters: an id
 * that is longer, blank, or holds characters SQS refuses (control characters, lone surrogates,
 * U+FFFE, U+FFFF) is replaced by boundedIdentity's readable, stable digest of it. Real Sqreen ids
 * (24 to 40 characters of hex, dates and `@`) are kept as they are; the original id stays in the
 * notification, which travels whole.
 */
export function eventIdentityOf(notification: JsonObject): string {
  return boundedIdentity(rawEventIdentityOf(notification));
}

function rawEventIdentityOf(notification: JsonObject): string {
  if (isV2(notification)) {
    const message = notification.message as JsonObject;
    const direct = nonEmptyString(message.event_id) ?? nonEmptyString(message.id);
    if (direct) return direct;
    const thread = nonEmptyString(message.incident_thread);
    if (thread) {
      const version = nonEmptyString(message.date_last_updated) ?? nonEmptyString(message.date_started);
      return version ? `${thread}@${version}` : thread;
    }
    return contentHash({ message_type: notification.message_type, message });
  }
  return nonEmptyString(notification.id) ?? contentHash(notification);
}

/** How much of an unfit id stays readable in front of its digest. */
const IDENTITY_HEAD_LENGTH = 64;

/**
 * `id` itself when it is a valid attribute value, else `<head>…sha256-<32 hex>`: the first
 * IDENTITY_HEAD_LENGTH characters with the refused ones replaced by U+FFFD (so a log search for
 * the id's start still finds it), then a SHA-256 of the id's exact UTF-16 code units (so two ids
 * differing only in a lone surrogate or past the head stay distinct, and a resend keeps its id).
 */
export function boundedIdentity(id: string): string {
  if (attributeValue(id) === id) return id;
  const head = attributeCharacters(id, IDENTITY_HEAD_LENGTH).trim();
  const digest = createHash("sha256").update(Buffer.from(id, "utf16le")).digest("hex").slice(0, 32);
  return `${head}…sha256-${digest}`;
}

/** `sha256-` and 32 hex characters of the canonical JSON (sorted keys) of `value`. */
export function contentHash(value: unknown): string {
  return `sha256-${createHash("sha256").update(canonicalJson(value)).digest("hex").slice(0, 32)}`;
}

/** JSON with object keys sorted at every depth: equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
