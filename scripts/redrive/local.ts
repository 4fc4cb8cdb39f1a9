/**
 * Redrive on the local stack: hands a backend's dead letters (the `dead_letters` table of the
 * relay's database, local/store/relay-store.ts) back to that backend's pending deliveries, in one
 * transaction per dead letter, as SQS's move task does for a queue. The relay delivers them with
 * its own configuration (the one `npm start` was given): when it is running, this waits and
 * reports each replay's outcome; when it is not, they are delivered at its next start. Nothing
 * but the data directory is needed, and the relay's idempotency records make a replay send
 * nothing a recipient already got. The queue's own dead letters (`ingest`: notifications route
 * failed on) go back to the queue the same way, and so do those of a human backend's own queue
 * (`slack-queue`...: digests that could not be sent, deliveries that waited for a rate limit).
 */
import { randomUUID } from "node:crypto";
import type { Backend } from "../../lambdas/contracts/messages.js";
import { HUMAN_BACKENDS } from "../../lambdas/digest/seams.js";
import { redrivenEntry, subjectOfMessage } from "../../lambdas/ledger/entry.js";
import { sleep } from "../../lambdas/runtime/backoff.js";
import { digestQueueName } from "../../local/aws/embedded-digest-queue.js";
import { DeadLetterStore, type StoredDeadLetter } from "../../local/store/dead-letters.js";
import { SqliteLedger } from "../../local/store/ledger-store.js";
import type { RelayStore } from "../../local/store/relay-store.js";
import { alertIdOf } from "./records.js";
import { type RedriveResult, type RedriveSummary, summarize } from "./summary.js";

export interface LocalRedriveOptions {
  /** The relay's database, opened shared (a relay may be running on it). */
  store: RelayStore;
  /** A backend, `ingest` for the queue's dead letters, or a human backend's own queue (LOCAL_QUEUES). */
  backend: Backend | LocalQueue;
  /** Dead letters to hand back, at most; the others stay untouched. */
  max?: number | undefined;
  dryRun?: boolean | undefined;
  /** How long to wait for a running relay to replay them (DEFAULT_WAIT_MS by default). */
  waitMs?: number | undefined;
  onResult?: ((result: RedriveResult) => void) | undefined;
}

/** A backend's dead letter holds the SNS message; the queue's holds the SQS body. */
interface Replayable {
  messageId: string;
  message: string;
  attributes: Record<string, string>;
}

/** The local queues whose dead letters go back to them: the ingest queue and each human backend's own. */
export const LOCAL_QUEUES = ["ingest", ...HUMAN_BACKENDS.map(digestQueueName)] as const;
export type LocalQueue = (typeof LOCAL_QUEUES)[number];

export function isLocalQueue(source: string): source is LocalQueue {
  return (LOCAL_QUEUES as readonly string[]).includes(source);
}

const POLL_MS = 100;

/** How long a redrive waits for a running relay's replays, unless told (`--wait`). */
export const DEFAULT_WAIT_MS = 60_000;

/** Hands a backend's local dead letters back; see the module comment. */
export async function redriveLocal(options: LocalRedriveOptions): Promise<RedriveSummary> {
  const { store, backend } = options;
  const source = `${store.file ?? "the relay's database"} (dead letters of ${backend})`;
  const deadLetters = new DeadLetterStore(store);
  const ledger = new SqliteLedger(store);
  const letters = deadLetters.list(backend, options.max);
  const results: RedriveResult[] = [];
  const record = (result: RedriveResult): void => {
    results.push(result);
    options.onResult?.(result);
  };

  if (options.dryRun) {
    for (const letter of letters) {
      record({
        status: "would-replay",
        ref: ref(letter),
        alertId: alertIdOfLetter(letter, isLocalQueue(backend)),
        reason: letter.reason,
      });
    }
    return summarize(source, true, results);
  }

  const toQueue = isLocalQueue(backend);
  const insert = toQueue
    ? store.db.prepare(
        `INSERT INTO queue (queue_name, message_id, body, attributes, sent_at, visible_at)
         VALUES (?, ?, ?, ?, ?, 0) RETURNING id`,
      )
    : store.db.prepare(
        `INSERT INTO deliveries (subscription, message_id, message, attributes, published_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, 0) RETURNING id`,
      );
  const stillPending = store.db.prepare(`SELECT 1 FROM ${toQueue ? "queue" : "deliveries"} WHERE id = ?`);
  const handedBack: Array<{ letter: StoredDeadLetter; deliveryId: number }> = [];
  for (const letter of letters) {
    const replayable = readLetter(letter, toQueue);
    if (typeof replayable === "string") {
      record({ status: "unreadable", ref: ref(letter), alertId: "unknown", reason: replayable });
      continue;
    }
    const deliveryId = store.transaction(() => {
      const attributes = JSON.stringify(replayable.attributes);
      const row = (
        toQueue
          ? insert.get(backend, randomUUID(), replayable.message, attributes, Date.now())
          : insert.get(backend, replayable.messageId, replayable.message, attributes, Date.now())
      ) as { id: number };
      deadLetters.remove(letter.id);
      // A backend's replay is recorded `redriven` with the hand-back; the queue's is not a delivery yet.
      const subject = toQueue ? undefined : subjectOfMessage(replayable.message, backend);
      if (subject)
        ledger.insertSafely([redrivenEntry(subject, new Date().toISOString())], deadLetters.logger);
      return row.id;
    });
    handedBack.push({ letter, deliveryId });
  }

  const running = store.runningOwner() !== undefined;
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  const unsettled = () => handedBack.filter(({ deliveryId }) => stillPending.get(deliveryId) !== undefined);
  while (running && unsettled().length > 0 && Date.now() < deadline) await sleep(POLL_MS);

  const failedAgain = new Map(
    deadLetters
      .fromOrigins(handedBack.map(({ deliveryId }) => deliveryId))
      .map((letter) => [letter.originId, letter]),
  );
  const pending = new Set(unsettled().map(({ deliveryId }) => deliveryId));
  for (const { letter, deliveryId } of handedBack) {
    const alertId = alertIdOfLetter(letter, toQueue);
    const again = failedAgain.get(deliveryId);
    if (again) record({ status: "failed", ref: ref(letter), alertId, reason: again.reason });
    else if (pending.has(deliveryId)) {
      record({
        status: "handed-back",
        ref: ref(letter),
        alertId,
        reason: running
          ? "still pending when the wait ended"
          : "no relay is running: delivered at its next start",
      });
    } else record({ status: "replayed", ref: ref(letter), alertId });
  }
  return summarize(source, false, results);
}

function ref(letter: StoredDeadLetter): string {
  return `dead letter ${letter.id}`;
}

/** The message a dead letter holds (SNS message, or the queue's SQS body), or why it cannot be replayed. */
function readLetter(letter: StoredDeadLetter, fromQueue: boolean): Replayable | string {
  const payload = letter.payload as Record<string, unknown> | null;
  if (typeof payload !== "object" || payload === null) return "not a dead letter";
  const { messageId, attributes } = payload;
  const message = fromQueue ? payload.body : payload.message;
  if (typeof message !== "string")
    return `dead letter without ${fromQueue ? "a queue message" : "an SNS message"}`;
  const stringAttributes: Record<string, string> = {};
  if (typeof attributes === "object" && attributes !== null) {
    for (const [name, value] of Object.entries(attributes)) {
      if (typeof value === "string") stringAttributes[name] = value;
    }
  }
  return {
    messageId: typeof messageId === "string" ? messageId : "redrive",
    message,
    attributes: stringAttributes,
  };
}

function alertIdOfLetter(letter: StoredDeadLetter, fromQueue: boolean): string {
  const replayable = readLetter(letter, fromQueue);
  if (typeof replayable === "string") return "unknown";
  if (!fromQueue) return alertIdOf(replayable.message);
  // An ingest queue message is the notification: its event identity is the `event_id` attribute.
  if (replayable.attributes.event_id) return replayable.attributes.event_id;
  // A backend's own queue: the alert that waited for a rate limit, or the window of a digest.
  try {
    const message = JSON.parse(replayable.message) as { alert?: unknown; windowId?: unknown };
    if (typeof message.alert === "string") return alertIdOf(message.alert);
    if (typeof message.windowId === "string") return `digest window ${message.windowId}`;
  } catch {
    // Not JSON: reported as unknown.
  }
  return "unknown";
}
