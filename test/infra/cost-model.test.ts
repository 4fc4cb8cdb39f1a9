/**
 * The cost model (bench/cost.ts) prices the stack it is given: here its counts are checked against
 * the stack synthesized from relay.config.example.json (every backend enabled), so a change to
 * the stack that the model does not follow fails here, not silently in the README's figure.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  IDEMPOTENCY_WRITES,
  LEDGER_WRITE_UNITS_PER_SETTLED_ENTRY,
  platformLogBytesPerInvocation,
  routeBatchAtRate,
  SQS_BATCH,
  STACK_MEMORY,
  STACK_SHAPE,
  WRITES_PER_SEND_RECORD,
} from "../../bench/cost.js";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { GUARDED_BACKENDS, MAX_BATCH_ENTRIES } from "../../lambdas/contracts/messages.js";
import { DAY_INDEXED_OUTCOMES, ledgerItem } from "../../lambdas/ledger/dynamodb-ledger.js";
import { LEDGER_OUTCOMES } from "../../lambdas/ledger/entry.js";
import { loadRelaySettings } from "../../lib/settings.js";
import { resourcesOfType, type Synthesized, synthesizeRelay, type TemplateResource } from "./synth.js";

interface FunctionProperties {
  MemorySize: number;
  Architectures: string[];
  TracingConfig?: { Mode: string };
  LoggingConfig?: { LogFormat?: string; SystemLogLevel?: string };
  Environment: { Variables: Record<string, unknown> };
}

interface GlobalSecondaryIndex {
  IndexName: string;
  KeySchema: { AttributeName: string; KeyType: string }[];
}

describe("the cost model's counts match the synthesized stack", () => {
  let synth: Synthesized;
  /** The relay's functions by name (POWERTOOLS_SERVICE_NAME), CDK's helper functions left out. */
  let functions: Map<string, FunctionProperties>;

  beforeAll(() => {
    synth = synthesizeRelay(loadRelaySettings("relay.config.example.json").settings);
    functions = new Map();
    for (const resource of Object.values(resourcesOfType(synth.template, "AWS::Lambda::Function"))) {
      const properties = resource.Properties as unknown as FunctionProperties;
      const name = properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME;
      if (typeof name === "string") functions.set(name, properties);
    }
  });

  it("has the functions the model invokes, on arm64, with the memory it bills", () => {
    expect([...functions.keys()].sort()).toEqual([...STACK_SHAPE.functions].sort());
    for (const [name, properties] of functions) {
      expect(properties.Architectures, name).toEqual(["arm64"]);
      const memory =
        name === "ingest"
          ? STACK_MEMORY.ingestMb
          : name === "route"
            ? STACK_MEMORY.routeMb
            : STACK_MEMORY.deliverMb;
      expect(properties.MemorySize, name).toBe(memory);
    }
  });

  it("traces no function, as the X-Ray line (listed apart) assumes", () => {
    expect(STACK_SHAPE.tracing).toBe("off");
    for (const [name, properties] of functions) expect(properties.TracingConfig, name).toBeUndefined();
  });

  it("logs JSON at the system log level the model prices Lambda's own lines at", () => {
    for (const [name, properties] of functions) {
      expect(properties.LoggingConfig, name).toMatchObject({
        LogFormat: STACK_SHAPE.loggingFormat,
        SystemLogLevel: STACK_SHAPE.systemLogLevel,
      });
    }
    expect(platformLogBytesPerInvocation(STACK_SHAPE.systemLogLevel)).toBe(0);
    expect(platformLogBytesPerInvocation("INFO")).toBeGreaterThan(0);
  });

  it("routes with the batch size, batching window and concurrency the model forms route batches from", () => {
    const mappings = Object.values(resourcesOfType(synth.template, "AWS::Lambda::EventSourceMapping"));
    const route = mappings.filter((mapping) => mapping.Properties.BatchSize === STACK_SHAPE.routeBatchSize);
    expect(route).toHaveLength(1);
    expect(route[0]?.Properties).toMatchObject({
      MaximumBatchingWindowInSeconds: STACK_SHAPE.routeMaxBatchingWindowSeconds,
      ScalingConfig: { MaximumConcurrency: STACK_SHAPE.routeMaxConcurrency },
    });
    // At 100 a second, five pollers each gather 20 within the one-second window.
    expect(routeBatchAtRate(100)).toBe(20);
    expect(routeBatchAtRate(1)).toBe(1);
    expect(routeBatchAtRate(10_000)).toBe(STACK_SHAPE.routeBatchSize);
    expect(SQS_BATCH).toBe(MAX_BATCH_ENTRIES);
  });

  it("gives the ledger one index, which no settled entry is written to (one write unit each)", () => {
    const tables = Object.values(resourcesOfType(synth.template, "AWS::DynamoDB::Table"));
    const indexed = tables.filter((table) => table.Properties.GlobalSecondaryIndexes !== undefined);
    expect(indexed).toHaveLength(1);
    const indexes = indexed[0]?.Properties.GlobalSecondaryIndexes as GlobalSecondaryIndex[];
    expect(indexes).toHaveLength(STACK_SHAPE.ledgerIndexes);
    const indexKeys = indexes.map(
      (index) => index.KeySchema.find((key) => key.KeyType === "HASH")?.AttributeName ?? "",
    );
    for (const outcome of LEDGER_OUTCOMES) {
      const item = ledgerItem({
        alertId: "651a7c3e9f2b4d0012ab34cd",
        eventId: "651a7c3e9f2b4d0012ab34cd",
        backend: "slack",
        destination: "alerts",
        outcome,
        attempt: 1,
        acceptedAt: "2026-12-02T07:00:00.000Z",
        recordedAt: "2026-12-02T07:00:01.000Z",
      });
      // A write unit for the table, and one for each index whose key the item carries.
      const writeUnits = 1 + indexKeys.filter((key) => key in item).length;
      expect(writeUnits, outcome).toBe(DAY_INDEXED_OUTCOMES.includes(outcome) ? 2 : 1);
      if (!DAY_INDEXED_OUTCOMES.includes(outcome))
        expect(writeUnits, outcome).toBe(LEDGER_WRITE_UNITS_PER_SETTLED_ENTRY);
    }
  });

  it("has the tables the model writes, billed on demand with point-in-time recovery", () => {
    const tables = Object.values(resourcesOfType(synth.template, "AWS::DynamoDB::Table"));
    expect(tables).toHaveLength(STACK_SHAPE.tables);
    for (const table of tables) {
      expect(table.Properties.BillingMode).toBe("PAY_PER_REQUEST");
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it("gives the idempotency table to exactly the backends the model writes send records for", () => {
    const guarded = [...functions]
      .filter(([, properties]) => ENV.idempotencyTableName in properties.Environment.Variables)
      .map(([name]) => name)
      .sort();
    expect(guarded).toEqual(GUARDED_BACKENDS.map((backend) => `deliver-${backend}`).sort());
    for (const backend of GUARDED_BACKENDS) expect(IDEMPOTENCY_WRITES[backend]).toBe(WRITES_PER_SEND_RECORD);
    expect(IDEMPOTENCY_WRITES.log).toBe(0);
  });

  it("asks KMS for keys only where the model counts KMS requests", () => {
    const kmsKeyed = (resources: Record<string, TemplateResource>) =>
      Object.values(resources).filter((resource) => resource.Properties.KmsMasterKeyId !== undefined).length;
    expect(kmsKeyed(resourcesOfType(synth.template, "AWS::SNS::Topic"))).toBe(STACK_SHAPE.kmsEncryptedTopics);
    expect(kmsKeyed(resourcesOfType(synth.template, "AWS::SQS::Queue"))).toBe(STACK_SHAPE.kmsEncryptedQueues);
  });
});
