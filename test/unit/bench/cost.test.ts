import { describe, expect, it } from "vitest";
import {
  batchWaves,
  type CostScenario,
  costPerMillionNotifications,
  gbSeconds,
  IDEMPOTENCY_WRITES,
  meteredUnits,
  periodicCalls,
  sqsRequestsFor,
  storedPerAlert,
  US_EAST_1_PRICES,
  xrayTraces,
} from "../../../bench/cost.js";

/** Round numbers, so each line can be worked out by hand. */
const scenario: CostScenario = {
  name: "hand-checked",
  notificationsPerRequest: 1,
  routeBatchSize: 1,
  notificationBytes: 1000,
  alertBytes: 2000,
  ingestMs: 10,
  routeMs: 10,
  deliverMs: { log: 100, email: 100, http: 100, sms: 100, slack: 100 },
  emailsPerAlert: 1,
  smsPerAlert: 1,
  idempotencyWritesPerAlert: 18,
  idempotencyRecordsPerAlert: 4,
  digestWritesPerAlert: 4,
  digestReadsPerAlert: 8,
  digestItemsPerAlert: 0,
  digestSqsRequestsPerAlert: 0,
  digestCloseInvocationsPerAlert: 0,
  ledgerWritesPerAlert: 10,
  ledgerReadsPerAlert: 0,
  ledgerEntriesPerAlert: 0,
  memory: { ingestMb: 512, routeMb: 512, deliverMb: 256 },
  platformLogBytesPerInvocation: 350,
  tracingActive: true,
  xrayTraces: 200_000,
  secretsManagerCalls: 20_000,
  kmsRequests: 10_000,
};

function line(breakdown: ReturnType<typeof costPerMillionNotifications>, item: string): number {
  const found = breakdown.lines.find((candidate) => candidate.item === item);
  if (!found) throw new Error(`no line ${item}`);
  return found.dollarsPerMillion;
}

describe("metering", () => {
  it("bills every started chunk, and at least one", () => {
    expect(meteredUnits(0, 65_536)).toBe(1);
    expect(meteredUnits(65_536, 65_536)).toBe(1);
    expect(meteredUnits(65_537, 65_536)).toBe(2);
  });

  it("counts SQS calls of at most ten messages, each billed per 64 KB chunk", () => {
    expect(sqsRequestsFor(25, 1000, US_EAST_1_PRICES)).toBe(3);
    expect(sqsRequestsFor(10, 10_000, US_EAST_1_PRICES)).toBe(2);
  });

  it("rounds Lambda duration up to the millisecond", () => {
    expect(gbSeconds(1024, 0.2)).toBe(0.001);
    expect(gbSeconds(512, 10)).toBe(0.005);
  });

  it("needs one wave of parallel batch calls up to a hundred messages", () => {
    expect(batchWaves(1)).toBe(1);
    expect(batchWaves(100)).toBe(1);
    expect(batchWaves(101)).toBe(2);
  });
});

describe("costPerMillionNotifications", () => {
  const breakdown = costPerMillionNotifications(scenario);

  it("prices each service line by hand-checkable arithmetic", () => {
    expect(line(breakdown, "API Gateway HTTP API")).toBeCloseTo(1.0, 6);
    // 1 M ingest + 1 M route + 5 M delivery invocations at $0.20 per million.
    expect(line(breakdown, "Lambda requests")).toBeCloseTo(1.4, 6);
    // 1 M × 0.5 GB × 0.010 s × $0.0000133334.
    expect(line(breakdown, "Lambda compute: ingest")).toBeCloseTo(0.066667, 6);
    expect(line(breakdown, "Lambda compute: route")).toBeCloseTo(0.066667, 6);
    // 5 M × 0.25 GB × 0.100 s × $0.0000133334.
    expect(line(breakdown, "Lambda compute: deliveries")).toBeCloseTo(1.666675, 6);
    // One send, one receive and one delete per notification at $0.40 per million.
    expect(line(breakdown, "SQS")).toBeCloseTo(1.2, 6);
    expect(line(breakdown, "SNS publishes")).toBeCloseTo(0.5, 6);
    expect(line(breakdown, "DynamoDB idempotency writes")).toBeCloseTo(11.25, 6);
    // 4 digest writes and 10 ledger write units at $0.625 per million.
    expect(line(breakdown, "DynamoDB digest window writes")).toBeCloseTo(2.5, 6);
    expect(line(breakdown, "DynamoDB delivery ledger writes")).toBeCloseTo(6.25, 6);
    // 8 reads per alert at $0.125 per million.
    expect(line(breakdown, "DynamoDB digest reads")).toBeCloseTo(1.0, 6);
    // 4 M records × 300 bytes = 1.2 GB, kept 14 of 30 days, at $0.25 + $0.20 per GB-month.
    expect(line(breakdown, "DynamoDB storage and point-in-time recovery")).toBeCloseTo(
      1.2 * (14 / 30) * 0.45,
      6,
    );
    // 20 k calls at $0.05 per 10 k; 10 k requests at $0.03 per 10 k; 200 k traces at $5 per million.
    expect(line(breakdown, "Secrets Manager calls")).toBeCloseTo(0.1, 6);
    expect(line(breakdown, "KMS requests")).toBeCloseTo(0.03, 6);
    expect(line(breakdown, "X-Ray traces")).toBeCloseTo(1.0, 6);
  });

  it("sums only the platform lines into the total and lists SES and SMS apart", () => {
    expect(breakdown.platformTotal).toBeCloseTo(
      17.150009 + 2.5 + 6.25 + 1.0 + 1.2 * (14 / 30) * 0.45 + 0.1 + 0.03 + 1.0,
      5,
    );
    expect(line(breakdown, "SES e-mail (per recipient)")).toBeCloseTo(100, 6);
    expect(line(breakdown, "SMS, US, before carrier fees (per number)")).toBeCloseTo(5810, 6);
  });

  it("lists X-Ray apart, out of the total, when tracing is off", () => {
    const untraced = costPerMillionNotifications({ ...scenario, tracingActive: false });
    const xray = untraced.lines.find((candidate) => candidate.item.startsWith("X-Ray"));
    expect(xray).toMatchObject({ inPlatformTotal: false });
    expect(xray?.dollarsPerMillion).toBeCloseTo(1.0, 6);
    expect(breakdown.platformTotal - untraced.platformTotal).toBeCloseTo(1.0, 6);
  });

  it("adds the digests' close messages to SQS and Lambda requests, and the ledger's entries to storage", () => {
    const withDigests = costPerMillionNotifications({
      ...scenario,
      digestSqsRequestsPerAlert: 0.003,
      digestCloseInvocationsPerAlert: 0.001,
      ledgerEntriesPerAlert: 5,
    });
    expect(line(withDigests, "SQS") - line(breakdown, "SQS")).toBeCloseTo(3_000 * 0.4e-6, 9);
    expect(line(withDigests, "Lambda requests") - line(breakdown, "Lambda requests")).toBeCloseTo(
      1_000 * 0.2e-6,
      9,
    );
    // 5 M entries × 350 bytes = 1.75 GB, kept 14 of 30 days.
    expect(
      line(withDigests, "DynamoDB storage and point-in-time recovery") -
        line(breakdown, "DynamoDB storage and point-in-time recovery"),
    ).toBeCloseTo(1.75 * (14 / 30) * 0.45, 6);
  });

  it("prices no CloudWatch Logs when no log bytes were measured", () => {
    expect(breakdown.lines.map((candidate) => candidate.item)).not.toContain("CloudWatch Logs ingestion");
  });

  it("prices log bytes, Lambda's own lines included, per GB ingested", () => {
    const logBytes = {
      ingest: 650,
      route: 650,
      deliver: { log: 650, email: 650, http: 650, sms: 650, slack: 650 },
    };
    const withLogs = costPerMillionNotifications({ ...scenario, logBytes });
    // 7 M invocations × (650 + 350) bytes, and 1 M access log lines of 300 bytes, at $0.50 per GiB.
    expect(line(withLogs, "CloudWatch Logs ingestion")).toBeCloseTo((7.3e9 / 1024 ** 3) * 0.5, 6);
    expect(withLogs.platformTotal - breakdown.platformTotal).toBeCloseTo((7.3e9 / 1024 ** 3) * 0.5, 6);
    // Without Lambda's own lines (system log level WARN): 7 M × 650 bytes and the access log.
    const withoutPlatformLines = costPerMillionNotifications({
      ...scenario,
      logBytes,
      platformLogBytesPerInvocation: 0,
    });
    expect(line(withoutPlatformLines, "CloudWatch Logs ingestion")).toBeCloseTo(
      (4.85e9 / 1024 ** 3) * 0.5,
      6,
    );
  });

  it("charges API Gateway per started 512 KB of a large request", () => {
    const large = costPerMillionNotifications({
      ...scenario,
      notificationsPerRequest: 1000,
      notificationBytes: 1500,
    });
    // 1000 requests per million notifications, each 1.5 MB = 3 metered requests.
    expect(line(large, "API Gateway HTTP API")).toBeCloseTo(0.003, 9);
  });

  it("spreads route invocations and SQS receives over the batch", () => {
    const batched = costPerMillionNotifications({
      ...scenario,
      notificationsPerRequest: 10,
      routeBatchSize: 25,
    });
    // Sends: 100 k calls; receives: 40 k batches × 3 calls; deletes: 40 k × 3.
    expect(line(batched, "SQS")).toBeCloseTo(((100_000 + 120_000 + 120_000) * 0.4) / 1_000_000, 9);
  });

  it("refuses an empty request or batch", () => {
    expect(() => costPerMillionNotifications({ ...scenario, routeBatchSize: 0 })).toThrow(RangeError);
  });
});

describe("what the guard and the digests store per alert", () => {
  it("writes one send record per guarded backend, none for log and none for the delivery itself", () => {
    expect(IDEMPOTENCY_WRITES).toEqual({ log: 0, email: 2, http: 2, sms: 2, slack: 2 });
    expect(storedPerAlert("alone")).toMatchObject({ idempotencyWrites: 8, idempotencyRecords: 4 });
  });

  it("prices a burst from each human backend's window of 1000: held alerts send nothing", () => {
    const burst = storedPerAlert("burst");
    // http's send record, and per window of slack and e-mail 3 alone + the digest, of SMS 1 + the digest.
    expect(burst.idempotencyWrites).toBeCloseTo(2 + (2 * 4 * 2 + 2 * 2) / 1000, 9);
    expect(burst.idempotencyRecords).toBeCloseTo(burst.idempotencyWrites / 2, 9);
    // Slack and e-mail: open (3 items) + 2 joins alone (2) + 997 held (2 items and a member put
    // alone), 2 units per item, 1 per member, + 2; SMS: open + 999 held + 2.
    expect(burst.digestWrites).toBeCloseTo((2 * (6 + 8 + 997 * 5 + 2) + (6 + 999 * 5 + 2)) / 1000, 9);
    // 2 eventually consistent reads per admit (1 unit), the close's window read, its 110-unit
    // Query and a read unit per member's admission.
    expect(burst.digestReads).toBeCloseTo((2 * (1000 + 1 + 110 + 997) + (1000 + 1 + 110 + 999)) / 1000, 9);
    expect(burst.digestItems).toBeCloseTo((2 * (1000 + 997 + 2) + (1000 + 999 + 2)) / 1000, 9);
    expect(burst.digestSqsRequests).toBeCloseTo((3 * 3) / 1000, 9);
    expect(burst.digestCloseInvocations).toBeCloseTo(3 / 1000, 9);
  });

  it("prices a quiet hour's alert renewing its group's window on each human backend, sent alone", () => {
    expect(storedPerAlert("alone")).toEqual({
      idempotencyWrites: 8,
      idempotencyRecords: 4,
      // Admission and window in one transaction, 2 units each, per human backend.
      digestWrites: 12,
      digestReads: 3,
      // Its admission: the window and pointer are its group's, renewed.
      digestItems: 3,
      digestSqsRequests: 0,
      digestCloseInvocations: 0,
    });
  });
});

describe("time-based charges", () => {
  it("records X-Ray's reservoir of 1 a second and 5% of the rest", () => {
    // 100 invocations a second for 10,000 s: 1 + 0.05 × 99 per second.
    expect(xrayTraces(1_000_000, 10_000)).toBeCloseTo(10_000 * (1 + 0.05 * 99), 6);
    expect(xrayTraces(5_000, 10_000)).toBeCloseTo(5_000, 6);
  });

  it("calls once per warm instance per period", () => {
    expect(periodicCalls(300, 10_000, 5)).toBe(5 * 34);
  });
});
