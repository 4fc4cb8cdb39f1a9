/**
 * The AWS side of digests (issue 15): each human backend with digests has its own queue, consumed
 * by its own function, and the windows live in one digest table; what each function may do with
 * them, and what it is told, is exactly what the store and the queue need.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import { DIGEST_TABLE } from "../../lambdas/digest/dynamodb-window-store.js";
import { HUMAN_BACKENDS } from "../../lambdas/digest/seams.js";
import {
  type DeliveryBackend,
  DIGEST_MAX_RECEIVE_COUNT,
  DIGEST_TABLE_ACTIONS,
} from "../../lib/constructs/delivery-backend.js";
import type { RelayFunction } from "../../lib/constructs/relay-function.js";
import { loadRelaySettings, parseRelaySettings, type RelaySettings } from "../../lib/settings.js";
import {
  actionsOf,
  environmentOf,
  resourcesOfType,
  type Synthesized,
  statementsAllowing,
  statementsOfRole,
  synthesizeRelay,
  type TemplateResource,
} from "./synth.js";

const ref = (logicalId: string) => ({ Ref: logicalId });
const arnOf = (logicalId: string) => ({ "Fn::GetAtt": [logicalId, "Arn"] });

describe("digests in the relay stack synthesized from relay.config.example.json", () => {
  let settings: RelaySettings;
  let synth: Synthesized;
  let functions: Record<string, TemplateResource>;
  const backend = (name: Backend): DeliveryBackend => {
    const found = synth.stack.backends.find((candidate) => candidate.backend === name);
    if (found === undefined) throw new Error(`backend ${name} is not in the stack`);
    return found;
  };
  const roleOf = (fn: RelayFunction): string => synth.logicalId(fn.role);
  const digestQueueOf = (name: Backend) => {
    const queue = backend(name).digestQueue;
    if (queue === undefined) throw new Error(`${name} has no digest queue`);
    return queue;
  };

  beforeAll(() => {
    settings = loadRelaySettings("relay.config.example.json").settings;
    synth = synthesizeRelay(settings);
    functions = resourcesOfType(synth.template, "AWS::Lambda::Function");
  });

  it("keeps the windows in an on-demand table keyed by pk and sk, with TTL, encryption and point-in-time recovery", () => {
    const table = synth.stack.digestTable;
    expect(table).toBeDefined();
    synth.template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: {
        KeySchema: [
          { AttributeName: DIGEST_TABLE.partitionKey, KeyType: "HASH" },
          { AttributeName: DIGEST_TABLE.sortKey, KeyType: "RANGE" },
        ],
        BillingMode: "PAY_PER_REQUEST",
        TimeToLiveSpecification: { AttributeName: DIGEST_TABLE.timeToLiveAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  it("gives the machine channels (log, HTTP) no digest queue", () => {
    expect(backend("log").digestQueue).toBeUndefined();
    expect(backend("http").digestQueue).toBeUndefined();
  });

  describe.each(HUMAN_BACKENDS)("deliver-%s", (name) => {
    it("has its own queue that sets a message aside in its own dead-letter queue after as many attempts as a delivery", () => {
      const queue = resourcesOfType(synth.template, "AWS::SQS::Queue")[synth.logicalId(digestQueueOf(name))];
      const deadLetterQueue = backend(name).digestDeadLetterQueue;
      expect(deadLetterQueue).toBeDefined();
      expect(queue?.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: arnOf(synth.logicalId(deadLetterQueue as never)),
        maxReceiveCount: DIGEST_MAX_RECEIVE_COUNT,
      });
      expect(DIGEST_MAX_RECEIVE_COUNT).toBe(3);
    });

    it("keeps a message invisible at least six times the function's timeout", () => {
      const queue = resourcesOfType(synth.template, "AWS::SQS::Queue")[synth.logicalId(digestQueueOf(name))];
      const fn = functions[synth.logicalId(backend(name).handler.function)];
      expect(queue?.Properties.VisibilityTimeout as number).toBeGreaterThanOrEqual(
        6 * (fn?.Properties.Timeout as number),
      );
    });

    it("is fed by its queue in small batches that report partial failures", () => {
      const mappings = Object.values(
        resourcesOfType(synth.template, "AWS::Lambda::EventSourceMapping"),
      ).filter(
        (mapping) =>
          JSON.stringify(mapping.Properties.FunctionName) ===
          JSON.stringify(ref(synth.logicalId(backend(name).handler.function))),
      );
      expect(mappings.map((mapping) => mapping.Properties.EventSourceArn)).toEqual([
        arnOf(synth.logicalId(digestQueueOf(name))),
      ]);
      expect(mappings[0]?.Properties.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
      expect(mappings[0]?.Properties.BatchSize as number).toBeLessThanOrEqual(10);
    });

    it("may send to its own queue and to no other (besides its on-failure destination)", () => {
      const sends = statementsAllowing(synth.template, roleOf(backend(name).handler), "sqs:SendMessage");
      const targets = sends.map((statement) => JSON.stringify(statement.Resource)).sort();
      expect(targets).toEqual(
        [
          arnOf(synth.logicalId(digestQueueOf(name))),
          arnOf(synth.logicalId(backend(name).deliveryDeadLetterQueue)),
        ]
          .map((arn) => JSON.stringify(arn))
          .sort(),
      );
    });

    it("may use the digest table with the store's actions only: no delete, no scan", () => {
      const tableArn = arnOf(synth.logicalId(synth.stack.digestTable as never));
      const onTable = statementsOfRole(synth.template, roleOf(backend(name).handler)).filter(
        (statement) => JSON.stringify(statement.Resource) === JSON.stringify(tableArn),
      );
      expect(onTable.flatMap(actionsOf).sort()).toEqual([...DIGEST_TABLE_ACTIONS].sort());
    });

    it("is told the table, its queue and its policy, as the settings say", () => {
      const policy = settings.backends[name].digest;
      if (policy === false) throw new Error("the example enables digests");
      expect(environmentOf(functions[synth.logicalId(backend(name).handler.function)])).toMatchObject({
        [ENV.digestTableName]: ref(synth.logicalId(synth.stack.digestTable as never)),
        [ENV.digestQueueUrl]: ref(synth.logicalId(digestQueueOf(name))),
        [ENV.digestImmediate]: String(policy.immediate),
        [ENV.digestWindowSeconds]: String(policy.windowSeconds),
      });
    });
  });

  it("lets no other function use the digest table or send to, or read, a digest queue", () => {
    const tableId = synth.logicalId(synth.stack.digestTable as never);
    const others = [
      synth.stack.ingest,
      synth.stack.route,
      ...BACKENDS.filter((name) => !(HUMAN_BACKENDS as readonly string[]).includes(name)).map(
        (name) => backend(name).handler,
      ),
    ];
    for (const fn of others) {
      const statements = JSON.stringify(statementsOfRole(synth.template, roleOf(fn)));
      expect(statements).not.toContain(`"${tableId}"`);
      for (const name of HUMAN_BACKENDS)
        expect(statements).not.toContain(`"${synth.logicalId(digestQueueOf(name))}"`);
    }
    // Nor does one human backend touch another's queue.
    for (const name of HUMAN_BACKENDS) {
      const statements = JSON.stringify(statementsOfRole(synth.template, roleOf(backend(name).handler)));
      for (const other of HUMAN_BACKENDS.filter((candidate) => candidate !== name))
        expect(statements).not.toContain(`"${synth.logicalId(digestQueueOf(other))}"`);
    }
  });
});

describe("digests switched off", () => {
  it("give a backend with `digest: false` no queue, no variables and no grant on the table", () => {
    const settings = parseRelaySettings({
      backends: { slack: { enabled: true, digest: false }, sms: { enabled: true } },
    });
    const { stack, template, logicalId } = synthesizeRelay(settings);
    const slack = stack.backends.find((candidate) => candidate.backend === "slack");
    const sms = stack.backends.find((candidate) => candidate.backend === "sms");

    expect(slack?.digestQueue).toBeUndefined();
    expect(sms?.digestQueue).toBeDefined();
    const slackFunction = resourcesOfType(template, "AWS::Lambda::Function")[
      logicalId(slack?.handler.function as never)
    ];
    expect(Object.keys(environmentOf(slackFunction)).filter((key) => key.startsWith("DIGEST_"))).toEqual([]);
    expect(JSON.stringify(statementsOfRole(template, logicalId(slack?.handler.role as never)))).not.toContain(
      logicalId(stack.digestTable as never),
    );
  });

  it("create no digest table when no human backend groups bursts", () => {
    const settings = parseRelaySettings({
      backends: { email: { enabled: true, from: "a@example.com", digest: false } },
    });
    const { stack, template, logicalId } = synthesizeRelay(settings);

    expect(stack.digestTable).toBeUndefined();
    // The idempotency records and the delivery ledger only.
    expect(Object.keys(resourcesOfType(template, "AWS::DynamoDB::Table")).sort()).toEqual(
      [logicalId(stack.idempotencyTable), logicalId(stack.ledgerTable)].sort(),
    );
  });
});
