/**
 * The local relay's digest windows: a DigestWindowStore (lambdas/digest/seams.ts) on the
 * `digest_windows` and `digest_admissions` tables of the relay's database
 * (local/store/relay-store.ts), so a restart, even after kill -9, neither loses a held alert nor
 * sends a digest twice.
 *
 * Each call is one piece of synchronous SQL inside the turn's group commit (a savepoint of its
 * own), so calls never interleave: two deliveries admitted at once within the process see each
 * other's writes, as DynamoDB's conditional writes make them on AWS. A call's promise resolves
 * once its transaction committed.
 *
 * Rows are kept WINDOW_RETENTION_SECONDS after the window's close, then deleted (at most once a
 * minute, as the idempotency records: local/store/idempotency-store.ts).
 */
import { randomUUID } from "node:crypto";
import { groupKey } from "../../lambdas/digest/rules.js";
import {
  type Admission,
  type DigestEntry,
  type DigestGroup,
  type DigestPolicy,
  type DigestWindowStore,
  digestEntrySchema,
  WINDOW_RETENTION_SECONDS,
  type WindowClose,
} from "../../lambdas/digest/seams.js";
import type { RelayStore } from "./relay-store.js";

/** Least time between two deletions of expired windows. */
const PURGE_INTERVAL_MS = 60_000;

interface WindowRow {
  id: string;
  group_json: string;
  opened_at: number;
  closes_at: number;
  closed: number;
  scheduled: number;
  sent_alone: number;
  held: number;
}

export class SqliteDigestWindowStore implements DigestWindowStore {
  readonly #store: RelayStore;
  readonly #retentionMs: number;
  readonly #sql;
  #lastPurgeAt = Number.NEGATIVE_INFINITY;

  constructor(store: RelayStore, options: { retentionSeconds?: number } = {}) {
    this.#store = store;
    this.#retentionMs = (options.retentionSeconds ?? WINDOW_RETENTION_SECONDS) * 1000;
    const db = store.db;
    this.#sql = {
      admission: db.prepare(
        `SELECT a.entry IS NOT NULL AS held, w.id, w.closes_at, w.scheduled
           FROM digest_admissions a JOIN digest_windows w ON w.id = a.window_id
          WHERE a.group_key = ? AND a.alert_id = ?`,
      ),
      // The group's window that still admits: not shut, and before its close.
      open: db.prepare(
        `SELECT * FROM digest_windows WHERE group_key = ? AND closed = 0 AND closes_at > ?
          ORDER BY opened_at DESC LIMIT 1`,
      ),
      openWindow: db.prepare(
        `INSERT INTO digest_windows (id, group_key, group_json, opened_at, closes_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
      ),
      countAlone: db.prepare("UPDATE digest_windows SET sent_alone = sent_alone + 1 WHERE id = ?"),
      countHeld: db.prepare("UPDATE digest_windows SET held = held + 1 WHERE id = ?"),
      admit: db.prepare(
        `INSERT INTO digest_admissions (group_key, alert_id, window_id, entry, expires_at)
         VALUES (?, ?, ?, ?, ?)`,
      ),
      markScheduled: db.prepare("UPDATE digest_windows SET scheduled = 1 WHERE id = ?"),
      window: db.prepare("SELECT * FROM digest_windows WHERE id = ?"),
      shut: db.prepare("UPDATE digest_windows SET closed = 1 WHERE id = ?"),
      entries: db.prepare(
        "SELECT entry FROM digest_admissions WHERE window_id = ? AND entry IS NOT NULL ORDER BY seq",
      ),
      purgeWindows: db.prepare("DELETE FROM digest_windows WHERE expires_at < ?"),
      purgeAdmissions: db.prepare("DELETE FROM digest_admissions WHERE expires_at < ?"),
    };
  }

  admit(group: DigestGroup, entry: DigestEntry, policy: DigestPolicy, now: number): Promise<Admission> {
    const key = groupKey(group);
    return this.#store.commit(() => {
      this.#purge(now);
      const earlier = this.#sql.admission.get(key, entry.alertId) as
        | { held: number; id: string; closes_at: number; scheduled: number }
        | undefined;
      if (earlier) {
        return earlier.held
          ? held(earlier.id, earlier.closes_at, earlier.scheduled)
          : { mode: "immediate", windowId: earlier.id };
      }
      const closesAt = now + policy.windowSeconds * 1000;
      const window =
        (this.#sql.open.get(key, now) as WindowRow | undefined) ??
        (this.#sql.openWindow.get(
          randomUUID(),
          key,
          JSON.stringify(group),
          now,
          closesAt,
          closesAt + this.#retentionMs,
        ) as WindowRow);
      const expiresAt = window.closes_at + this.#retentionMs;
      if (window.sent_alone < policy.immediate) {
        this.#sql.countAlone.run(window.id);
        this.#sql.admit.run(key, entry.alertId, window.id, null, expiresAt);
        return { mode: "immediate", windowId: window.id };
      }
      this.#sql.countHeld.run(window.id);
      this.#sql.admit.run(key, entry.alertId, window.id, JSON.stringify(entry), expiresAt);
      return held(window.id, window.closes_at, window.scheduled);
    });
  }

  async markScheduled(windowId: string): Promise<void> {
    await this.#store.commit(() => this.#sql.markScheduled.run(windowId));
  }

  close(windowId: string, now: number): Promise<WindowClose> {
    return this.#store.commit((): WindowClose => {
      const window = this.#sql.window.get(windowId) as WindowRow | undefined;
      if (!window) return { status: "unknown" };
      if (!window.closed && window.closes_at > now) return { status: "not-due", closesAt: window.closes_at };
      if (!window.closed) this.#sql.shut.run(windowId);
      const entries = (this.#sql.entries.all(windowId) as { entry: string }[]).map(({ entry }) =>
        digestEntrySchema.parse(JSON.parse(entry)),
      );
      return {
        status: "closed",
        group: JSON.parse(window.group_json) as DigestGroup,
        entries,
        sentAlone: window.sent_alone,
        openedAt: window.opened_at,
        closesAt: window.closes_at,
      };
    });
  }

  #purge(now: number): void {
    if (now - this.#lastPurgeAt < PURGE_INTERVAL_MS) return;
    this.#lastPurgeAt = now;
    this.#sql.purgeWindows.run(now);
    this.#sql.purgeAdmissions.run(now);
  }
}

function held(windowId: string, closesAt: number, scheduled: number): Admission {
  return { mode: "held", windowId, closesAt, needsSchedule: scheduled === 0 };
}
