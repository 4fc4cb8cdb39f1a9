/** Arrangements for the digest tests: entries and summaries. */
import { type DigestSummary, digestGroup, summarizeWindow } from "../../../lambdas/digest/rules.js";
import type { DigestEntry } from "../../../lambdas/digest/seams.js";
import { loadAlert } from "../delivery/helpers.js";

/** A held alert's entry. */
export function entry(overrides: Partial<DigestEntry> = {}): DigestEntry {
  return {
    alertId: "a1",
    severity: "low",
    kind: "security_event",
    category: "sql_injection",
    ips: [{ address: "198.51.100.23", country: "DEU" }],
    at: "2026-10-02T10:29:00.000Z",
    link: "https://my.sqreen.com/application/x/events/1",
    ...overrides,
  };
}

/** The summary of a Slack window of `entries`, its group optionally changed. */
export function summary(
  entries: DigestEntry[],
  group: Partial<ReturnType<typeof digestGroup>> = {},
): DigestSummary {
  return summarizeWindow({
    group: { ...digestGroup("slack", "https://hooks.slack.com/x", loadAlert("security-event")), ...group },
    entries,
    sentAlone: 3,
    openedAt: 0,
    closesAt: 60_000,
  });
}
