import { describe, expect, it } from "vitest";
import {
  batchWaves,
  type CostScenario,
  costPerMillionNotifications,
  gbSeconds,
  meteredUnits,
  sqsRequestsFor,
  US_EAST_1_PRICES,
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
  digestWritesPerAlert: 4,
  ledgerWriteUnitsPerAlert: 15,
  ledgerReadUnitsPerAlert: 2.5,
  memory: { ingestMb: 512, routeMb: 512, deliverMb: 256 },
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
    // 4 digest writes at $0.625 per million; 15 ledger write units (5 entries × the table and 2
    // indexes) and 2.5 read units per alert.
    expect(line(breakdown, "DynamoDB digest window writes")).toBeCloseTo(2.5, 6);
    expect(line(breakdown, "DynamoDB ledger writes")).toBeCloseTo(9.375, 6);
    expect(line(breakdown, "DynamoDB ledger reads (attempt counts)")).toBeCloseTo(0.3125, 6);
  });

  it("sums only the platform lines into the total and lists SES and SMS apart", () => {
    expect(breakdown.platformTotal).toBeCloseTo(26.837509 + 2.5, 5);
    expect(line(breakdown, "SES e-mail (per recipient)")).toBeCloseTo(100, 6);
    expect(line(breakdown, "SMS, US, before carrier fees (per number)")).toBeCloseTo(5810, 6);
  });

  it("prices no CloudWatch Logs when no log bytes were measured", () => {
    expect(breakdown.lines.map((candidate) => candidate.item)).not.toContain("CloudWatch Logs ingestion");
  });

  it("prices log bytes, Lambda's own lines included, per GB ingested", () => {
    const withLogs = costPerMillionNotifications({
      ...scenario,
      logBytes: {
        ingest: 650,
        route: 650,
        deliver: { log: 650, email: 650, http: 650, sms: 650, slack: 650 },
      },
    });
    // 7 M invocations × (650 + 350) bytes = 7e9 bytes at $0.50 per GiB.
    expect(line(withLogs, "CloudWatch Logs ingestion")).toBeCloseTo((7e9 / 1024 ** 3) * 0.5, 6);
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
