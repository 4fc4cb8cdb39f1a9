/**
 * Each backend's handler factory with the local guard (SQLite, in memory here): an alert delivered twice is sent once,
 * and the retry after a partial failure reaches only the recipients the first attempt missed.
 */

import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  emailSecretSchema,
  httpSecretSchema,
  slackSecretSchema,
  smsSecretSchema,
} from "../../../../lambdas/contracts/backend-secrets.js";
import { createDeliverEmailHandler } from "../../../../lambdas/deliver-email/core.js";
import type { EmailMessage, EmailSender } from "../../../../lambdas/deliver-email/ses-email.js";
import { createDeliverHttpHandler } from "../../../../lambdas/deliver-http/core.js";
import { createDeliverLogHandler } from "../../../../lambdas/deliver-log/core.js";
import { createDeliverSlackHandler } from "../../../../lambdas/deliver-slack/core.js";
import { createDeliverSmsHandler } from "../../../../lambdas/deliver-sms/core.js";
import type { SmsSender } from "../../../../lambdas/deliver-sms/sns-sms.js";
import type { DeliveryGuard } from "../../../../lambdas/delivery/outcome.js";
import { staticSecretSource } from "../../../../lambdas/delivery/secret-source.js";
import { TransientDeliveryError } from "../../../../lambdas/runtime/errors.js";
import { sqliteDeliveryGuard } from "../../../../local/store/idempotency-store.js";
import { RelayStore } from "../../../../local/store/relay-store.js";
import {
  captureLogs,
  debugLogger,
  instantRetry,
  type LogCapture,
  lambdaContext,
  loadAlert,
  loadSnsEvent,
  type RecordedRequest,
  type Reply,
  snsEventFor,
  startServer,
  type TestServer,
} from "../helpers.js";

/** A sender that records every recipient it sends to and fails for those listed in `failing`. */
class RecordingSender implements EmailSender, SmsSender {
  readonly sent: string[] = [];
  readonly failing = new Set<string>();

  async send(messageOrNumber: EmailMessage | string): Promise<{ messageId?: string }> {
    const recipient = typeof messageOrNumber === "string" ? messageOrNumber : messageOrNumber.to;
    if (this.failing.has(recipient)) throw new TransientDeliveryError("throttled");
    this.sent.push(recipient);
    return { messageId: `m-${this.sent.length}` };
  }
}

describe("exactly-once delivery per backend and recipient", () => {
  let guard: DeliveryGuard;
  let logs: LogCapture;

  beforeEach(() => {
    guard = sqliteDeliveryGuard(new RelayStore());
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  it("e-mails each recipient once: a duplicate sends nothing, a retry only the missed address", async () => {
    const sender = new RecordingSender();
    const handler = createDeliverEmailHandler({
      secrets: staticSecretSource(
        emailSecretSchema,
        { to: ["alerts@example.com", "oncall@example.com"], adminTo: [] },
        "email test secret",
      ),
      sender,
      from: "relay@example.com",
      logger: debugLogger(),
      guard,
    });
    sender.failing.add("oncall@example.com");

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow(TransientDeliveryError);
    sender.failing.clear();
    await handler(loadSnsEvent(), lambdaContext());
    await handler(loadSnsEvent(), lambdaContext());

    expect(sender.sent).toEqual(["alerts@example.com", "oncall@example.com"]);
  });

  it("texts each number once: a duplicate sends nothing, a retry only the missed number", async () => {
    const sender = new RecordingSender();
    const handler = createDeliverSmsHandler({
      secrets: staticSecretSource(
        smsSecretSchema,
        { phoneNumbers: ["+33600000001", "+33600000002"], adminPhoneNumbers: [] },
        "sms test secret",
      ),
      sender,
      logger: debugLogger(),
      guard,
    });
    sender.failing.add("+33600000001");

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow(TransientDeliveryError);
    sender.failing.clear();
    await handler(loadSnsEvent(), lambdaContext());
    await handler(loadSnsEvent(), lambdaContext());

    expect(sender.sent).toEqual(["+33600000002", "+33600000001"]);
  });

  it("logs a duplicate's line again, unguarded: both lines carry the alert id, and no record is written", async () => {
    // The log backend is not in GUARDED_BACKENDS: a line written twice is harmless, so a duplicate
    // is no longer marked (it was, with a delivery record costing two writes per alert).
    const handler = createDeliverLogHandler({ logger: debugLogger() });

    await handler(loadSnsEvent(), lambdaContext());
    await handler(loadSnsEvent(), lambdaContext());

    const lines = logs.lines().filter((line) => line.message === "Alert delivered by log");
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.alertId)).toEqual([
      "651a7c3e9f2b4d0012ab34cd",
      "651a7c3e9f2b4d0012ab34cd",
    ]);
  });

  it("marks the outcome line of a delivery whose every send was already made as a duplicate", async () => {
    const sender = new RecordingSender();
    const handler = createDeliverSmsHandler({
      secrets: staticSecretSource(
        smsSecretSchema,
        { phoneNumbers: ["+33600000001"], adminPhoneNumbers: [] },
        "sms test secret",
      ),
      sender,
      logger: debugLogger(),
      guard,
    });

    await handler(loadSnsEvent(), lambdaContext());
    await handler(loadSnsEvent(), lambdaContext());

    const lines = logs.lines().filter((line) => line.message === "Alert delivered by sms");
    expect(sender.sent).toEqual(["+33600000001"]);
    expect(lines).toHaveLength(2);
    expect(lines[0]?.duplicate).toBeUndefined();
    expect(lines[1]).toMatchObject({ alertId: "651a7c3e9f2b4d0012ab34cd", duplicate: true });
  });

  describe("over HTTP", () => {
    let server: TestServer;
    let replies: (request: RecordedRequest) => Reply;

    beforeEach(async () => {
      replies = () => ({ status: 200, body: "ok" });
      server = await startServer((request) => replies(request));
    });
    afterEach(async () => {
      await server.close();
    });

    const paths = () => server.requests.map((request) => request.path.split("/")[2]).sort();

    it("posts to each Slack channel once: a retry re-posts only to the channel that failed", async () => {
      const handler = createDeliverSlackHandler({
        secrets: staticSecretSource(
          slackSecretSchema,
          {
            webhookUrl: `${server.origin}/services/alerts`,
            adminWebhookUrl: `${server.origin}/services/admin`,
          },
          "slack test secret",
        ),
        logger: debugLogger(),
        retry: instantRetry(1),
        guard,
      });
      const internal = snsEventFor(loadAlert("internal"));
      let adminDown = true;
      replies = (request) =>
        adminDown && request.path.endsWith("/admin")
          ? { status: 500, body: "down" }
          : { status: 200, body: "ok" };

      await expect(handler(internal, lambdaContext())).rejects.toThrow(TransientDeliveryError);
      adminDown = false;
      await handler(internal, lambdaContext());
      await handler(internal, lambdaContext());

      // alerts once; admin once refused, then once accepted.
      expect(paths()).toEqual(["admin", "admin", "alerts"]);
    });

    it("posts to each HTTP target once: a retry re-posts only to the target that failed", async () => {
      const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
      const handler = createDeliverHttpHandler({
        secrets: staticSecretSource(
          httpSecretSchema,
          {
            targets: [
              { url: `${server.origin}/hooks/a`, signingSecret },
              { url: `${server.origin}/hooks/b`, signingSecret },
            ],
          },
          "http test secret",
        ),
        logger: debugLogger(),
        timeoutMs: 2_000,
        retry: instantRetry(1),
        guard,
      });
      let bDown = true;
      replies = (request) =>
        bDown && request.path === "/hooks/b" ? { status: 503, body: "" } : { status: 204, body: "" };

      await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow(TransientDeliveryError);
      bDown = false;
      await handler(loadSnsEvent(), lambdaContext());
      await handler(loadSnsEvent(), lambdaContext());

      expect(paths()).toEqual(["a", "b", "b"]);
    });
  });
});
