import { describe, expect, it } from "vitest";
import { messageJson } from "../../../lambdas/contracts/messages.js";
import {
  type IngestLogger,
  type IngestRequest,
  ingestRequest,
  ingestVerifiedRequest,
} from "../../../lambdas/ingest/core.js";
import { signBody } from "../../../lambdas/ingest/signature.js";
import { type SigningKeyStore, StaticSigningKeyStore } from "../../../lambdas/ingest/signing-keys.js";
import type { NotificationQueue, QueuedNotification } from "../../../lambdas/ingest/sqs-queue.js";
import { SAMPLE_SECRET, sampleBytes, sampleNotifications, sampleSignature } from "./fixtures.js";

/** An in-memory queue: what the core hands over, with no AWS involved. */
class RecordingQueue implements NotificationQueue {
  readonly received: QueuedNotification[] = [];
  async enqueue(notifications: readonly QueuedNotification[]): Promise<void> {
    this.received.push(...notifications);
  }
}

function request(overrides: Partial<IngestRequest> = {}): IngestRequest {
  return {
    method: "POST",
    path: "/v1/webhook",
    headers: { "x-sqreen-integrity": sampleSignature("v2-mixed-batch.json") },
    body: sampleBytes("v2-mixed-batch.json"),
    requestId: "req-core",
    receivedAt: "2026-10-02T10:30:00.000Z",
    ...overrides,
  };
}

describe("ingestRequest", () => {
  it("hands every notification to the queue with its identity, type, version and original JSON", async () => {
    const queue = new RecordingQueue();
    const notifications = sampleNotifications("v2-mixed-batch.json");

    const answer = await ingestRequest(request(), {
      keys: new StaticSigningKeyStore([SAMPLE_SECRET]),
      queue,
      maxBodyBytes: 10_000,
    });

    expect(answer.statusCode).toBe(200);
    expect(queue.received.map((item) => [item.type, item.apiVersion])).toEqual([
      ["security_event", "2"],
      ["account_takeover", "2"],
      ["security_response", "2"],
      ["custom_detection", "2"],
    ]);
    expect(queue.received.map((item) => JSON.parse(item.body))).toEqual(notifications);
    expect(queue.received.every((item) => item.requestId === "req-core")).toBe(true);
    expect(JSON.parse(answer.body).ids).toEqual(queue.received.map((item) => item.eventId));
  });

  it("answers 503 queue_unavailable when the queue throws anything", async () => {
    const failing: NotificationQueue = {
      enqueue: async () => {
        throw new Error("in-process queue is full");
      },
    };

    const answer = await ingestRequest(request(), {
      keys: new StaticSigningKeyStore([SAMPLE_SECRET]),
      queue: failing,
      maxBodyBytes: 10_000,
    });

    expect(answer.statusCode).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({
      error: "queue_unavailable",
      message: "Temporarily unavailable, retry later",
    });
  });

  it("asks the key store for a refresh only when no key matched", async () => {
    const calls: (boolean | undefined)[] = [];
    const keys: SigningKeyStore = {
      getKeys: async (options) => {
        calls.push(options?.forceRefresh);
        return calls.length === 1 ? ["old-secret"] : ["old-secret", SAMPLE_SECRET];
      },
    };

    const answer = await ingestRequest(request(), {
      keys,
      queue: new RecordingQueue(),
      maxBodyBytes: 10_000,
    });

    expect(answer.statusCode).toBe(200);
    expect(calls).toEqual([undefined, true]);
  });

  it("compares the method case-insensitively and the path exactly", async () => {
    const deps = {
      keys: new StaticSigningKeyStore([SAMPLE_SECRET]),
      queue: new RecordingQueue(),
      maxBodyBytes: 10_000,
    };

    expect((await ingestRequest(request({ method: "post" }), deps)).statusCode).toBe(200);
    expect((await ingestRequest(request({ path: "/v1/webhook/" }), deps)).statusCode).toBe(404);
  });

  it("verifies against the exact bytes received, not a re-serialization", async () => {
    const compact = Buffer.from(JSON.stringify(sampleNotifications("v2-test.json")));
    const deps = {
      keys: new StaticSigningKeyStore([SAMPLE_SECRET]),
      queue: new RecordingQueue(),
      maxBodyBytes: 10_000,
    };

    const withSampleSignature = await ingestRequest(
      request({ body: compact, headers: { "x-sqreen-integrity": sampleSignature("v2-test.json") } }),
      deps,
    );
    const withOwnSignature = await ingestRequest(
      request({ body: compact, headers: { "x-sqreen-integrity": signBody(compact, SAMPLE_SECRET) } }),
      deps,
    );

    expect(withSampleSignature.statusCode).toBe(401);
    expect(withOwnSignature.statusCode).toBe(200);
  });
});

/** The lines a logger was given, level and fields. */
function recordingLogger(): IngestLogger & { lines: Array<[string, string, Record<string, unknown>]> } {
  const lines: Array<[string, string, Record<string, unknown>]> = [];
  const record =
    (level: string) =>
    (message: unknown, ...fields: unknown[]) => {
      lines.push([level, String(message), (fields[0] ?? {}) as Record<string, unknown>]);
    };
  return { lines, info: record("info"), warn: record("warn"), error: record("error") };
}

describe("ingestVerifiedRequest (a body its transport verified)", () => {
  const verified = (body: Uint8Array) => ({
    body,
    requestId: "req-verified",
    receivedAt: "2026-10-02T10:30:00.000Z",
  });

  it("answers and enqueues exactly what ingestRequest does for the same signed request", async () => {
    const checked = new RecordingQueue();
    const direct = new RecordingQueue();

    const answer = await ingestRequest(
      { ...request(), requestId: "req-verified" },
      { keys: new StaticSigningKeyStore([SAMPLE_SECRET]), queue: checked, maxBodyBytes: 10_000 },
    );
    const verifiedAnswer = await ingestVerifiedRequest(verified(sampleBytes("v2-mixed-batch.json")), {
      queue: direct,
    });

    expect(verifiedAnswer).toEqual(answer);
    expect(direct.received).toEqual(checked.received);
  });

  it("still refuses what is not a valid batch, with ingestRequest's answers", async () => {
    const queue = new RecordingQueue();
    const answers = await Promise.all(
      [Buffer.from([0xff, 0xfe]), Buffer.from("[{"), Buffer.from("{}"), Buffer.from('[{"hello": 1}]')].map(
        (body) => ingestVerifiedRequest(verified(body), { queue }),
      ),
    );

    expect(answers.map((answer) => [answer.statusCode, JSON.parse(answer.body).error])).toEqual([
      [400, "invalid_encoding"],
      [400, "invalid_json"],
      [422, "invalid_batch"],
      [422, "invalid_notification"],
    ]);
    expect(queue.received).toEqual([]);
  });

  it("logs one line per request, naming it by its correlation id", async () => {
    const logger = recordingLogger();

    const accepted = await ingestVerifiedRequest(verified(sampleBytes("v2-mixed-batch.json")), {
      queue: new RecordingQueue(),
      logger,
    });
    await ingestVerifiedRequest(verified(Buffer.from("[]")), { queue: new RecordingQueue(), logger });

    expect(logger.lines).toEqual([
      [
        "info",
        "Webhook accepted",
        {
          outcome: "accepted",
          status: 200,
          accepted: 4,
          eventIds: JSON.parse(accepted.body).ids,
          correlation_id: "req-verified",
        },
      ],
      [
        "warn",
        "Webhook rejected",
        { outcome: "rejected", status: 422, code: "empty_batch", correlation_id: "req-verified" },
      ],
    ]);
  });
});

describe("messageJson", () => {
  it("is the notification's JSON", () => {
    const [notification] = sampleNotifications("v1-pulse.json");

    expect(messageJson(notification ?? {})).toBe(JSON.stringify(notification));
  });

  it("escapes U+FFFE and U+FFFF, which SQS refuses, and still parses back to the same value", () => {
    const notification = { sqreen_payload_type: "test", humanized_description: "a\uFFFEb\uFFFFc" };

    const body = messageJson(notification);

    expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(JSON.parse(body)).toEqual(notification);
  });
});
