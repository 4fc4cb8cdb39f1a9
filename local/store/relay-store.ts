/**
 * The local relay's durable state: one SQLite database (better-sqlite3) in the data directory,
 * holding what SQS, SNS's pending deliveries, the DynamoDB idempotency table and the dead-letter
 * queues hold on AWS, so an accepted alert survives kill -9 and restarts.
 *
 * Durability, and why these settings:
 * - WAL journal: readers (the redrive tool, tests) never block the relay, and a crash at any
 *   point leaves the last committed state (the WAL is replayed as a prefix of its commits).
 * - `synchronous = NORMAL` for the relay's own work (routing, delivery attempts, idempotency
 *   records, dead letters): in WAL mode a commit is in the operating system when it returns, so a
 *   process crash (kill -9) loses nothing; a power loss may roll back the last of these commits,
 *   which only means some work is done again (a message routed again, a delivery retried, and
 *   the idempotency record sends nothing twice unless it was among the rolled-back commits).
 * - Acceptance (`commitDurably`) resolves only once the WAL is fsynced after its commit, because
 *   a 200 tells Sqreen to forget the request. As the WAL is one file written in order, that fsync
 *   also makes every earlier commit durable, and a power loss can then only roll back work that
 *   came after an acceptance, never the acceptance itself. The fsync is the one SQLite's
 *   `synchronous = FULL` would make inside COMMIT, made instead on the thread pool
 *   (`fdatasync` of the WAL file, WalSync) once the commit returned: the relay's one thread goes
 *   on routing and delivering while the disk syncs (0.3 to 4 ms on this project's machine, once
 *   per turn under load), and the acceptances of the turns committed meanwhile share the next
 *   fsync. A checkpoint that copies the WAL into the database first syncs the WAL (SQLite does
 *   so at every `synchronous` level but OFF), so a commit checkpointed before its fsync ran is
 *   durable too.
 * - Writes are group-committed: every acceptance (`commitDurably`) and every settlement of the
 *   relay's own work (`commit`: a delivery done, retried or dead-lettered, an idempotency record)
 *   asked for in the same turn of the event loop shares one transaction, and its acceptances one
 *   fsync. Each caller's promise resolves only once that transaction committed,
 *   so nothing waits less than it did with a transaction of its own; what a transaction costs
 *   (an fsync is 0.3 to 4 ms on this project's machine, and without one SQLite's own work per
 *   commit, writing every touched page again to the WAL, was most of the relay's CPU) is paid
 *   once per turn, not once per row.
 *
 * Files: the directory is made 0700 and the database 0600 (SQLite gives its -wal and -shm files
 * the database file's mode), because alerts carry personal data.
 */
import { chmodSync, closeSync, existsSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

/** The database file inside the data directory. */
export const DATABASE_FILE = "relay.db";

/** Owner-only directory and file modes for everything the local relay writes. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** How long a writer waits for another process's write lock (the redrive tool) before failing. */
const BUSY_TIMEOUT_MS = 5_000;

/**
 * WAL pages before SQLite copies them back into the database file (its default is 1,000): the
 * relay rewrites the same few index and table pages in every group commit, so a longer interval
 * copies each of them back once instead of many times. At most about 40 MB of WAL on disk.
 */
const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/**
 * The page cache, in KiB (negative: SQLite's unit for a size, not a page count); its default of
 * 2 MB holds less than the pending deliveries' pages under load, so each commit read them again.
 * A fixed bound, whatever the backlog.
 */
const CACHE_SIZE_KIB = 32 * 1024;

/**
 * The schema, one migration per `user_version`. Times are epoch milliseconds; message bodies and
 * attributes are stored as the JSON the consumer receives.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- The ingest queue (SQS): one row per accepted notification until route has published it.
  CREATE TABLE queue (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    -- Failed receives so far (a receive interrupted by a crash is not one).
    failures INTEGER NOT NULL DEFAULT 0,
    -- Receivable from then on: a receive leases the message until its consumer's deadline.
    visible_at INTEGER NOT NULL
  );
  CREATE INDEX queue_visible ON queue (visible_at, id);

  -- Each subscription's pending deliveries (SNS to Lambda): one row per alert and backend.
  CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    subscription TEXT NOT NULL,
    message_id TEXT NOT NULL,
    message TEXT NOT NULL,
    attributes TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    -- Failed attempts so far (an attempt interrupted by a crash is not one).
    attempts INTEGER NOT NULL DEFAULT 0,
    -- Due from then on: a retry's delay, or the lease of the attempt under way.
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT
  );
  CREATE INDEX deliveries_due ON deliveries (subscription, next_attempt_at, id);

  -- The idempotency records (the DynamoDB table on AWS); keys are SHA-256 hashes.
  CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    -- Epoch seconds, as Powertools keeps it.
    expiry INTEGER,
    in_progress_expiry INTEGER,
    payload_hash TEXT,
    response TEXT
  );
  CREATE INDEX idempotency_expiry ON idempotency (expiry);

  -- Dead letters of the queue (source 'ingest') and of each backend, with the reason.
  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    failed_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- The pending delivery (or queue message) it was, so a redrive can follow its replay.
    origin_id INTEGER
  );
  CREATE INDEX dead_letters_source ON dead_letters (source, id);

  -- Digest windows (one per backend, destination and alert group), for the digest feature: the
  -- window's state as JSON, when it closes, and when the row may be dropped.
  CREATE TABLE digest_windows (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    closes_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX digest_windows_closing ON digest_windows (closes_at);

  -- The process that owns this data directory (one relay at a time).
  CREATE TABLE owner (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL
  );
  `,
  `
  -- Digests (lambdas/digest/seams.ts; local/store/digest-windows.ts): the placeholder table is
  -- replaced by windows and the admissions of each alert to them.
  DROP TABLE digest_windows;
  CREATE TABLE digest_windows (
    id TEXT PRIMARY KEY,
    -- The group (lambdas/digest/rules.ts: groupKey) and the group itself as JSON.
    group_key TEXT NOT NULL,
    group_json TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    closes_at INTEGER NOT NULL,
    -- 1 once the window was shut: it admits nothing more, and its entries were read.
    closed INTEGER NOT NULL DEFAULT 0,
    -- 1 once its close was scheduled on the backend's queue (Admission.needsSchedule).
    scheduled INTEGER NOT NULL DEFAULT 0,
    sent_alone INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX digest_windows_group ON digest_windows (group_key, closes_at);
  CREATE INDEX digest_windows_expiry ON digest_windows (expires_at);

  -- One row per (group, alert): the first answer of admit, given again to a retry; the entry of
  -- a held alert (DigestEntry as JSON), NULL for one sent alone.
  CREATE TABLE digest_admissions (
    seq INTEGER PRIMARY KEY,
    group_key TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    window_id TEXT NOT NULL,
    entry TEXT,
    expires_at INTEGER NOT NULL,
    UNIQUE (group_key, alert_id)
  );
  CREATE INDEX digest_admissions_window ON digest_admissions (window_id, seq);
  CREATE INDEX digest_admissions_expiry ON digest_admissions (expires_at);

  -- The queue table holds every embedded queue: the ingest queue (the only one so far, hence the
  -- default) and each human backend's own (digest closes, deliveries waiting for a rate limit),
  -- whose messages may be delayed: receivable from available_at on (SQS DelaySeconds).
  ALTER TABLE queue ADD COLUMN queue_name TEXT NOT NULL DEFAULT 'ingest';
  ALTER TABLE queue ADD COLUMN available_at INTEGER NOT NULL DEFAULT 0;
  DROP INDEX queue_visible;
  CREATE INDEX queue_visible ON queue (queue_name, visible_at, id);
  CREATE INDEX queue_available ON queue (queue_name, available_at);
  `,
  `
  -- The delivery ledger (local/store/ledger-store.ts; the DynamoDB ledger table on AWS): one row
  -- per outcome of one alert at one destination of one backend. Masked labels and reasons only.
  CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    alert_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    backend TEXT NOT NULL,
    destination TEXT NOT NULL,
    outcome TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    digest_id TEXT,
    reason TEXT,
    accepted_at TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
  );
  CREATE INDEX ledger_alert ON ledger (alert_id, backend, outcome);
  CREATE INDEX ledger_event ON ledger (event_id);
  CREATE INDEX ledger_recorded ON ledger (recorded_at);
  `,
];

/** A second relay on the same data directory would deliver everything twice. */
export class DataDirectoryInUseError extends Error {
  override name = "DataDirectoryInUseError";
}

/** Creates `dir` (and parents) owner-only, and makes an existing one owner-only too. */
export function privateDirectory(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
  return dir;
}

/** Creates `file` empty if missing, owner-only either way (appends then keep that mode). */
export function privateFile(file: string): string {
  closeSync(openSync(file, "a", PRIVATE_FILE_MODE));
  chmodSync(file, PRIVATE_FILE_MODE);
  return file;
}

interface PendingCommit {
  work: () => unknown;
  /** An acceptance: settled only once the WAL is fsynced after its commit. */
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * fsyncs of the WAL file on the thread pool, one at a time: each `after` callback runs once an
 * fsync that began after it was asked for has finished, and the callbacks asked for during an
 * fsync share the next one.
 */
class WalSync {
  #fd: number | undefined;
  #waiting: Array<(error: Error | null) => void> = [];
  #syncing = false;
  #closed = false;

  constructor(private readonly walFile: string) {}

  after(settle: (error: Error | null) => void): void {
    this.#waiting.push(settle);
    if (!this.#syncing) this.#next();
  }

  #next(): void {
    const batch = this.#waiting;
    this.#waiting = [];
    if (batch.length === 0 || this.#closed) return;
    let fd: number;
    try {
      // Opened at the first fsync: SQLite creates the WAL with the first write.
      fd = this.#fd ??= openSync(this.walFile, "r");
    } catch (error) {
      for (const settle of batch) settle(error as Error);
      return;
    }
    this.#syncing = true;
    fdatasync(fd, (error) => {
      this.#syncing = false;
      for (const settle of batch) settle(error);
      if (this.#closed) this.#closeFd();
      else this.#next();
    });
  }

  /** Syncs what is waiting at once (the database is closing) and lets the file go. */
  close(): void {
    this.#closed = true;
    const batch = this.#waiting;
    this.#waiting = [];
    let error: Error | null = null;
    if (batch.length > 0 && this.#fd !== undefined) {
      try {
        fdatasyncSync(this.#fd);
      } catch (caught) {
        error = caught as Error;
      }
    }
    for (const settle of batch) settle(error);
    if (!this.#syncing) this.#closeFd();
  }

  #closeFd(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

export interface RelayStoreOptions {
  /** The data directory; the database is `<dataDir>/relay.db`. Absent: an in-memory database (tests). */
  dataDir?: string | undefined;
  /** Open read-write without claiming the directory (the redrive tool beside a running relay). */
  shared?: boolean;
}

/** The database, its schema, the single-owner claim and the durable group commit. */
export class RelayStore {
  readonly db: Database.Database;
  readonly file: string | undefined;
  #pending: PendingCommit[] = [];
  #flushScheduled = false;
  /** Absent for an in-memory database, which no power loss can roll back further. */
  readonly #walSync: WalSync | undefined;
  #owned = false;
  #closed = false;
  /**
   * The group commit's statements, prepared once: a group runs one savepoint per work, and
   * better-sqlite3's `transaction(fn)` builds four wrapper functions each time it is called,
   * which cost more than the savepoint itself (issue 17: ~20 works per notification).
   */
  readonly #group;

  constructor(options: RelayStoreOptions = {}) {
    if (options.dataDir) {
      privateDirectory(options.dataDir);
      this.file = privateFile(join(options.dataDir, DATABASE_FILE));
    }
    this.db = new Database(this.file ?? ":memory:");
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    this.db.pragma(`cache_size = -${CACHE_SIZE_KIB}`);
    this.migrate();
    this.#group = {
      begin: this.db.prepare("BEGIN"),
      commit: this.db.prepare("COMMIT"),
      rollback: this.db.prepare("ROLLBACK"),
      savepoint: this.db.prepare("SAVEPOINT relay_work"),
      release: this.db.prepare("RELEASE relay_work"),
      rollbackTo: this.db.prepare("ROLLBACK TO relay_work"),
    };
    if (this.file) this.#walSync = new WalSync(`${this.file}-wal`);
    if (!options.shared) this.claim();
  }

  /** Whether a database file exists in `dataDir` (the redrive tool says so when there is none). */
  static existsIn(dataDir: string): boolean {
    return existsSync(join(dataDir, DATABASE_FILE));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `work` in a transaction (NORMAL durability: survives a process crash). */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * Runs `work` in a transaction that is fsynced before the promise resolves (FULL durability:
   * survives a power loss too). Calls made in the same turn of the event loop share the
   * transaction and its fsync; each `work` runs in its own savepoint, so one that throws rejects
   * its own promise and rolls back only its own writes.
   */
  commitDurably<T>(work: () => T): Promise<T> {
    return this.#enqueue(work, true);
  }

  /**
   * Runs `work` in the turn's group transaction (NORMAL durability, as `transaction`), resolving
   * once it committed; in its own savepoint, as `commitDurably`. For the many small writes of the
   * relay's own work, which then share one commit.
   */
  commit<T>(work: () => T): Promise<T> {
    return this.#enqueue(work, false);
  }

  #enqueue<T>(work: () => T, durable: boolean): Promise<T> {
    if (this.#closed) return Promise.reject(new Error("the relay's database is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work, durable, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const group = this.#pending;
    this.#pending = [];
    if (group.length === 0) return;
    const sql = this.#group;
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      sql.begin.run();
      try {
        for (const commit of group) outcomes.push(this.#inSavepoint(commit.work));
        sql.commit.run();
      } catch (error) {
        if (this.db.inTransaction) sql.rollback.run();
        throw error;
      }
    } catch (error) {
      // The commit itself failed (disk full, I/O error): nothing of the group is durable.
      for (const commit of group) commit.reject(error);
      return;
    }
    const awaitingSync: Array<{ commit: PendingCommit; value: unknown }> = [];
    group.forEach((commit, index) => {
      const outcome = outcomes[index];
      if (!outcome?.ok) commit.reject(outcome?.error);
      else if (commit.durable && this.#walSync) awaitingSync.push({ commit, value: outcome.value });
      else commit.resolve(outcome.value);
    });
    if (awaitingSync.length === 0) return;
    // Committed, not yet known to be on disk: an acceptance whose fsync fails is not answered 200.
    this.#walSync?.after((error) => {
      for (const { commit, value } of awaitingSync) {
        if (error) commit.reject(error);
        else commit.resolve(value);
      }
    });
  }

  /** Runs `work` in its own savepoint of the group: one that throws undoes only its own writes. */
  #inSavepoint(work: () => unknown): { ok: true; value: unknown } | { ok: false; error: unknown } {
    const sql = this.#group;
    sql.savepoint.run();
    try {
      const value = work();
      // As better-sqlite3's transactions refuse it: the writes after an await would miss the group.
      if (typeof (value as { then?: unknown } | null)?.then === "function") {
        throw new TypeError("A group commit's work cannot return a promise");
      }
      sql.release.run();
      return { ok: true, value };
    } catch (error) {
      sql.rollbackTo.run();
      sql.release.run();
      return { ok: false, error };
    }
  }

  /** The pid of the relay that owns this directory, if it is still running. */
  runningOwner(): number | undefined {
    const row = this.db.prepare("SELECT pid FROM owner WHERE singleton = 1").get() as
      | { pid: number }
      | undefined;
    if (!row || row.pid === process.pid) return row?.pid;
    return isRunning(row.pid) ? row.pid : undefined;
  }

  /** Closes the database (idempotent); a pending group commit is flushed first. */
  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#walSync?.close();
    if (this.#owned) this.db.prepare("DELETE FROM owner WHERE pid = ?").run(process.pid);
    this.#closed = true;
    this.db.close();
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    for (let next = version; next < MIGRATIONS.length; next += 1) {
      this.transaction(() => {
        this.db.exec(MIGRATIONS[next] as string);
        this.db.pragma(`user_version = ${next + 1}`);
      });
    }
  }

  private claim(): void {
    this.transaction(() => {
      const owner = this.runningOwner();
      if (owner !== undefined && owner !== process.pid) {
        throw new DataDirectoryInUseError(
          `Another relay (pid ${owner}) is using the data directory ${this.file ? join(this.file, "..") : ""}: ` +
            "stop it first, or give this one another RELAY_DATA_DIR.",
        );
      }
      this.db
        .prepare("INSERT OR REPLACE INTO owner (singleton, pid, started_at) VALUES (1, ?, ?)")
        .run(process.pid, new Date().toISOString());
    });
    this.#owned = true;
  }
}

/** Whether process `pid` exists (the data directory's owner, a run file's relay). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
