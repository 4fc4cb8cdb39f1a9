/**
 * The relay's filter policies against a real SNS implementation: every backend subscribed with
 * `filterPolicyFor(its filter)`, alerts published with every combination of attributes, and each
 * backend's queue holding exactly the alerts the routing rules (restated here, independently of
 * the code under test) send it.
 */
import {
  GetSubscriptionAttributesCommand,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  SNSClient,
} from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALERT_ATTRIBUTES, BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import { parseRelaySettings } from "../../lib/settings.js";
import type { SnsEnvelope } from "./events.js";
import { type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import { drainEnvelopes } from "./queues.js";
import { createRelayResources, type RelayResources } from "./resources.js";

const settings = parseRelaySettings({
  ownApplicationIds: ["64b7f0c2e4a1d9001f3c5a77"],
  backends: {
    log: { enabled: true },
    email: { enabled: true, from: "relay@example.com" },
    http: { enabled: true, filter: { types: ["security_event", "account_takeover"] } },
    sms: { enabled: true, filter: { minSeverity: "high" } },
    slack: { enabled: true, filter: { environments: ["production"] } },
  },
});

interface PublishedAlert {
  id: string;
  severity: "low" | "high" | "critical";
  internal: boolean;
  environment: "production" | "staging";
  type: "security_event" | "pulse" | "test";
}

const combinations: PublishedAlert[] = [];
for (const severity of ["low", "high", "critical"] as const)
  for (const internal of [false, true])
    for (const environment of ["production", "staging"] as const)
      for (const type of ["security_event", "pulse", "test"] as const)
        combinations.push({
          id: `${severity}-${internal}-${environment}-${type}`,
          severity,
          internal,
          environment,
          type,
        });

/** The routing rules of the settings above, as a reader of the README would apply them. */
function expectedBackends(alert: PublishedAlert): Backend[] {
  // Internal alerts and test notifications reach every backend whatever its filter.
  if (alert.internal || alert.type === "test") return [...BACKENDS];
  const receives: Record<Backend, boolean> = {
    log: true,
    email: true,
    http: alert.type === "security_event",
    sms: alert.severity === "high" || alert.severity === "critical",
    slack: alert.environment === "production",
  };
  return BACKENDS.filter((backend) => receives[backend]);
}

function entryFor(alert: PublishedAlert): PublishBatchRequestEntry {
  const attribute = (value: string) => ({ DataType: "String", StringValue: value });
  return {
    Id: alert.id,
    Message: JSON.stringify({ id: alert.id }),
    MessageAttributes: {
      [ALERT_ATTRIBUTES.type]: attribute(alert.type),
      [ALERT_ATTRIBUTES.kind]: attribute(alert.type === "pulse" ? "incident" : alert.type),
      [ALERT_ATTRIBUTES.severity]: attribute(alert.severity),
      [ALERT_ATTRIBUTES.internal]: attribute(String(alert.internal)),
      [ALERT_ATTRIBUTES.environment]: attribute(alert.environment),
      [ALERT_ATTRIBUTES.application]: attribute(
        alert.internal ? "64b7f0c2e4a1d9001f3c5a77" : "64b7f0c2e4a1d9001f3c5a88",
      ),
    },
  };
}

describe("alert routing through SNS filter policies (moto)", () => {
  let moto: MotoServer;
  let restoreEnvironment: () => void;
  let resources: RelayResources;
  let sns: SNSClient;
  let sqs: SQSClient;
  const received = new Map<Backend, SnsEnvelope[]>();

  beforeAll(async () => {
    moto = await startMoto();
    restoreEnvironment = useMotoEnvironment(moto);
    resources = await createRelayResources(settings, { secrets: { signingKeys: { keys: ["k"] } } });
    sns = new SNSClient({});
    sqs = new SQSClient({});

    for (let start = 0; start < combinations.length; start += 10) {
      const entries = combinations.slice(start, start + 10).map(entryFor);
      const result = await sns.send(
        new PublishBatchCommand({ TopicArn: resources.alertsTopicArn, PublishBatchRequestEntries: entries }),
      );
      expect(result.Failed ?? []).toEqual([]);
    }
    for (const backend of BACKENDS) {
      const queue = resources.backends[backend]?.queue;
      if (!queue) throw new Error(`No queue for ${backend}`);
      received.set(backend, await drainEnvelopes(sqs, queue.url));
    }
  });

  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    restoreEnvironment?.();
    await moto?.stop();
  });

  it("puts filterPolicyFor's policy, in message-attribute scope, on every backend's subscription", async () => {
    for (const backend of BACKENDS) {
      const subscription = resources.backends[backend];
      const { Attributes } = await sns.send(
        new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription?.subscriptionArn }),
      );

      expect(JSON.parse(Attributes?.FilterPolicy ?? "{}")).toEqual(subscription?.filterPolicy);
      expect(Attributes?.RawMessageDelivery).toBe("false");
    }
  });

  it.each(BACKENDS)("delivers to %s exactly the alerts its filter lets through, once each", (backend) => {
    const expected = combinations
      .filter((alert) => expectedBackends(alert).includes(backend))
      .map((a) => a.id);

    const ids = (received.get(backend) ?? []).map(
      (envelope) => (JSON.parse(envelope.Message) as { id: string }).id,
    );

    expect([...ids].sort()).toEqual([...expected].sort());
  });

  it("delivers every internal alert to every backend, whatever its filter", () => {
    const internal = combinations.filter((alert) => alert.internal).map((alert) => alert.id);

    for (const backend of BACKENDS) {
      const ids = (received.get(backend) ?? []).map(
        (envelope) => (JSON.parse(envelope.Message) as { id: string }).id,
      );
      expect(ids).toEqual(expect.arrayContaining(internal));
    }
  });

  it("hands each backend the SNS envelope an SNS→Lambda event carries, attributes included", () => {
    const envelope = received
      .get("sms")
      ?.find((candidate) => candidate.Message.includes("critical-false-staging-pulse"));

    expect(envelope).toMatchObject({
      Type: "Notification",
      TopicArn: resources.alertsTopicArn,
      MessageAttributes: {
        [ALERT_ATTRIBUTES.severity]: { Type: "String", Value: "critical" },
        [ALERT_ATTRIBUTES.internal]: { Type: "String", Value: "false" },
        [ALERT_ATTRIBUTES.environment]: { Type: "String", Value: "staging" },
        [ALERT_ATTRIBUTES.type]: { Type: "String", Value: "pulse" },
      },
    });
  });
});
