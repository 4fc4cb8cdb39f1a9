/**
 * Where the local stack puts what AWS would put in a dead-letter queue: one JSON line per failed
 * message in `<dir>/<name>.jsonl`, so a failure is never silently dropped and can be replayed.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export interface DeadLetter {
  /** Queue or backend the message failed in. */
  source: string;
  /** Why it was dead-lettered: the last error message. */
  reason: string;
  attempts: number;
  failedAt: string;
  /** The message as the consumer received it (SQS body, or the SNS message). */
  payload: unknown;
}

export interface DeadLetterSink {
  put(letter: DeadLetter): void;
  /** Dead letters recorded so far, per source. */
  counts(): Readonly<Record<string, number>>;
}

/** Keeps dead letters in memory, and appends them to files when `dir` is given. */
export class FileDeadLetterSink implements DeadLetterSink {
  private readonly perSource: Record<string, number> = {};
  readonly letters: DeadLetter[] = [];

  constructor(private readonly dir?: string) {
    if (dir) mkdirSync(dir, { recursive: true });
  }

  put(letter: DeadLetter): void {
    this.perSource[letter.source] = (this.perSource[letter.source] ?? 0) + 1;
    this.letters.push(letter);
    if (this.dir) appendFileSync(join(this.dir, `${letter.source}.jsonl`), `${JSON.stringify(letter)}\n`);
  }

  counts(): Readonly<Record<string, number>> {
    return { ...this.perSource };
  }
}
