/** What a redrive did with each dead letter, and the totals it prints. */

/**
 * `handed-back`: locally, given back to the relay's pending deliveries but not replayed yet (no
 * relay running, or still under way when the wait ended): the relay delivers it.
 */
export type RedriveStatus = "replayed" | "failed" | "unreadable" | "would-replay" | "handed-back";

export interface RedriveResult {
  status: RedriveStatus;
  /** SQS message id, or `dead letter <n>` of the local relay's database. */
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
  /** Locally: handed back to the relay, which has not replayed them yet. */
  handedBack: number;
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
    handedBack: count("handed-back"),
    results,
  };
}

/** One line per dead letter, then the totals. */
export function formatSummary(summary: RedriveSummary): string {
  const lines = summary.results.map(
    (result) =>
      `${result.status.padEnd(12)} ${result.alertId}  (${result.ref})${result.reason ? `  ${result.reason}` : ""}`,
  );
  const kept = summary.seen - summary.replayed - summary.handedBack;
  const handedBack = summary.handedBack > 0 ? `, ${summary.handedBack} handed back to the relay` : "";
  lines.push(
    summary.dryRun
      ? `dry run: ${summary.seen} dead letter(s) in ${summary.source} would be replayed or looked at; nothing changed`
      : `${summary.replayed} replayed and removed, ${summary.failed} failed again, ${summary.unreadable} unreadable${handedBack}; ${kept} kept in ${summary.source}`,
  );
  return `${lines.join("\n")}\n`;
}
