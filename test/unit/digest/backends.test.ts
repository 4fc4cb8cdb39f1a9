/**
 * The human backends with digests (lambdas/digest/admission.ts and consumer.ts): immediate and
 * held alerts, the close of a window through the backend's own queue, a redelivered close, a
 * destination gone from the secret, a failing digest send, rate limits waiting on the queue, and
 * `digest: false`. Real SQLite windows and idempotency records (in memory), real Slack posts to
 * a local server, SES and SNS through aws-sdk-client-mock; the queue records what it is asked.
 */
import { SESClient, SendEmailCommand } from "@aws-sdk/client-ses";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import {
  emailSecretSchema,
  type SlackSecret,
  slackSecretSchema,
  smsSecretSchema,
} from "../../../lambdas/contracts/backend-secrets.js";
import { createDeliverEmailHandler } from "../../../lambdas/deliver-email/core.js";
import { SesEmailSender } from "../../../lambdas/deliver-email/ses-email.js";
import { createDeliverSlackHandler } from "../../../lambdas/deliver-slack/core.js";
import { createSlackPoster } from "../../../lambdas/deliver-slack/slack.js";
import { createDeliverSmsHandler } from "../../../lambdas/deliver-sms/core.js";
import { SnsSmsSender } from "../../../lambdas/deliver-sms/sns-sms.js";
import type { DeliveryGuard } from "../../../lambdas/delivery/outcome.js";
import { type SecretSource, staticSecretSource } from "../../../lambdas/delivery/secret-source.js";
import type { DigestDeps } from "../../../lambdas/digest/admission.js";
import { DEFAULT_RATE_LIMIT_WAIT_SECONDS } from "../../../lambdas/digest/defaults.js";
import type { DigestPolicy, DigestQueue, DigestQueueMessage } from "../../../lambdas/digest/seams.js";
import { SqliteDigestWindowStore } from "../../../local/store/digest-windows.js";
import { sqliteDeliveryGuard } from "../../../local/store/idempotency-store.js";
import { SqliteLedger } from "../../../local/store/ledger-store.js";
import { RelayStore } from "../../../local/store/relay-store.js";
import { sqsEvent } from "../../aws-events.js";
import {
  captureLogs,
  debugLogger,
  instantRetry,
  type LogCapture,
  lambdaContext,
  loadAlert,
  type RecordedRequest,
  type Reply,
  snsEventFor,
  startServer,
  type TestServer,
} from "../delivery/helpers.js";

const POLICY: DigestPolicy = { immediate: 2, windowSeconds: 60 };
const T0 = Date.parse("2026-10-02T10:00:00Z");

/** A DigestQueue that records what it was asked, with when each message would become available. */
class RecordingQueue implements DigestQueue {
  readonly sent: { message: DigestQueueMessage; at: number }[] = [];
  async closeWindowAt(windowId: string, closesAt: number): Promise<void> {
    this.sent.push({ message: { action: "close-window", windowId }, at: closesAt });
  }
  async deliverLaterAt(alert: string, at: number, _now: number, deferrals?: number): Promise<void> {
    this.sent.push({ message: { action: "deliver-later", alert, ...(deferrals ? { deferrals } : {}) }, at });
  }
  /** Takes every message recorded so far, as the SQS event the backend's function would get. */
  drain(): SQSEvent {
    const messages = this.sent.splice(0);
    return sqsEvent(
      messages.map(({ message }, index) => ({
        MessageId: `m-${index}-${Math.random()}`,
        Body: JSON.stringify(message),
      })),
      "arn:aws:sqs:eu-west-1:123456789012:sqreen-relay-slack",
      "eu-west-1",
    );
  }
}

/** `count` alerts of one burst: the security-event fixture with distinct ids. */
function burst(count: number, base: Alert = loadAlert("security-event")): Alert[] {
  return Array.from({ length: count }, (_, index) => ({ ...base, id: `${base.id}-${index}` }));
}

describe("human backends with digests", () => {
  let store: RelayStore;
  let queue: RecordingQueue;
  let clock: number;
  let guard: DeliveryGuard;
  let logs: LogCapture;

  beforeEach(() => {
    store = new RelayStore();
    queue = new RecordingQueue();
    clock = T0;
    guard = sqliteDeliveryGuard(store);
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
    store.close();
  });

  function digests(policy: DigestPolicy | false = POLICY): DigestDeps {
    return { store: new SqliteDigestWindowStore(store), queue, policy, now: () => clock };
  }

  describe("Slack", () => {
    let server: TestServer;
    let replies: (request: RecordedRequest, index: number) => Reply;

    beforeEach(async () => {
      replies = () => ({ status: 200, body: "ok" });
      server = await startServer((request, index) => replies(request, index));
    });
    afterEach(async () => {
      await server.close();
    });

    const secret = (): SlackSecret => ({ webhookUrl: `${server.origin}/services/T/B/alerts` });
    const handler = (
      options: {
        policy?: DigestPolicy | false;
        secrets?: SecretSource<SlackSecret>;
        withDigests?: boolean;
      } = {},
    ) =>
      createDeliverSlackHandler({
        secrets: options.secrets ?? staticSecretSource(slackSecretSchema, secret(), "slack test secret"),
        poster: createSlackPoster({ timeoutMs: 2_000, retry: instantRetry() }),
        logger: debugLogger(),
        guard,
        ...(options.withDigests === false ? {} : { digests: digests(options.policy) }),
      });
    const texts = () => server.requests.map((request) => (JSON.parse(request.body) as { text: string }).text);

    it("posts every test notification alone: a test checks the channel, it is never digested", async () => {
      const deliver = handler();
      for (const alert of burst(5, loadAlert("test"))) await deliver(snsEventFor(alert), lambdaContext());
      expect(server.requests).toHaveLength(5);
      expect(queue.sent).toEqual([]);
    });

    it("posts the first `immediate` alerts alone, holds the rest, and schedules the close once", async () => {
      const deliver = handler();
      for (const alert of burst(5)) await deliver(snsEventFor(alert), lambdaContext());
      expect(server.requests).toHaveLength(2);
      expect(queue.sent).toEqual([
        { message: { action: "close-window", windowId: expect.any(String) }, at: T0 + 60_000 },
      ]);
      const lines = logs.lines().filter((line) => line.message === "Alert digested by slack");
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatchObject({ outcome: "digested", delivered: 0, digested: 1 });
    });

    it("sends the digest when the window closes, once however often the close is redelivered", async () => {
      const deliver = handler();
      for (const alert of burst(5)) await deliver(snsEventFor(alert), lambdaContext());
      const [close] = queue.sent;
      clock = T0 + 60_000;
      const event = queue.drain();
      expect(await deliver(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(await deliver(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(server.requests).toHaveLength(3);
      expect(texts()[2]).toContain("3 alerts");
      const digestLines = logs
        .lines()
        .filter((line) => String(line.message).startsWith("Digest delivered by slack"));
      expect(digestLines).toHaveLength(2);
      expect(digestLines[1]).toMatchObject({ duplicate: true, alerts: 3 });
      // The webhook URL is a credential: no log line names it.
      expect(JSON.stringify(logs.lines())).not.toContain("/services/T/B/alerts");
      expect(close).toBeDefined();
      // A new alert after the window opens a new one, and goes out at once.
      await deliver(snsEventFor({ ...loadAlert("security-event"), id: "after" }), lambdaContext());
      expect(server.requests).toHaveLength(4);
    });

    it("schedules a close that came early again, and sends nothing yet", async () => {
      const deliver = handler();
      for (const alert of burst(3)) await deliver(snsEventFor(alert), lambdaContext());
      clock = T0 + 30_000;
      expect(await deliver(queue.drain(), lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(server.requests).toHaveLength(2);
      expect(queue.sent).toEqual([
        { message: { action: "close-window", windowId: expect.any(String) }, at: T0 + 60_000 },
      ]);
    });

    it("skips, saying why, a digest whose destination is no longer in the secret", async () => {
      let current = secret();
      const secrets: SecretSource<SlackSecret> = { get: async () => current };
      const deliver = handler({ secrets });
      for (const alert of burst(3)) await deliver(snsEventFor(alert), lambdaContext());
      current = { webhookUrl: `${server.origin}/services/T/B/rotated` };
      clock = T0 + 60_000;
      expect(await deliver(queue.drain(), lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(server.requests).toHaveLength(2);
      expect(logs.lines()).toContainEqual(
        expect.objectContaining({
          message: "Digest skipped by slack",
          outcome: "skipped",
          reason: "the destination is no longer in the backend's secret",
        }),
      );
    });

    it("fails the record of a digest that could not be sent, and sends it once when retried", async () => {
      const deliver = handler();
      for (const alert of burst(4)) await deliver(snsEventFor(alert), lambdaContext());
      replies = () => ({ status: 500, body: "oops" });
      clock = T0 + 60_000;
      const event = queue.drain();
      const record = event.Records[0]?.messageId;
      expect(await deliver(event, lambdaContext())).toEqual({
        batchItemFailures: [{ itemIdentifier: record }],
      });
      replies = () => ({ status: 200, body: "ok" });
      const failedAttempts = server.requests.length;
      expect(await deliver(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(await deliver(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(texts().slice(failedAttempts)).toEqual([expect.stringContaining("2 alerts")]);
    });

    it("fails a record that is no queue message, and handles the others", async () => {
      const deliver = handler();
      const event = sqsEvent(
        [
          { MessageId: "bad", Body: '{"action":"explode"}' },
          { MessageId: "good", Body: JSON.stringify({ action: "close-window", windowId: "gone" }) },
        ],
        "arn:aws:sqs:eu-west-1:123456789012:q",
        "eu-west-1",
      );
      expect(await deliver(event, lambdaContext())).toEqual({
        batchItemFailures: [{ itemIdentifier: "bad" }],
      });
    });

    it("waits on the queue for Slack's Retry-After instead of failing, then posts once", async () => {
      const deliver = handler();
      replies = () => ({ status: 429, headers: { "retry-after": "30" }, body: "rate_limited" });
      await expect(
        deliver(snsEventFor(loadAlert("security-event")), lambdaContext()),
      ).resolves.toBeUndefined();
      expect(queue.sent).toEqual([
        { message: { action: "deliver-later", alert: expect.any(String), deferrals: 1 }, at: T0 + 30_000 },
      ]);
      expect(logs.lines()).toContainEqual(expect.objectContaining({ outcome: "deferred", waitSeconds: 30 }));
      replies = () => ({ status: 200, body: "ok" });
      clock = T0 + 30_000;
      const event = queue.drain();
      expect(await deliver(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      expect(await deliver(event, lambdaContext())).toEqual({ batchItemFailures: [] });
      // The refused post, then the one post of the redelivery (the second one sends nothing).
      expect(server.requests).toHaveLength(2);
      expect(server.requests[1]?.body).toContain("Attack tentative");
    });

    it("fails the delivery as before when the backend's queue refuses to keep the rate-limited alert", async () => {
      const deliver = handler();
      queue.deliverLaterAt = async () => {
        throw new Error("queue down");
      };
      replies = () => ({ status: 429, headers: { "retry-after": "30" }, body: "rate_limited" });
      await expect(deliver(snsEventFor(loadAlert("security-event")), lambdaContext())).rejects.toThrow(
        /status 429/,
      );
      expect(logs.lines()).toContainEqual(
        expect.objectContaining({
          outcome: "failed",
          reason: expect.stringContaining("waiting on the backend's queue failed too"),
        }),
      );
    });

    it("without digests, or with `digest: false`, sends every alert alone and fails on a 429 as before", async () => {
      for (const deliver of [handler({ withDigests: false }), handler({ policy: false })]) {
        server.requests.length = 0;
        for (const alert of burst(5, { ...loadAlert("security-event"), id: `off-${server.origin}` })) {
          await deliver(snsEventFor({ ...alert, id: `${alert.id}-${Math.random()}` }), lambdaContext());
        }
        expect(server.requests).toHaveLength(5);
        replies = () => ({ status: 429, headers: { "retry-after": "30" }, body: "rate_limited" });
        await expect(
          deliver(snsEventFor({ ...loadAlert("security-event"), id: `x-${Math.random()}` }), lambdaContext()),
        ).rejects.toThrow(/429/);
        replies = () => ({ status: 200, body: "ok" });
      }
      expect(queue.sent).toEqual([]);
    });
  });

  describe("e-mail and SMS", () => {
    const ses = mockClient(SESClient);
    const sns = mockClient(SNSClient);

    beforeEach(() => {
      ses.reset();
      sns.reset();
      ses.on(SendEmailCommand).resolves({ MessageId: "ses-1" });
      sns.on(PublishCommand).resolves({ MessageId: "sns-1" });
    });

    const email = () =>
      createDeliverEmailHandler({
        secrets: staticSecretSource(
          emailSecretSchema,
          {
            to: ["ops.team@example.com", "oncall.person@example.com"],
            adminTo: ["security.admin@example.com"],
          },
          "email test secret",
        ),
        sender: new SesEmailSender(new SESClient({ region: "eu-west-1", maxAttempts: 1 })),
        from: "alerts@relay.example.com",
        logger: debugLogger(),
        guard,
        digests: digests(),
      });

    it("records each alert's `digested` entry and the digest's own delivery in the ledger, under its window id", async () => {
      const ledger = new SqliteLedger(store);
      const deliver = createDeliverSmsHandler({
        secrets: staticSecretSource(smsSecretSchema, { phoneNumbers: ["+33612345678"] }, "sms test secret"),
        sender: new SnsSmsSender(new SNSClient({ region: "eu-west-1", maxAttempts: 1 })),
        logger: debugLogger(),
        guard,
        digests: digests({ immediate: 1, windowSeconds: 60 }),
        recording: { ledger },
      });
      const alerts = burst(3);
      for (const alert of alerts) await deliver(snsEventFor(alert), lambdaContext());
      const held = await ledger.find(alerts[2]?.id ?? "");
      expect(held.map((entry) => [entry.outcome, entry.destination])).toEqual([["digested", "+33*******78"]]);
      const windowId = held[0]?.digestId ?? "";
      clock = T0 + 60_000;
      await deliver(queue.drain(), lambdaContext());

      const digest = await ledger.find(windowId);
      expect(digest.map((entry) => [entry.outcome, entry.destination, entry.backend])).toEqual([
        ["delivered", "+33*******78", "sms"],
      ]);
      expect(JSON.stringify(digest)).not.toContain("+33612345678");
    });

    it("holds per recipient and e-mails each one digest with `N alerts` in the subject", async () => {
      const deliver = email();
      for (const alert of burst(6)) await deliver(snsEventFor(alert), lambdaContext());
      expect(ses.commandCalls(SendEmailCommand)).toHaveLength(4);
      expect(queue.sent.map(({ message }) => message.action)).toEqual(["close-window", "close-window"]);
      clock = T0 + 60_000;
      await deliver(queue.drain(), lambdaContext());
      const digestsSent = ses.commandCalls(SendEmailCommand).slice(4);
      expect(digestsSent.map((call) => call.args[0].input.Destination?.ToAddresses?.[0]).sort()).toEqual([
        "oncall.person@example.com",
        "ops.team@example.com",
      ]);
      for (const call of digestsSent) expect(call.args[0].input.Message?.Subject?.Data).toContain("4 alerts");
    });

    it("sends internal alerts' digests to the administrators too", async () => {
      const deliver = email();
      for (const alert of burst(3, loadAlert("internal"))) await deliver(snsEventFor(alert), lambdaContext());
      clock = T0 + 60_000;
      await deliver(queue.drain(), lambdaContext());
      // Two alone for each of the three recipients, then one digest each.
      const digestsSent = ses.commandCalls(SendEmailCommand).slice(6);
      expect(digestsSent).toHaveLength(3);
      expect(digestsSent.map((call) => call.args[0].input.Destination?.ToAddresses?.[0])).toContain(
        "security.admin@example.com",
      );
      for (const call of digestsSent)
        expect(call.args[0].input.Message?.Subject?.Data).toMatch(/^\[INTERNAL SECURITY ALERT\].*1 alert/);
    });

    it("waits on the queue when SES throttles, a minute when it does not say, and e-mails only who was missed", async () => {
      const deliver = email();
      const throttling = Object.assign(new Error("Maximum sending rate exceeded."), {
        name: "Throttling",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
      });
      ses
        .on(SendEmailCommand, { Destination: { ToAddresses: ["oncall.person@example.com"] } })
        .rejects(throttling);
      await deliver(snsEventFor(loadAlert("security-event")), lambdaContext());
      expect(queue.sent).toEqual([
        {
          message: { action: "deliver-later", alert: expect.any(String), deferrals: 1 },
          at: T0 + DEFAULT_RATE_LIMIT_WAIT_SECONDS * 1000,
        },
      ]);
      ses.reset();
      ses.on(SendEmailCommand).resolves({ MessageId: "ses-2" });
      await deliver(queue.drain(), lambdaContext());
      expect(
        ses.commandCalls(SendEmailCommand).map((call) => call.args[0].input.Destination?.ToAddresses),
      ).toEqual([["oncall.person@example.com"]]);
    });

    it("texts the first alert of a window, then one digest of the rest within one SMS", async () => {
      const deliver = createDeliverSmsHandler({
        secrets: staticSecretSource(smsSecretSchema, { phoneNumbers: ["+33612345678"] }, "sms test secret"),
        sender: new SnsSmsSender(new SNSClient({ region: "eu-west-1", maxAttempts: 1 })),
        logger: debugLogger(),
        guard,
        digests: digests({ immediate: 1, windowSeconds: 600 }),
      });
      for (const alert of burst(300)) await deliver(snsEventFor(alert), lambdaContext());
      expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
      clock = T0 + 600_000;
      await deliver(queue.drain(), lambdaContext());
      const calls = sns.commandCalls(PublishCommand);
      expect(calls).toHaveLength(2);
      expect(calls[1]?.args[0].input.Message).toMatch(/^Sqreen digest 299 alerts, highest HIGH/);
      expect(calls[1]?.args[0].input.Message?.length).toBeLessThanOrEqual(160);
    });
  });
});
