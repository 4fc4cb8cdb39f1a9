/**
 * The loop behind the embedded queue and each topic subscription: claims work from the database
 * while fewer than `concurrency` items are under way, runs it, and claims again when some
 * finish, when woken (new rows), when the next delayed row falls due, and every `pollMs` when
 * idle (rows another process added: the redrive tool). Only the items under way are in memory.
 *
 * Claims are batched: one claim asks for every free slot at once (one statement, in the turn's
 * group commit: local/store/relay-store.ts), and the items that finish in the same turn of the event loop
 * free their slots for one claim in the next turn, not one claim each.
 */
export interface PumpOptions<Item> {
  concurrency: number;
  /** Delay between a wake-up and the claim, to gather a batch (the mapping's batching window). */
  batchWindowMs?: number;
  /** Claims up to `max` items due at `now` (leasing them in the database), oldest first. */
  claim(now: number, max: number): Promise<readonly Item[]>;
  /** Runs an item; settles its row itself. */
  run(item: Item): Promise<void>;
  /** When the earliest row not due yet falls due (epoch ms), if any. */
  nextDueAt(): number | undefined;
  /** Longest sleep while idle. */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

const DEFAULT_POLL_MS = 1_000;

export class Pump<Item> {
  #active = 0;
  #started = false;
  #stopping = false;
  #wakeScheduled = false;
  #drainScheduled = false;
  /** A claim is under way; `#drainAgain`: something asked for another one meanwhile. */
  #claiming = false;
  #drainAgain = false;
  #timer: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(private readonly options: PumpOptions<Item>) {}

  get active(): number {
    return this.#active;
  }

  start(): void {
    this.#started = true;
    this.#drain();
  }

  /** New rows were added: claim them after the batching window. */
  wake(): void {
    if (!this.#started || this.#stopping || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setTimeout(() => {
      this.#wakeScheduled = false;
      this.#drain();
    }, this.options.batchWindowMs ?? 0);
  }

  /** Claims nothing more; resolves with the items still under way after `deadlineMs`. */
  async stop(deadlineMs: number): Promise<number> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    if (this.#active > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.#idleWaiters.push(resolve)),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, deadlineMs);
        }),
      ]);
      clearTimeout(timer);
    }
    return this.#active;
  }

  #drain(): void {
    if (!this.#started || this.#stopping) return;
    if (this.#claiming) {
      this.#drainAgain = true;
      return;
    }
    const free = this.options.concurrency - this.#active;
    if (free <= 0) return;
    this.#claiming = true;
    this.options.claim(Date.now(), free).then(
      (items) => {
        this.#claiming = false;
        // Claimed during a stop: leased, not run; they are due again at the next start.
        if (this.#stopping) return;
        for (const item of items) {
          this.#active += 1;
          void this.options
            .run(item)
            .catch((error: unknown) => (this.options.onError ?? console.error)(error))
            .finally(() => this.#finished());
        }
        this.#claimed();
      },
      (error: unknown) => {
        // The database failed to claim (locked by another process for too long): try again later.
        this.#claiming = false;
        (this.options.onError ?? console.error)(error);
        this.#claimed();
      },
    );
  }

  #claimed(): void {
    if (this.#drainAgain) {
      this.#drainAgain = false;
      this.#drain();
    }
    this.#schedule();
  }

  #finished(): void {
    this.#active -= 1;
    if (this.#active === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    setImmediate(() => {
      this.#drainScheduled = false;
      this.#drain();
    });
  }

  /** Sleeps until the next row falls due, at most `pollMs`; not while every slot is busy. */
  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopping || this.#active >= this.options.concurrency) return;
    const pollMs = this.options.pollMs ?? DEFAULT_POLL_MS;
    const due = this.options.nextDueAt();
    const delay = due === undefined ? pollMs : Math.min(pollMs, Math.max(1, due - Date.now()));
    this.#timer = setTimeout(() => this.#drain(), delay);
  }
}
