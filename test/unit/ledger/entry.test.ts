import { describe, expect, it } from "vitest";
import {
  deadLetteredEntry,
  entriesForFailure,
  entriesForOutcome,
  type LedgerEntry,
  ledgerSubject,
  ledgerText,
  MAX_LEDGER_TEXT,
  redrivenEntry,
  subjectOfMessage,
  WHOLE_DELIVERY,
} from "../../../lambdas/ledger/entry.js";
import { loadAlert } from "../delivery/helpers.js";

const AT = "2026-10-02T09:02:00.000Z";
const hostile = loadAlert("hostile");
const subject = ledgerSubject(hostile, "slack");

/** What no entry may hold in the clear: addresses, numbers, URL paths, the alert's text. */
const CLEAR_TEXT = [
  "secops@example.com",
  "+33612345678",
  "/hooks/path-kept-out-of-the-ledger",
  "?token=placeholder",
  "evil.example",
  "pwned",
];

function expectNothingInTheClear(entries: readonly LedgerEntry[]): void {
  const stored = entries.flatMap((entry) => Object.values(entry).map(String)).join("\n");
  for (const text of CLEAR_TEXT) expect(stored).not.toContain(text);
}

describe("ledger entries", () => {
  it("are keyed by the alert id and its event id, with the time the relay accepted it", () => {
    const [entry] = entriesForOutcome(subject, { status: "delivered", delivered: 1 }, 1, AT);

    expect(entry).toEqual({
      alertId: hostile.id,
      eventId: hostile.id,
      backend: "slack",
      destination: WHOLE_DELIVERY,
      outcome: "delivered",
      attempt: 1,
      acceptedAt: hostile.receivedAt,
      recordedAt: AT,
    });
  });

  it("record one entry per destination a delivery names, a replayed delivery as duplicates", () => {
    const outcome = {
      status: "delivered" as const,
      delivered: 2,
      destinations: [
        { destination: "s***@example.com", status: "delivered" as const },
        { destination: "o***@example.com", status: "duplicate" as const },
      ],
    };

    expect(entriesForOutcome(subject, outcome, 2, AT).map((e) => [e.destination, e.outcome])).toEqual([
      ["s***@example.com", "delivered"],
      ["o***@example.com", "duplicate"],
    ]);
    const replayed = entriesForOutcome(subject, { ...outcome, details: { duplicate: true } }, 3, AT);
    expect(replayed.map((e) => e.outcome)).toEqual(["duplicate", "duplicate"]);
  });

  it("record a digested alert with its digest and a skipped one with why", () => {
    const [digested] = entriesForOutcome(
      subject,
      {
        status: "digested",
        delivered: 0,
        destinations: [{ destination: "alerts", status: "digested", digestId: "w-1" }],
      },
      1,
      AT,
    );
    const [skipped] = entriesForOutcome(
      subject,
      { status: "skipped", delivered: 0, reason: "administrators only" },
      1,
      AT,
    );

    expect(digested).toMatchObject({ outcome: "digested", digestId: "w-1", destination: "alerts" });
    expect(skipped).toMatchObject({
      outcome: "skipped",
      reason: "administrators only",
      destination: WHOLE_DELIVERY,
    });
  });

  it("record a failure per destination with its attempt and reason, or the whole delivery's", () => {
    const perDestination = entriesForFailure(
      subject,
      {
        message: "HTTP delivery failed for 1 of 2 targets",
        destinations: [
          { destination: "https://a.example", status: "delivered" },
          {
            destination: "https://b.example",
            status: "failed",
            reason: "HTTP target https://b.example answered 500",
          },
        ],
      },
      2,
      AT,
    );
    const whole = entriesForFailure(subject, { message: "Slack secret not configured" }, 1, AT);

    expect(perDestination.map((e) => [e.destination, e.outcome, e.attempt, e.reason])).toEqual([
      ["https://a.example", "delivered", 2, undefined],
      ["https://b.example", "failed", 2, "HTTP target https://b.example answered 500"],
    ]);
    expect(whole).toEqual([
      expect.objectContaining({ destination: WHOLE_DELIVERY, outcome: "failed", attempt: 1 }),
    ]);
  });

  it("never hold an address, a number, a URL's path or the alert's text, whatever a reason quotes", () => {
    const reason =
      "posting to https://receiver.example.com/hooks/path-kept-out-of-the-ledger?token=placeholder for secops@example.com and +33612345678 failed";
    const entries = [
      ...entriesForFailure(subject, { message: reason }, 1, AT),
      ...entriesForFailure(
        subject,
        { message: reason, destinations: [{ destination: "secops@example.com", status: "failed", reason }] },
        2,
        AT,
      ),
      deadLetteredEntry(subject, reason, AT),
      // The log backend's outcome carries the whole alert record in its details: none of it is kept.
      ...entriesForOutcome(subject, { status: "delivered", delivered: 1, details: { ...hostile } }, 1, AT),
    ];

    expectNothingInTheClear(entries);
    expect(entries[0]?.reason).toContain("https://receiver.example.com");
    expect(entries[0]?.reason).toContain("s***@example.com");
  });

  it("bound every text and replace control characters", () => {
    const text = ledgerText(`line one\nline two\u0007${"x".repeat(1000)}`);

    expect(text.length).toBe(MAX_LEDGER_TEXT);
    expect(text).not.toContain("\n");
    expect(text).not.toContain("\u0007");
  });

  it("of a dead letter or a redrive are about the whole delivery, read from the alert message it holds", () => {
    const fromMessage = subjectOfMessage(JSON.stringify(hostile), "email");

    expect(fromMessage).toEqual({ ...subject, backend: "email" });
    expect(subjectOfMessage("not json", "email")).toBeUndefined();
    expect(subjectOfMessage(JSON.stringify({ text: "no id" }), "email")).toBeUndefined();
    expect(redrivenEntry(subject, AT)).toMatchObject({
      outcome: "redriven",
      destination: WHOLE_DELIVERY,
      attempt: 0,
    });
  });
});
