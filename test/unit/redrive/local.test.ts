import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { SNSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { slackSecretSchema } from "../../../lambdas/contracts/backend-secrets.js";
import { createDeliverSlackHandler } from "../../../lambdas/deliver-slack/core.js";
import { inMemoryDeliveryGuard } from "../../../lambdas/delivery/idempotency.js";
import { staticSecretSource } from "../../../lambdas/delivery/secret-source.js";
import { TransientDeliveryError } from "../../../lambdas/runtime/errors.js";
import { deadLettersFile, redriveLocal } from "../../../scripts/redrive/local.js";
import {
  captureLogs,
  debugLogger,
  instantRetry,
  type LogCapture,
  startServer,
  type TestServer,
} from "../delivery/helpers.js";

const FIXTURE = resolve(import.meta.dirname, "../../fixtures/redrive/slack-dead-letters.jsonl");
const SECURITY_EVENT_ID = "651a7c3e9f2b4d0012ab34cd";
const INTERNAL_ID = "651a91bb9f2b4d0012ab3700";

function alertIdOf(event: SNSEvent): string {
  return (JSON.parse(event.Records[0]?.Sns.Message ?? "{}") as { id: string }).id;
}

describe("redriving the local stack's dead letters", () => {
  let dir: string;
  let file: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "relay-redrive-"));
    mkdirSync(join(dir, "dead-letters"));
    file = deadLettersFile(join(dir, "dead-letters"), "slack");
    copyFileSync(FIXTURE, file);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = (): string[] => readFileSync(file, "utf8").split("\n").filter(Boolean);

  it("replays each dead letter through the handler and keeps only the lines that still fail", async () => {
    const handler = vi.fn(async (event: SNSEvent) => {
      if (alertIdOf(event) === INTERNAL_ID)
        throw new TransientDeliveryError("Slack webhook (admin) answered 503");
    });

    const summary = await redriveLocal({
      deadLettersDir: join(dir, "dead-letters"),
      backend: "slack",
      handler,
    });

    expect(handler.mock.calls.map(([event]) => alertIdOf(event))).toEqual([SECURITY_EVENT_ID, INTERNAL_ID]);
    expect(summary).toMatchObject({ seen: 3, replayed: 1, failed: 1, unreadable: 1 });
    const kept = lines();
    expect(kept).toHaveLength(2);
    expect(kept[0]).toBe("this line is not JSON");
    const stillFailing = JSON.parse(kept[1] ?? "{}") as {
      reason: string;
      attempts: number;
      payload: { message: string };
    };
    expect(stillFailing.reason).toBe("Slack webhook (admin) answered 503");
    expect(stillFailing.attempts).toBe(4);
    expect(JSON.parse(stillFailing.payload.message)).toMatchObject({ id: INTERNAL_ID });
  });

  it("hands the handler the SNS event the topic would have, with the message and its attributes", async () => {
    const handler = vi.fn(async (_event: SNSEvent) => undefined);

    await redriveLocal({ deadLettersDir: join(dir, "dead-letters"), backend: "slack", handler, max: 1 });

    const event = handler.mock.calls[0]?.[0];
    expect(event?.Records).toHaveLength(1);
    expect(event?.Records[0]?.Sns).toMatchObject({
      MessageId: "local-1",
      MessageAttributes: {
        severity: { Type: "String", Value: "high" },
        internal: { Type: "String", Value: "false" },
      },
    });
  });

  it("changes nothing on a dry run", async () => {
    const before = readFileSync(file, "utf8");
    const handler = vi.fn(async () => undefined);

    const summary = await redriveLocal({
      deadLettersDir: join(dir, "dead-letters"),
      backend: "slack",
      handler,
      dryRun: true,
    });

    expect(handler).not.toHaveBeenCalled();
    expect(readFileSync(file, "utf8")).toBe(before);
    expect(summary.results.map((result) => result.status)).toEqual([
      "would-replay",
      "unreadable",
      "would-replay",
    ]);
  });

  it("replays at most --max dead letters and leaves the rest untouched", async () => {
    const handler = vi.fn(async () => undefined);

    const summary = await redriveLocal({
      deadLettersDir: join(dir, "dead-letters"),
      backend: "slack",
      handler,
      max: 1,
    });

    expect(handler).toHaveBeenCalledOnce();
    expect(summary.seen).toBe(1);
    expect(lines()).toHaveLength(2);
  });

  it("keeps a dead letter npm start appends while the redrive runs", async () => {
    const appended = JSON.stringify({ source: "slack", reason: "new failure", attempts: 3, payload: {} });
    const handler = vi.fn(async () => {
      appendFileSync(file, `${appended}\n`);
    });

    await redriveLocal({ deadLettersDir: join(dir, "dead-letters"), backend: "slack", handler });

    expect(lines()).toEqual(["this line is not JSON", appended, appended]);
  });

  it("has nothing to do when the backend never dead-lettered anything", async () => {
    const handler = vi.fn(async () => undefined);

    const summary = await redriveLocal({
      deadLettersDir: join(dir, "dead-letters"),
      backend: "email",
      handler,
    });

    expect(summary).toMatchObject({ seen: 0, replayed: 0 });
    expect(handler).not.toHaveBeenCalled();
  });

  describe("through the real Slack handler", () => {
    let server: TestServer;
    let logs: LogCapture;

    beforeEach(async () => {
      server = await startServer(() => ({ status: 200, body: "ok" }));
      logs = captureLogs();
    });
    afterEach(async () => {
      logs.restore();
      await server.close();
    });

    it("posts each dead-lettered alert once the webhook works again, and a second redrive has nothing left", async () => {
      const handler = createDeliverSlackHandler({
        secrets: staticSecretSource(
          slackSecretSchema,
          { webhookUrl: `${server.origin}/services/alerts` },
          "slack test secret",
        ),
        logger: debugLogger(),
        retry: instantRetry(1),
        guard: inMemoryDeliveryGuard(),
      });

      const first = await redriveLocal({
        deadLettersDir: join(dir, "dead-letters"),
        backend: "slack",
        handler,
      });
      const second = await redriveLocal({
        deadLettersDir: join(dir, "dead-letters"),
        backend: "slack",
        handler,
      });

      expect(first).toMatchObject({ replayed: 2, unreadable: 1 });
      expect(server.requests).toHaveLength(2);
      expect(second).toMatchObject({ seen: 1, replayed: 0, unreadable: 1 });
    });
  });
});
