/**
 * How a human backend (e-mail, SMS, Slack) lets a burst through: each destination of an alert is
 * admitted to its window (DigestWindowStore.admit) before anything is sent. `immediate` ones are
 * sent alone as before (through `once`); `held` ones are counted in the window's digest, and the
 * first alert held in a window schedules its close (DigestQueue.closeWindowAt, then
 * markScheduled). Test notifications bypass the windows. Admissions are idempotent per alert, so the platform's retry of a delivery
 * that failed half-way gets the same answers and sends only what the failed attempt missed.
 */
import type { Alert } from "../contracts/alert.js";
import type { DeliveryOutcome, DestinationOutcome } from "../delivery/outcome.js";
import { digestEntry, digestGroup } from "./rules.js";
import type { DigestPolicy, DigestQueue, DigestWindowStore, HumanBackend } from "./seams.js";

/**
 * What a human backend's core factory takes to group bursts. `policy: false` (the settings'
 * `"digest": false`) or no `digests` at all sends every alert alone, exactly as before digests.
 */
export interface DigestDeps {
  store: DigestWindowStore;
  queue: DigestQueue;
  policy: DigestPolicy | false;
  /** Epoch ms; Date.now by default. */
  now?: () => number;
}

/** How a backend names one of its destinations. */
export interface DestinationNaming<Destination> {
  backend: HumanBackend;
  /** The address, number or webhook URL: hashed into the window's group, never stored. */
  address: (destination: Destination) => string;
  /** What may be logged of it (masked). */
  label: (destination: Destination) => string;
}

/**
 * Sends `alert` to the destinations its windows let through now (`send`, the backend's fan-out,
 * is called with those only, and not at all when every destination held it) and reports the
 * others as `digested`. With digests off, `send` gets every destination, as before.
 */
export async function deliverThroughWindows<Destination>(
  alert: Alert,
  destinations: readonly Destination[],
  naming: DestinationNaming<Destination>,
  digests: DigestDeps | undefined,
  send: (now: readonly Destination[]) => Promise<DeliveryOutcome>,
): Promise<DeliveryOutcome> {
  // A test notification (Sqreen's test button, `npm run relay -- drill`) is someone checking that
  // the channel works: it is always sent alone, never held in a digest.
  if (!digests || digests.policy === false || destinations.length === 0 || alert.kind === "test") {
    return send(destinations);
  }
  const { store, queue, policy } = digests;
  const now = digests.now ?? Date.now;
  const entry = digestEntry(alert);
  const sendNow: Destination[] = [];
  const held: DestinationOutcome[] = [];
  for (const destination of destinations) {
    const admission = await store.admit(
      digestGroup(naming.backend, naming.address(destination), alert),
      entry,
      policy,
      now(),
    );
    if (admission.mode === "immediate") {
      sendNow.push(destination);
      continue;
    }
    if (admission.needsSchedule) {
      // Scheduled before it is marked: a crash in between schedules twice (closing is
      // idempotent), never not at all.
      await queue.closeWindowAt(admission.windowId, admission.closesAt, now());
      await store.markScheduled(admission.windowId);
    }
    held.push({ destination: naming.label(destination), status: "digested", digestId: admission.windowId });
  }
  if (held.length === 0) return send(sendNow);
  if (sendNow.length === 0) {
    return { status: "digested", delivered: 0, destinations: held, details: { digested: held.length } };
  }
  const sent = await send(sendNow);
  return {
    ...sent,
    destinations: [...(sent.destinations ?? []), ...held],
    details: { ...sent.details, digested: held.length },
  };
}
