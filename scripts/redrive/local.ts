/**
 * Redrive on the local stack: replays `<dead-letters dir>/<backend>.jsonl` (what `npm start` wrote
 * when a backend kept failing) through that backend's handler, and keeps the lines that still fail.
 *
 * The file is rewritten only at the end, with the lines kept followed by any line a running
 * `npm start` appended meanwhile, so nothing it dead-letters during the redrive is lost.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Context, SNSEvent } from "aws-lambda";
import { lambdaContext } from "../../bin/local/lambda-context.js";
import type { Backend } from "../../lambdas/contracts/messages.js";
import { type Replayable, replayableFromLocalLine } from "./records.js";
import { type RedriveResult, type RedriveSummary, summarize } from "./summary.js";

export interface LocalRedriveOptions {
  /** `.relay/dead-letters` by default in the CLI. */
  deadLettersDir: string;
  backend: Backend;
  /** The backend's delivery handler, built as the local stack builds it. */
  handler: (event: SNSEvent, context: Context) => Promise<unknown>;
  /** Dead letters to replay, at most; the others stay untouched. */
  max?: number | undefined;
  dryRun?: boolean | undefined;
  /** Deadline of each replay, as the local stack gives its delivery functions. */
  timeoutMs?: number | undefined;
  onResult?: ((result: RedriveResult) => void) | undefined;
}

/** The dead-letters file of `backend`. */
export function deadLettersFile(deadLettersDir: string, backend: Backend): string {
  return join(deadLettersDir, `${backend}.jsonl`);
}

/** Replays a backend's local dead letters; see the module comment. */
export async function redriveLocal(options: LocalRedriveOptions): Promise<RedriveSummary> {
  const file = deadLettersFile(options.deadLettersDir, options.backend);
  const dryRun = options.dryRun ?? false;
  const max = options.max ?? Number.POSITIVE_INFINITY;
  if (!existsSync(file)) return summarize(file, dryRun, []);
  const original = readFileSync(file, "utf8");
  const lines = original.split("\n").filter((line) => line.trim().length > 0);
  const results: RedriveResult[] = [];
  const keptLines: string[] = [];
  const record = (result: RedriveResult): void => {
    results.push(result);
    options.onResult?.(result);
  };

  for (const [index, line] of lines.entries()) {
    if (results.length >= max || dryRun) {
      keptLines.push(line);
      if (dryRun && results.length < max) record(describe(line, index));
      continue;
    }
    const ref = `line ${index + 1}`;
    let replayable: Replayable;
    try {
      replayable = replayableFromLocalLine(line);
    } catch (error) {
      keptLines.push(line);
      record({ status: "unreadable", ref, alertId: "unknown", reason: (error as Error).message });
      continue;
    }
    try {
      await options.handler(
        replayable.event,
        lambdaContext(`deliver-${options.backend}`, options.timeoutMs ?? 30_000),
      );
      record({ status: "replayed", ref, alertId: replayable.alertId });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      keptLines.push(withLatestFailure(line, reason));
      record({ status: "failed", ref, alertId: replayable.alertId, reason });
    }
  }

  if (!dryRun) {
    // Lines `npm start` appended while this ran come after the ones kept.
    const appended = readFileSync(file, "utf8").slice(original.length);
    const kept = keptLines.map((line) => `${line}\n`).join("");
    const temporary = `${file}.redrive`;
    writeFileSync(temporary, kept + appended);
    renameSync(temporary, file);
  }
  return summarize(file, dryRun, results);
}

function describe(line: string, index: number): RedriveResult {
  const ref = `line ${index + 1}`;
  try {
    const { alertId, reason } = replayableFromLocalLine(line);
    return { status: "would-replay", ref, alertId, ...(reason ? { reason } : {}) };
  } catch (error) {
    return { status: "unreadable", ref, alertId: "unknown", reason: (error as Error).message };
  }
}

/** The kept line with the reason and time of its latest failure. */
function withLatestFailure(line: string, reason: string): string {
  const letter = JSON.parse(line) as Record<string, unknown>;
  const attempts = typeof letter.attempts === "number" ? letter.attempts + 1 : letter.attempts;
  return JSON.stringify({ ...letter, reason, attempts, failedAt: new Date().toISOString() });
}
