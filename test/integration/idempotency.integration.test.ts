/**
 * Exactly-once delivery against moto's DynamoDB: the deliver-email handler module (its
 * environment names the idempotency table, its clients find moto through AWS_ENDPOINT_URL) sends
 * an alert that arrives twice only once, and the guard's conditional writes keep their meaning on
 * a real DynamoDB protocol (a duplicate under way is refused, a failure leaves no record).
 */
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetSendQuotaCommand, SESClient } from "@aws-sdk/client-ses";
import type { Context, SNSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbDeliveryGuard, IDEMPOTENCY_EXPIRY_SECONDS } from "../../lambdas/delivery/idempotency.js";
import {
  type DeliveryGuard,
  type DeliveryOutcome,
  REPLAYED_SEND,
  type SendOnce,
} from "../../lambdas/delivery/outcome.js";
import { TransientDeliveryError } from "../../lambdas/runtime/errors.js";
import { parseRelaySettings } from "../../lib/settings.js";
import { loadAlert, snsEventFor } from "../unit/delivery/helpers.js";
import { lambdaContext } from "./events.js";
import { type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import { createRelayResources, type RelayResources } from "./resources.js";

const settings = parseRelaySettings({
  backends: { email: { enabled: true, from: "relay@example.com" } },
});

type DeliverHandler = (event: SNSEvent, context: Context) => Promise<void>;

describe("idempotent delivery against moto's DynamoDB", () => {
  let moto: MotoServer;
  let restoreEnvironment: () => void;
  let resources: RelayResources;
  let dynamoDb: DynamoDBClient;
  let deliverEmail: DeliverHandler;

  beforeAll(async () => {
    moto = await startMoto();
    restoreEnvironment = useMotoEnvironment(moto);
    process.env.POWERTOOLS_LOG_LEVEL = "ERROR";
    resources = await createRelayResources(settings, {
      secrets: {
        signingKeys: { keys: ["unused"] },
        email: { to: ["alerts@example.com", "oncall@example.com"], adminTo: [] },
      },
    });
    dynamoDb = new DynamoDBClient({});
    const env = resources.functionEnvironments["deliver-email"] ?? {};
    Object.assign(process.env, env);
    try {
      ({ handler: deliverEmail } = (await import("../../lambdas/deliver-email/handler.js")) as {
        handler: DeliverHandler;
      });
    } finally {
      for (const name of Object.keys(env)) delete process.env[name];
    }
  });

  afterAll(async () => {
    dynamoDb?.destroy();
    delete process.env.POWERTOOLS_LOG_LEVEL;
    restoreEnvironment?.();
    await moto?.stop();
  });

  async function sentSoFar(): Promise<number> {
    const ses = new SESClient({});
    try {
      return (await ses.send(new GetSendQuotaCommand({}))).SentLast24Hours ?? 0;
    } finally {
      ses.destroy();
    }
  }

  async function records(): Promise<Record<string, { S?: string; N?: string }>[]> {
    const { Items } = await dynamoDb.send(new ScanCommand({ TableName: resources.idempotencyTable.name }));
    return (Items ?? []) as Record<string, { S?: string; N?: string }>[];
  }

  it("sends an alert that arrives twice once per recipient, and records it for 14 days", async () => {
    const event = snsEventFor(loadAlert("security-event"));
    const before = await sentSoFar();

    await deliverEmail(event, lambdaContext("deliver-email"));
    await deliverEmail(event, lambdaContext("deliver-email"));

    expect((await sentSoFar()) - before).toBe(2);
    const stored = await records();
    // One record per recipient, all completed; none for the delivery itself (lambdas/delivery/idempotency.ts).
    expect(stored).toHaveLength(2);
    expect(stored.map((item) => item.status?.S)).toEqual(["COMPLETED", "COMPLETED"]);
    const expiration = Number(stored[0]?.expiration?.N);
    expect(expiration).toBeGreaterThan(Date.now() / 1000 + IDEMPOTENCY_EXPIRY_SECONDS - 3600);
    expect(expiration).toBeLessThanOrEqual(Date.now() / 1000 + IDEMPOTENCY_EXPIRY_SECONDS + 60);
    // Keys are hashes and outcomes hold masked addresses only: no address reaches the table.
    expect(JSON.stringify(stored)).not.toMatch(/alerts@|oncall@/);
  });

  describe("the guard's conditional writes", () => {
    let guard: DeliveryGuard;
    const outcome: DeliveryOutcome = { status: "delivered", delivered: 1 };
    /** A delivery of one send through `once`: the guard records sends, not deliveries. */
    const oneSend =
      (send: () => Promise<DeliveryOutcome>) =>
      async (once?: SendOnce): Promise<DeliveryOutcome> => {
        if (!once) throw new Error("the guard handed the delivery no `once`");
        return once("#alerts", send);
      };

    beforeAll(() => {
      guard = dynamoDbDeliveryGuard({ tableName: resources.idempotencyTable.name, client: dynamoDb });
    });

    it("refuses a duplicate while the first send is under way, then answers it from the record", async () => {
      let finish: (value: DeliveryOutcome) => void = () => undefined;
      const first = guard(
        ["slack", "concurrent"],
        oneSend(
          () =>
            new Promise<DeliveryOutcome>((resolve) => {
              finish = resolve;
            }),
        ),
        lambdaContext("deliver-slack"),
      );
      await expect.poll(async () => (await records()).length).toBeGreaterThan(2);

      await expect(
        guard(
          ["slack", "concurrent"],
          oneSend(async () => outcome),
          lambdaContext("deliver-slack"),
        ),
      ).rejects.toThrow(TransientDeliveryError);
      finish(outcome);
      await first;
      const duplicate = await guard(
        ["slack", "concurrent"],
        oneSend(async () => outcome),
        lambdaContext("deliver-slack"),
      );

      expect(duplicate).toEqual({ ...outcome, [REPLAYED_SEND]: true, details: { duplicate: true } });
    });

    it("leaves no record of a send that failed, so the retry runs it", async () => {
      const count = (await records()).length;

      await expect(
        guard(
          ["sms", "failing"],
          oneSend(async () => {
            throw new TransientDeliveryError("SNS throttled");
          }),
          lambdaContext("deliver-sms"),
        ),
      ).rejects.toThrow("SNS throttled");

      expect(await records()).toHaveLength(count);
      await expect(
        guard(
          ["sms", "failing"],
          oneSend(async () => outcome),
          lambdaContext("deliver-sms"),
        ),
      ).resolves.toEqual(outcome);
    });
  });
});
