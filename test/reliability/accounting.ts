/**
 * Accounting for the reliability tier and the soak: for every accepted notification and every
 * backend its filters route it to, the delivery must have succeeded or be in a dead-letter queue.
 * Anything else is lost. Copies beyond one are duplicates, counted (not hidden) at two levels:
 * successful deliveries of the same alert by the same backend, and copies a recipient received.
 */
import type { SNSEvent } from "aws-lambda";
import type { Backend } from "../../lambdas/contracts/messages.js";
import type { RelaySettings } from "../../lib/settings.js";
import type { LocalRelay, SnsHandler } from "../../local/pipeline.js";
import type { DeadLetter } from "../../local/store/dead-letters.js";
import {
  type AlertCounts,
  type AlertFacts,
  type BackendName,
  countsOf,
  type ReceiptBook,
  routedBackends,
} from "./harness.js";

export interface ScenarioReport {
  scenario: string;
  requestsTried: number;
  faultsInjected: number;
  /** Distinct notifications the relay answered 200 for. */
  accepted: number;
  /** Σ over accepted notifications of the backends their filters route them to. */
  expectedDeliveries: number;
  /** Of those (notification, backend) pairs: delivered at least once. */
  delivered: number;
  /** Of those pairs: never delivered, but in a dead-letter queue (backend or ingest). */
  deadLettered: number;
  /** Of those pairs: neither. Must be 0. */
  lost: number;
  /**
   * Redeliveries: successful handler runs beyond the first for the same alert and backend (with
   * an idempotency guard these replay the recorded outcome and send nothing).
   */
  duplicateDeliveries: number;
  /** Copies recipients (addresses, numbers, channels, targets) accepted beyond the first. */
  duplicateCopies: number;
  /**
   * The pipeline's own counters agree (relay.stats()): matched = delivered + dead-lettered per
   * backend, and its deliveries are the ones the ledger saw.
   */
  pipelineBalanced: boolean;
  /** Dead letters per source, with their reasons. */
  deadLetterReasons: Record<string, string[]>;
}

/** Watches every backend's handler: which alert each successful invocation delivered. */
export class DeliveryLedger {
  /** Backend → successful invocations per alert. */
  readonly successes = new Map<string, AlertCounts>();
  /** Backend → a wrapper injecting faults before the real handler runs. */
  readonly faults = new Map<Backend, (alertId: string, run: () => Promise<unknown>) => Promise<unknown>>();

  /** Pass as LocalRelayOptions.wrapBackend. */
  readonly wrapBackend = (backend: Backend, handler: SnsHandler): SnsHandler => {
    return async (event, context) => {
      const alertId = alertIdOfEvent(event);
      const run = () => Promise.resolve(handler(event, context));
      const fault = this.faults.get(backend);
      const result = await (fault ? fault(alertId, run) : run());
      countsOf(this.successes, backend).increment(alertId);
      return result;
    };
  };
}

function alertIdOfEvent(event: SNSEvent): string {
  try {
    const alert = JSON.parse(event.Records[0]?.Sns.Message ?? "{}") as { id?: unknown };
    return typeof alert.id === "string" ? alert.id : "(none)";
  } catch {
    return "(none)";
  }
}

/** The alert a dead letter holds: the SNS message's id (backends) or the `event_id` attribute (ingest queue). */
function alertIdOfLetter(letter: DeadLetter): string {
  const payload = letter.payload as { message?: string; attributes?: Record<string, string> };
  if (typeof payload.message === "string") {
    try {
      return (JSON.parse(payload.message) as { id: string }).id;
    } catch {
      return "(unreadable)";
    }
  }
  return payload.attributes?.event_id ?? "(unknown)";
}

export interface Tally {
  scenario: string;
  relay: LocalRelay;
  settings: RelaySettings;
  ledger: DeliveryLedger;
  books: readonly ReceiptBook[];
  /** Accepted notifications (repeats allowed): an array, or a generator for a long soak. */
  accepted: Iterable<AlertFacts>;
  requestsTried: number;
  /** Faults injected outside the books (queue, topic, key store, handler wrappers). */
  extraFaults?: number;
}

/** Settles the books of one scenario. Call after `relay.drained()` (and the receivers went idle). */
export function account(tally: Tally): ScenarioReport {
  const { relay, settings, ledger } = tally;
  const letters: DeadLetter[] = relay.deadLetters.list();
  const deadLettered = new Set<string>();
  const deadLetterReasons: Record<string, string[]> = {};
  for (const letter of letters) {
    const alertId = alertIdOfLetter(letter);
    deadLettered.add(`${letter.source}|${alertId}`);
    const reasons = deadLetterReasons[letter.source] ?? [];
    if (!reasons.includes(letter.reason)) reasons.push(letter.reason);
    deadLetterReasons[letter.source] = reasons;
  }

  const seen = new Set<string>();
  let acceptedCount = 0;
  let expected = 0;
  let delivered = 0;
  let parked = 0;
  let lost = 0;
  for (const facts of tally.accepted) {
    if (seen.has(facts.id)) continue;
    seen.add(facts.id);
    acceptedCount += 1;
    for (const backend of routedBackends(facts, settings)) {
      expected += 1;
      if ((ledger.successes.get(backend)?.get(facts.id) ?? 0) > 0) delivered += 1;
      else if (deadLettered.has(`${backend}|${facts.id}`) || deadLettered.has(`ingest|${facts.id}`))
        parked += 1;
      else lost += 1;
    }
  }

  let duplicateDeliveries = 0;
  for (const counts of ledger.successes.values()) duplicateDeliveries += counts.extra();

  const stats = relay.stats();
  let ledgerDelivered = 0;
  for (const counts of ledger.successes.values()) ledgerDelivered += counts.total();
  const statsDelivered = Object.values(stats.backends).reduce(
    (total, backend) => total + backend.delivered,
    0,
  );
  const pipelineBalanced =
    ledgerDelivered === statsDelivered &&
    Object.values(stats.backends).every(
      (backend) => backend.matched === backend.delivered + backend.deadLettered,
    );
  const bookFaults = tally.books.reduce((total, book) => total + book.faults, 0);

  return {
    scenario: tally.scenario,
    requestsTried: tally.requestsTried,
    faultsInjected: bookFaults + (tally.extraFaults ?? 0),
    accepted: acceptedCount,
    expectedDeliveries: expected,
    delivered,
    deadLettered: parked,
    lost,
    duplicateDeliveries,
    duplicateCopies: tally.books.reduce((total, book) => total + book.duplicates(), 0),
    pipelineBalanced,
    deadLetterReasons,
  };
}

/** One line per scenario, as the tier prints it. */
export function formatReport(report: ScenarioReport): string {
  return (
    `[reliability] ${report.scenario}: requests tried ${report.requestsTried}, ` +
    `faults injected ${report.faultsInjected}, accepted ${report.accepted}, ` +
    `expected deliveries ${report.expectedDeliveries}, delivered ${report.delivered}, ` +
    `dead-lettered ${report.deadLettered}, lost ${report.lost}, ` +
    `duplicates ${report.duplicateDeliveries} redeliveries / ${report.duplicateCopies} copies to recipients`
  );
}

/** The backends of the relay, as names the ledger uses. */
export function backendNames(relay: LocalRelay): BackendName[] {
  return relay.backends as BackendName[];
}
