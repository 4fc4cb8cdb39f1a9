/**
 * The whole relay against moto: the real handler modules (lambdas/<function>/handler.ts, which
 * read their environment and build their SDK clients at import, exactly as in Lambda) chained
 * through moto's Secrets Manager, SQS, SNS and SES. Requests come from the Sqreen simulator's
 * builders; events are built from what moto's queues really hold.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetSendQuotaCommand, SESClient } from "@aws-sdk/client-ses";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, Context, SNSEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Alert } from "../../lambdas/contracts/alert.js";
import {
  ALERT_ATTRIBUTES,
  type Backend,
  MAX_MESSAGE_BYTES,
  NOTIFICATION_BYTES_ALWAYS_ACCEPTED,
  QUEUE_ATTRIBUTES,
} from "../../lambdas/contracts/messages.js";
import { parseRelaySettings } from "../../lib/settings.js";
import { buildSqreenRequest } from "../../scripts/sqreen/request.js";
import { findSample, generateNotifications, newRunId, sampleBody } from "../../scripts/sqreen/samples.js";
import { sqreenWireBytes, type WireValue } from "../../scripts/sqreen/wire.js";
import {
  LONE_SURROGATE,
  MANY_IPS,
  securityEventWithId,
  securityEventWithIps,
} from "../edge-notifications.js";
import { SAMPLES_DIR } from "../samples.js";
import { lambdaContext, type SnsEnvelope, snsEvent, sqsEvent, webhookEvent } from "./events.js";
import { type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import { drainEnvelopes, drainQueue } from "./queues.js";
import { createRelayResources, type RelayResources } from "./resources.js";

const shared = JSON.parse(readFileSync(path.join(SAMPLES_DIR, "SIGNATURES.json"), "utf8")) as {
  secret: string;
  own_application_id_for_internal_alert_samples: string;
};
const oldSecret = shared.secret;
const newSecret = "rotated-secret-of-the-same-application";

const settings = parseRelaySettings({
  ownApplicationIds: [shared.own_application_id_for_internal_alert_samples],
  backends: {
    email: { enabled: true, from: "relay@example.com" },
    sms: { enabled: true },
  },
});

interface HttpAnswer {
  statusCode?: number;
  body?: string;
}
type IngestHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpAnswer>;
type RouteHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type DeliverHandler = (event: SNSEvent, context: Context) => Promise<void>;

/** Imports a handler module with `env` set, as Lambda starts a function with its environment. */
async function importHandler<T>(modulePath: string, env: Record<string, string> = {}): Promise<T> {
  const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    const module = (await import(modulePath)) as { handler: T };
    return module.handler;
  } finally {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** The wire bytes of a built-in simulator sample. */
function sampleBytes(name: string): Buffer {
  const sample = findSample(name);
  if (!sample) throw new Error(`No built-in sample ${name}`);
  return sampleBody(sample);
}

describe("the relay end to end against moto", () => {
  let moto: MotoServer;
  let restoreEnvironment: () => void;
  let resources: RelayResources;
  let sqs: SQSClient;
  let ingest: IngestHandler;
  let route: RouteHandler;
  const deliver = {} as Record<"log" | "email" | "sms", DeliverHandler>;

  beforeAll(async () => {
    moto = await startMoto();
    restoreEnvironment = useMotoEnvironment(moto);
    // Powertools loggers read this at import: keep the run's output to real problems.
    process.env.POWERTOOLS_LOG_LEVEL = "ERROR";
    resources = await createRelayResources(settings, { secrets: { signingKeys: { keys: [oldSecret] } } });
    sqs = new SQSClient({});
    const env = resources.functionEnvironments;
    ingest = await importHandler<IngestHandler>("../../lambdas/ingest/handler.js", env.ingest);
    route = await importHandler<RouteHandler>("../../lambdas/route/handler.js", env.route);
    deliver.log = await importHandler<DeliverHandler>(
      "../../lambdas/deliver-log/handler.js",
      env["deliver-log"],
    );
    deliver.email = await importHandler<DeliverHandler>(
      "../../lambdas/deliver-email/handler.js",
      env["deliver-email"],
    );
    deliver.sms = await importHandler<DeliverHandler>(
      "../../lambdas/deliver-sms/handler.js",
      env["deliver-sms"],
    );
  });

  afterAll(async () => {
    sqs?.destroy();
    delete process.env.POWERTOOLS_LOG_LEVEL;
    restoreEnvironment?.();
    await moto?.stop();
  });

  async function post(body: Uint8Array, secret: string, tamper = false): Promise<HttpAnswer> {
    const request = buildSqreenRequest(body, secret, { tamper });
    return ingest(webhookEvent(request.body, request.headers), lambdaContext("ingest"));
  }

  async function queuedCount(queueUrl: string): Promise<number> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages);
  }

  it("carries a signed mixed batch from the webhook to the log, e-mail and SMS backends", async () => {
    // Ingest: verified with the key from Secrets Manager, one SQS message per notification.
    const answer = await post(sampleBytes("v2-mixed-batch"), oldSecret);
    expect(answer.statusCode).toBe(200);
    const accepted = JSON.parse(answer.body ?? "{}") as { accepted: number; ids: string[] };
    expect(accepted.accepted).toBe(4);
    const queued = await drainQueue(sqs, resources.ingestQueue.url);
    expect(queued).toHaveLength(4);
    expect(
      queued.map((message) => message.MessageAttributes?.[QUEUE_ATTRIBUTES.eventId]?.StringValue).sort(),
    ).toEqual([...accepted.ids].sort());

    // Route: the SQS event Lambda would build, published to the topic, no failed record.
    const routed = await route(sqsEvent(queued, resources.ingestQueue.arn), lambdaContext("route"));
    expect(routed.batchItemFailures).toEqual([]);
    const received = {} as Record<"log" | "email" | "sms", SnsEnvelope[]>;
    for (const backend of ["log", "email", "sms"] as const) {
      received[backend] = await drainEnvelopes(sqs, resources.backends[backend]?.queue.url ?? "");
    }
    const alertIds = (envelopes: SnsEnvelope[]) =>
      envelopes.map((envelope) => (JSON.parse(envelope.Message) as { id: string }).id).sort();
    expect(alertIds(received.log)).toEqual([...accepted.ids].sort());
    expect(alertIds(received.email)).toEqual([...accepted.ids].sort());
    // SMS (minimum severity high) gets the three alerts about the relay's own application at least.
    const attribute = (envelope: SnsEnvelope, name: string) => envelope.MessageAttributes?.[name]?.Value;
    const smsExpected = received.log.filter(
      (envelope) =>
        attribute(envelope, ALERT_ATTRIBUTES.internal) === "true" ||
        ["high", "critical"].includes(attribute(envelope, ALERT_ATTRIBUTES.severity) ?? ""),
    );
    expect(
      received.log.filter((envelope) => attribute(envelope, ALERT_ATTRIBUTES.internal) === "true"),
    ).toHaveLength(3);
    expect(alertIds(received.sms)).toEqual(alertIds(smsExpected));

    // Deliver: every backend function takes the SNS event built from its envelope.
    const ses = new SESClient({});
    const before = (await ses.send(new GetSendQuotaCommand({}))).SentLast24Hours ?? 0;
    for (const backend of ["log", "email", "sms"] as const) {
      const subscriptionArn = resources.backends[backend as Backend]?.subscriptionArn ?? "";
      for (const envelope of received[backend]) {
        await expect(
          deliver[backend](snsEvent(envelope, subscriptionArn), lambdaContext(`deliver-${backend}`)),
        ).resolves.toBeUndefined();
      }
    }
    const after = (await ses.send(new GetSendQuotaCommand({}))).SentLast24Hours ?? 0;
    ses.destroy();
    // One e-mail per recipient: alerts@ for all four, admin@ too for the three internal ones.
    expect(after - before).toBe(7);
  });

  it("accepts a request signed with a key added to the secret after the keys were cached", async () => {
    const secrets = new SecretsManagerClient({});
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: resources.signingKeysSecret.arn,
        SecretString: JSON.stringify({ keys: [oldSecret, newSecret] }),
      }),
    );
    secrets.destroy();

    const answer = await post(sampleBytes("v1-test"), newSecret);

    expect(answer.statusCode).toBe(200);
    expect(await drainQueue(sqs, resources.ingestQueue.url)).toHaveLength(1);
  });

  it("answers 401 to a tampered signature and enqueues nothing", async () => {
    const answer = await post(sampleBytes("v2-security-event"), oldSecret, true);

    expect(answer.statusCode).toBe(401);
    expect(await queuedCount(resources.ingestQueue.url)).toBe(0);
  });

  /** A v2 security event whose JSON is `bytes` long, padded in its description. */
  function notificationOfSize(bytes: number): { [key: string]: WireValue } {
    const build = (description: string) => ({
      message_id: null,
      api_version: "2",
      date_created: "2026-10-02T08:15:00.104233+00:00",
      message_type: "security_event",
      retry_count: 0,
      message: {
        risk_coefficient: 75,
        event_id: `size-limit-${bytes}`,
        application_id: "64b7f0c2e4a1d9001f3c5a88",
        environment: "production",
        humanized_description: description,
      },
    });
    return build("x".repeat(bytes - Buffer.byteLength(JSON.stringify(build("")))));
  }

  it("carries a notification of the size always accepted through SQS and SNS whole", async () => {
    const notification = notificationOfSize(NOTIFICATION_BYTES_ALWAYS_ACCEPTED - 16);

    const answer = await post(sqreenWireBytes([notification]), oldSecret);

    expect(answer.statusCode).toBe(200);
    const queued = await drainQueue(sqs, resources.ingestQueue.url);
    expect(queued).toHaveLength(1);
    const routed = await route(sqsEvent(queued, resources.ingestQueue.arn), lambdaContext("route"));
    expect(routed.batchItemFailures).toEqual([]);
    const [envelope] = await drainEnvelopes(sqs, resources.backends.log?.queue.url ?? "");
    const alert = JSON.parse(envelope?.Message ?? "{}") as { id: string; original: unknown };
    expect(alert.id).toBe(`size-limit-${NOTIFICATION_BYTES_ALWAYS_ACCEPTED - 16}`);
    expect(alert.original).toEqual(notification);
  });

  it("refuses a notification that cannot fit in a queue message with 413 and enqueues nothing", async () => {
    const notification = notificationOfSize(MAX_MESSAGE_BYTES + 1);

    const answer = await post(sqreenWireBytes([notification]), oldSecret);

    expect(answer.statusCode).toBe(413);
    expect(JSON.parse(answer.body ?? "{}")).toMatchObject({ error: "notification_too_large" });
    expect(await queuedCount(resources.ingestQueue.url)).toBe(0);
  });

  /**
   * Posts the notifications, routes what the ingest queue holds and delivers what reaches the log
   * backend's queue through deliver-log: the alerts, once each is delivered.
   */
  async function carry(
    notifications: WireValue[],
  ): Promise<{ ids: string[]; queuedIds: string[]; alerts: Alert[]; bytes: number[] }> {
    const answer = await post(sqreenWireBytes(notifications), oldSecret);
    expect(answer.statusCode).toBe(200);
    const queued = await drainQueue(sqs, resources.ingestQueue.url);
    expect(queued).toHaveLength(notifications.length);
    const routed = await route(sqsEvent(queued, resources.ingestQueue.arn), lambdaContext("route"));
    expect(routed.batchItemFailures).toEqual([]);
    const envelopes = await drainEnvelopes(sqs, resources.backends.log?.queue.url ?? "");
    for (const envelope of envelopes) {
      await expect(
        deliver.log(
          snsEvent(envelope, resources.backends.log?.subscriptionArn ?? ""),
          lambdaContext("deliver-log"),
        ),
      ).resolves.toBeUndefined();
    }
    return {
      ids: (JSON.parse(answer.body ?? "{}") as { ids: string[] }).ids,
      queuedIds: queued.map(
        (message) => message.MessageAttributes?.[QUEUE_ATTRIBUTES.eventId]?.StringValue ?? "",
      ),
      alerts: envelopes.map((envelope) => JSON.parse(envelope.Message) as Alert),
      bytes: envelopes.map((envelope) => Buffer.byteLength(envelope.Message, "utf8")),
    };
  }

  it(`carries a 176 KB notification naming ${MANY_IPS} IPs, its Alert under 256 KiB with the IPs bounded and counted`, async () => {
    const notification = securityEventWithIps();

    const { alerts, bytes } = await carry([notification]);

    expect(alerts).toHaveLength(1);
    expect(bytes[0]).toBeLessThan(MAX_MESSAGE_BYTES);
    expect(alerts[0]?.ips).toHaveLength(50);
    expect(alerts[0]?.ipsOmitted).toBe(MANY_IPS - 50);
    expect(alerts[0]?.original).toEqual(notification);
  });

  // moto accepts an SQS entry over 256 KiB (a 140 KB id copied into an attribute next to the
  // body), which AWS refuses; here the raw id used to fail at route instead (its Alert carried it
  // twice, over SNS's limit). test/unit/ingest/travel.test.ts checks the 256 KiB entry limit.
  it("carries a 140 KB event_id, its identity bounded in the attributes and whole in the body", async () => {
    const eventId = "e".repeat(140_000);

    const { ids, queuedIds, alerts } = await carry([securityEventWithId(eventId)]);

    expect(ids[0]).toMatch(/^e{64}…sha256-[0-9a-f]{32}$/);
    expect(queuedIds).toEqual(ids);
    expect(alerts.map((alert) => alert.id)).toEqual(ids);
    expect(alerts[0]?.original).toMatchObject({ message: { event_id: eventId } });
  });

  // moto answered SendMessageBatch with a 500 for a lone surrogate in an attribute value, so the
  // relay answered 503 and Sqreen would have retried the batch forever; AWS refuses it too.
  it("carries an event_id holding a lone UTF-16 surrogate", async () => {
    const eventId = `evt-${LONE_SURROGATE}-2026`;

    const { ids, queuedIds, alerts } = await carry([securityEventWithId(eventId)]);

    expect(ids[0]).toMatch(/^evt-\uFFFD-2026…sha256-[0-9a-f]{32}$/);
    expect(queuedIds).toEqual(ids);
    expect(alerts.map((alert) => alert.id)).toEqual(ids);
    expect(alerts[0]?.original).toMatchObject({ message: { event_id: eventId } });
  });

  it("enqueues all 1000 notifications of a maximal request", async () => {
    const body = sqreenWireBytes(generateNotifications(1000, { runId: newRunId() }));

    const answer = await post(body, oldSecret);

    expect(answer.statusCode).toBe(200);
    expect((JSON.parse(answer.body ?? "{}") as { accepted: number }).accepted).toBe(1000);
    expect(await queuedCount(resources.ingestQueue.url)).toBe(1000);
  });
});
