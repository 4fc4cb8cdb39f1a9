/** What a redrive did with each dead letter, and the totals it prints. */

export type RedriveStatus = "replayed" | "failed" | "unreadable" | "would-replay";

export interface RedriveResult {
  status: RedriveStatus;
  /** SQS message id, or `line <n>` of a local dead-letters file. */
  ref: string;
  /** The alert's id (`unknown` when the dead letter is not readable as an alert). */
  alertId: string;
  /** Why it still fails (or why it was dead-lettered, for a dry run). */
  reason?: string;
}

export interface RedriveSummary {
  /** The queue URL or the dead-letters file replayed. */
  source: string;
  dryRun: boolean;
  /** Dead letters looked at. */
  seen: number;
  /** Replayed and removed from the dead letters. */
  replayed: number;
  /** Replayed, failed again, kept. */
  failed: number;
  /** Not an alert this tool can replay, kept. */
  unreadable: number;
  results: RedriveResult[];
}

/** Totals of `results`. */
export function summarize(source: string, dryRun: boolean, results: RedriveResult[]): RedriveSummary {
  const count = (status: RedriveStatus) => results.filter((result) => result.status === status).length;
  return {
    source,
    dryRun,
    seen: results.length,
    replayed: count("replayed"),
    failed: count("failed"),
    unreadable: count("unreadable"),
    results,
  };
}

/** One line per dead letter, then the totals. */
export function formatSummary(summary: RedriveSummary): string {
  const lines = summary.results.map(
    (result) =>
      `${result.status.padEnd(12)} ${result.alertId}  (${result.ref})${result.reason ? `  ${result.reason}` : ""}`,
  );
  const kept = summary.seen - summary.replayed;
  lines.push(
    summary.dryRun
      ? `dry run: ${summary.seen} dead letter(s) in ${summary.source} would be replayed or looked at; nothing changed`
      : `${summary.replayed} replayed and removed, ${summary.failed} failed again, ${summary.unreadable} unreadable; ${kept} kept in ${summary.source}`,
  );
  return `${lines.join("\n")}\n`;
}
