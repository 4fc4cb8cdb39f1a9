/**
 * The cost model (bench/cost.ts) prices the stack it is given: here its counts are checked against
 * the stack synthesized from relay.config.example.json (every backend enabled), so a change to
 * the stack that the model does not follow fails here, not silently in the README's figure.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  IDEMPOTENCY_WRITES,
  SQS_BATCH,
  STACK_MEMORY,
  STACK_SHAPE,
  WRITES_PER_SEND_RECORD,
} from "../../bench/cost.js";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { GUARDED_BACKENDS, MAX_BATCH_ENTRIES } from "../../lambdas/contracts/messages.js";
import { loadRelaySettings } from "../../lib/settings.js";
import { resourcesOfType, type Synthesized, synthesizeRelay, type TemplateResource } from "./synth.js";

interface FunctionProperties {
  MemorySize: number;
  Architectures: string[];
  TracingConfig?: { Mode: string };
  Environment: { Variables: Record<string, unknown> };
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

  it("traces every function actively, as the X-Ray line assumes", () => {
    for (const [name, properties] of functions) {
      expect(properties.TracingConfig?.Mode, name).toBe(STACK_SHAPE.tracing);
    }
  });

  it("routes in batches of the size the model spreads route invocations over", () => {
    const mappings = Object.values(resourcesOfType(synth.template, "AWS::Lambda::EventSourceMapping"));
    expect(mappings.map((mapping) => mapping.Properties.BatchSize)).toContain(STACK_SHAPE.routeBatchSize);
    expect(SQS_BATCH).toBe(MAX_BATCH_ENTRIES);
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
