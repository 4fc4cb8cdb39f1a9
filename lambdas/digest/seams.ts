/**
 * The seams of digests (bursts of alerts to a human channel become one message per window):
 * what a window groups, what it keeps of each alert, where its state lives (DynamoDB on AWS, the
 * relay's SQLite database locally) and how its close is triggered durably (a delayed message on
 * the backend's own queue, an SQS queue on AWS, an embedded queue locally). The pure rules live
 * beside this file; the stores and queues implement these interfaces.
 *
 * Exactly-once, by construction:
 * - `admit` is idempotent per (group, alert id): a retried delivery gets the first answer again,
 *   so an alert is either sent alone or counted in exactly one window, never both.
 * - A window accepts alerts only while open and before `closesAt`; `close` refuses until then and
 *   then shuts it atomically, so no alert joins a window after its entries were read.
 * - The digest itself is sent through the delivery's `once`, keyed by the window id and the
 *   destination, so a redelivered close message sends nothing twice.
 */
import { type AlertKind, SEVERITIES } from "../contracts/alert.js";
import type { Backend } from "../contracts/messages.js";
import { IDEMPOTENCY_EXPIRY_SECONDS } from "../contracts/retention.js";
import * as z from "../runtime/schema.js";

/** The backends that reach humans, and so group bursts into digests. */
export const HUMAN_BACKENDS = ["email", "sms", "slack"] as const satisfies readonly Backend[];
export type HumanBackend = (typeof HUMAN_BACKENDS)[number];

/** `backends.<name>.digest` in the settings; `false` sends every alert alone. */
export interface DigestPolicy {
  /** Alerts of a group sent at once in each window; the rest wait for the digest. */
  immediate: number;
  /** How long a window stays open after its first alert. */
  windowSeconds: number;
}

/** What one window groups: one destination of one backend, one application, environment and kind. */
export interface DigestGroup {
  backend: HumanBackend;
  /**
   * A stable, non-reversible key of the destination (a hash of the e-mail address, the phone
   * number or the webhook URL): stores and logs never hold the destination itself.
   */
  destination: string;
  application: string;
  environment: string;
  kind: AlertKind;
}

/** What a digest keeps of one held alert: only what it shows. Bounded by normalize's limits. */
export const digestEntrySchema = z.object({
  alertId: z.string(),
  severity: z.enum(SEVERITIES),
  kind: z.string(),
  /** The alert's sourceType or category, counted per value in the digest. */
  category: z.string(),
  ips: z.array(z.object({ address: z.string(), country: z.nullable(z.string()) })),
  /** ISO 8601 time of the event. */
  at: z.string(),
  link: z.nullable(z.string()),
  /** The application's name as the alert gave it, shown instead of the group's id when present. */
  applicationName: z.optional(z.nullable(z.string())),
  /** Whether the alert is internal (the relay's own application): the digest then carries the relay's tag. */
  internal: z.optional(z.boolean()),
});
export type DigestEntry = z.infer<typeof digestEntrySchema>;

/** What `admit` decided for one alert and destination. */
export type Admission =
  /** Send it alone, now: one of the window's first `immediate`. */
  | { mode: "immediate"; windowId: string }
  /**
   * Counted in the window's digest. `needsSchedule` is true until `markScheduled` was called for
   * the window: the caller schedules its close (DigestQueue.closeWindowAt) and then marks it, so a
   * crash in between only schedules twice (closing is idempotent), never not at all.
   */
  | { mode: "held"; windowId: string; closesAt: number; needsSchedule: boolean };

/** What `close` found. */
export type WindowClose =
  /** Called before `closesAt` (a delayed message can only wait 15 minutes): schedule it again. */
  | { status: "not-due"; closesAt: number }
  /** Shut (now or by an earlier call): every entry held in it, each once, oldest first. */
  | {
      status: "closed";
      group: DigestGroup;
      entries: DigestEntry[];
      /** Alerts of the window sent alone (its first `immediate`). */
      sentAlone: number;
      openedAt: number;
      closesAt: number;
    }
  /** No such window (expired, or never existed). */
  | { status: "unknown" };

/** Where windows live: DynamoDB with conditional writes on AWS, the relay's database locally. */
export interface DigestWindowStore {
  /**
   * Admits one alert to its group's open window, opening a new one when none is open or the open
   * one's `closesAt` has passed. Idempotent per (group, entry.alertId). `now` is epoch ms.
   */
  admit(group: DigestGroup, entry: DigestEntry, policy: DigestPolicy, now: number): Promise<Admission>;
  /** Records that the window's close is scheduled (see Admission.needsSchedule). */
  markScheduled(windowId: string): Promise<void>;
  /** Shuts the window once `closesAt` has passed and returns what it held; idempotent. */
  close(windowId: string, now: number): Promise<WindowClose>;
}

/**
 * What a human backend's own queue carries (one queue per backend, consumed by the same
 * function): the close of a window, and a delivery that must wait for its destination's rate
 * limit (Slack's 429 with Retry-After, SES's sending rate) instead of burning retries.
 */
export const digestQueueMessageSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("close-window"), windowId: z.string() }),
  /** `alert` is the topic's message body (lambdas/contracts/alert-message.ts), delivered again. */
  z.object({
    action: z.literal("deliver-later"),
    alert: z.string(),
    /** How often this alert has already waited for a rate limit (MAX_DEFERRALS bounds it); 0 when absent. */
    deferrals: z.optional(z.int().check(z.nonnegative())),
  }),
]);
export type DigestQueueMessage = z.infer<typeof digestQueueMessageSchema>;

/** The backend's own queue: SQS with DelaySeconds on AWS, an embedded queue locally. */
export interface DigestQueue {
  /** Durably triggers `close(windowId)` at `closesAt` (or as late as the queue can delay, then again). May fire more than once. */
  closeWindowAt(windowId: string, closesAt: number, now: number): Promise<void>;
  /** Durably redelivers the alert (the topic's message body) no earlier than `at`. */
  deliverLaterAt(alertMessage: string, at: number, now: number, deferrals?: number): Promise<void>;
}

/** Most an SQS message can be delayed. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/**
 * How long a window (and which alerts it admitted) is kept after it closes: the idempotency
 * records' and dead-letter queues' 14 days (lambdas/delivery/idempotency.ts), so a delivery
 * retried or redriven that late still gets its first admission back and is never counted twice.
 */
export const WINDOW_RETENTION_SECONDS = IDEMPOTENCY_EXPIRY_SECONDS;
