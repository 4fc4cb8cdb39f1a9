/**
 * The delivery ledger's entries: what happened to one alert at one destination of one backend,
 * recorded by the delivery chain (lambdas/delivery/chain.ts), the dead-letter stores and the
 * redrive, and read by `npm run relay -- trace` (scripts/relay/). Pure: no store, no clock.
 *
 * Safe by construction: every text an entry holds (destination label, reason, digest id) passes
 * through `ledgerText`, which masks addresses and numbers as log lines do, cuts any URL down to
 * its origin and bounds the length; no field holds a message body. The ids are the alert's
 * identity (bounded by lambdas/contracts/notification.ts), never a recipient.
 *
 * Attempts: Lambda's asynchronous invocation hands the function no attempt count (the SNS event
 * and the context are the same on every retry; only the request id changes), so the attempt of a
 * failure is counted from the ledger itself: one more than the failures already recorded for the
 * alert on that backend (DeliveryLedger.failedAttempts). A delivered entry's attempt is counted
 * the same way. A failure whose ledger write itself failed is not counted, so an attempt number
 * can be one low then, never high.
 */
import type { Alert } from "../contracts/alert.js";
import type { Backend } from "../contracts/messages.js";
import type { DeliveryOutcome, DestinationResult } from "../delivery/outcome.js";
import { maskPersonalData } from "../runtime/logger.js";

/** Every outcome an entry can record, in the order a delivery can go through them. */
export const LEDGER_OUTCOMES = [
  "delivered",
  "duplicate",
  "digested",
  "skipped",
  "failed",
  /** Refused for the destination's rate limit, waiting on the backend's queue (no failed attempt). */
  "deferred",
  "dead-lettered",
  "redriven",
] as const;
export type LedgerOutcome = (typeof LEDGER_OUTCOMES)[number];

/** The outcomes after which nothing more is owed to the destination. */
export const SETTLED_OUTCOMES: readonly LedgerOutcome[] = ["delivered", "duplicate", "digested", "skipped"];

/**
 * The destination of an entry about the whole delivery: the log backend (it has no destination),
 * a failure before any destination was tried (a missing secret), a dead letter, a redrive.
 */
export const WHOLE_DELIVERY = "*";

/** Longest text an entry keeps in one field; a reason is a summary, never a dump. */
export const MAX_LEDGER_TEXT = 300;

export interface LedgerEntry {
  /** The alert's id (its stable event identity). */
  alertId: string;
  /**
   * The Sqreen event id. Today the same value as `alertId` (an alert's id is its notification's
   * event identity, lambdas/contracts/notification.ts), kept as its own field so `trace` finds an
   * alert by either and the lookups survive the two ever diverging.
   */
  eventId: string;
  backend: Backend;
  /** Masked label (`s***@example.com`, `+33*****78`, `https://siem.example.com`, `alerts`) or WHOLE_DELIVERY. */
  destination: string;
  outcome: LedgerOutcome;
  /** Which attempt of the backend this was (1 for the first); 0 for dead-lettered and redriven. */
  attempt: number;
  /** The digest it went into, when `digested`. */
  digestId?: string;
  /** Why: skipped, failed, dead-lettered. */
  reason?: string;
  /** When the relay accepted the request that carried the alert (ISO 8601). */
  acceptedAt: string;
  /** When this entry was recorded (ISO 8601); for `delivered`, the time of delivery. */
  recordedAt: string;
}

/** What every entry about one alert on one backend shares. */
export interface LedgerSubject {
  alertId: string;
  eventId: string;
  backend: Backend;
  acceptedAt: string;
}

const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

/**
 * Text fit for the ledger: URLs cut to their origin (a Slack webhook's path is its secret),
 * addresses, phone and card numbers masked, control characters replaced, at most MAX_LEDGER_TEXT
 * characters.
 */
export function ledgerText(text: string): string {
  const withOrigins = text.replace(URL_PATTERN, (url) => {
    try {
      const origin = new URL(url).origin;
      return origin === "null" ? "(URL)" : origin;
    } catch {
      return "(URL)";
    }
  });
  const printable = maskPersonalData(withOrigins).replace(/\p{Cc}+/gu, " ");
  return printable.length <= MAX_LEDGER_TEXT ? printable : `${printable.slice(0, MAX_LEDGER_TEXT - 1)}…`;
}

/** What every entry about `alert` on `backend` shares. */
export function ledgerSubject(alert: Pick<Alert, "id" | "receivedAt">, backend: Backend): LedgerSubject {
  return { alertId: alert.id, eventId: alert.id, backend, acceptedAt: alert.receivedAt };
}

function entry(
  subject: LedgerSubject,
  fields: {
    destination: string;
    outcome: LedgerOutcome;
    attempt: number;
    reason?: string;
    digestId?: string;
  },
  recordedAt: string,
): LedgerEntry {
  return {
    ...subject,
    destination: ledgerText(fields.destination),
    outcome: fields.outcome,
    attempt: fields.attempt,
    ...(fields.digestId !== undefined ? { digestId: ledgerText(fields.digestId) } : {}),
    ...(fields.reason !== undefined ? { reason: ledgerText(fields.reason) } : {}),
    recordedAt,
  };
}

/**
 * The entries of a delivery that returned: one per destination the outcome names (a replay of a
 * whole recorded delivery, `details.duplicate`, makes every destination `duplicate`), or one for
 * the whole delivery when it names none.
 */
export function entriesForOutcome(
  subject: LedgerSubject,
  outcome: DeliveryOutcome,
  attempt: number,
  recordedAt: string,
): LedgerEntry[] {
  const replayed = outcome.details?.duplicate === true;
  const destinations: DestinationResult[] = outcome.destinations?.length
    ? outcome.destinations
    : [
        {
          destination: WHOLE_DELIVERY,
          status: outcome.status,
          ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}),
        },
      ];
  return destinations.map((result) =>
    entry(
      subject,
      {
        destination: result.destination,
        outcome: replayed && result.status === "delivered" ? "duplicate" : result.status,
        attempt,
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
        ...(result.status === "digested" && result.digestId !== undefined
          ? { digestId: result.digestId }
          : {}),
      },
      recordedAt,
    ),
  );
}

/**
 * The entries of a delivery that threw: one per destination the failure names (those it reached
 * too, as `delivered`), or one `failed` for the whole delivery with the error's message.
 */
export function entriesForFailure(
  subject: LedgerSubject,
  failure: { message: string; destinations?: readonly DestinationResult[] | undefined },
  attempt: number,
  recordedAt: string,
): LedgerEntry[] {
  const destinations: readonly DestinationResult[] = failure.destinations?.length
    ? failure.destinations
    : [{ destination: WHOLE_DELIVERY, status: "failed", reason: failure.message }];
  return destinations.map((result) =>
    entry(
      subject,
      {
        destination: result.destination,
        outcome: result.status,
        attempt,
        ...(result.reason !== undefined ? { reason: result.reason } : {}),
      },
      recordedAt,
    ),
  );
}

/** The entry of a delivery moved to its backend's dead letters after its last attempt. */
export function deadLetteredEntry(subject: LedgerSubject, reason: string, recordedAt: string): LedgerEntry {
  return entry(
    subject,
    { destination: WHOLE_DELIVERY, outcome: "dead-lettered", attempt: 0, reason },
    recordedAt,
  );
}

/** The entry of a dead letter handed back to its backend by a redrive. */
export function redrivenEntry(subject: LedgerSubject, recordedAt: string): LedgerEntry {
  return entry(subject, { destination: WHOLE_DELIVERY, outcome: "redriven", attempt: 0 }, recordedAt);
}

/**
 * The subject of an alert carried in a message body (a dead letter's SNS message), or undefined
 * when the body is not an alert (nothing to record it under).
 */
export function subjectOfMessage(message: string, backend: Backend): LedgerSubject | undefined {
  try {
    const alert: unknown = JSON.parse(message);
    if (typeof alert !== "object" || alert === null) return undefined;
    const { id, receivedAt } = alert as { id?: unknown; receivedAt?: unknown };
    if (typeof id !== "string" || id.length === 0) return undefined;
    return ledgerSubject({ id, receivedAt: typeof receivedAt === "string" ? receivedAt : "" }, backend);
  } catch {
    return undefined;
  }
}
