import { Logger } from "@aws-lambda-powertools/logger";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_MESSAGE_BYTES } from "../../../lambdas/contracts/messages.js";
import { createIngestHandler } from "../../../lambdas/ingest/chain.js";
import { signBody } from "../../../lambdas/ingest/signature.js";
import { SecretsManagerSigningKeyStore } from "../../../lambdas/ingest/signing-keys.js";
import { SqsNotificationQueue } from "../../../lambdas/ingest/sqs-queue.js";
import {
  EVENT_RECEIVED_AT,
  lambdaContext,
  SAMPLE_SECRET,
  sampleBytes,
  sampleNames,
  sampleNotifications,
  sampleSignature,
  securityEventBatch,
  type WebhookEventOptions,
  webhookEvent,
} from "./fixtures.js";

const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/sqreen-relay-ingest";
const SECRET_ID = "sqreen-relay/signing-keys";
const MAX_BODY_BYTES = 1_000_000;

type BatchInput = SendMessageBatchCommandInput;
type BatchOutput = Partial<SendMessageBatchCommandOutput>;

/** SQS accepting every entry of a call. */
function acceptAll(input: BatchInput): BatchOutput {
  return {
    Successful: (input.Entries ?? []).map((entry) => ({
      Id: entry.Id,
      MessageId: `message-${entry.Id}`,
      MD5OfMessageBody: "d41d8cd98f00b204e9800998ecf8427e",
    })),
    Failed: [],
  };
}

/** SQS failing the listed entries of a call and accepting the others. */
function failEntries(ids: readonly string[], senderFault = false) {
  return (input: BatchInput): BatchOutput => {
    const entries = input.Entries ?? [];
    return {
      Successful: acceptAll({ ...input, Entries: entries.filter((entry) => !ids.includes(entry.Id ?? "")) })
        .Successful,
      Failed: entries
        .filter((entry) => ids.includes(entry.Id ?? ""))
        .map((entry) => ({ Id: entry.Id, SenderFault: senderFault, Code: "InternalError" })),
    };
  };
}

function secretHolding(keys: readonly string[]) {
  return { Name: SECRET_ID, SecretString: JSON.stringify({ keys }) };
}

function signedEvent(body: string | Uint8Array, options: WebhookEventOptions = {}, secret = SAMPLE_SECRET) {
  return webhookEvent({ body, signature: signBody(body, secret), ...options });
}

function sampleEvent(name: string, options: WebhookEventOptions = {}) {
  return webhookEvent({ body: sampleBytes(name), signature: sampleSignature(name), ...options });
}

function answerBody(result: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(result.body ?? "") as Record<string, unknown>;
}

describe("ingest handler", () => {
  const sqsMock = mockClient(SQSClient);
  const secretsMock = mockClient(SecretsManagerClient);
  // Module-scope in AWS: built once here too, as handler.ts does, with a clock the tests move.
  let clock = 0;
  const keyStore = new SecretsManagerSigningKeyStore({
    secretId: SECRET_ID,
    maxAgeSeconds: 300,
    client: new SecretsManagerClient({ region: "eu-west-1" }),
    now: () => clock,
  });
  const logger = new Logger({ serviceName: "ingest", logLevel: "SILENT" });
  const handler = createIngestHandler({
    keys: keyStore,
    queue: new SqsNotificationQueue({
      client: new SQSClient({ region: "eu-west-1" }),
      queueUrl: QUEUE_URL,
      sleep: async () => {},
    }),
    maxBodyBytes: MAX_BODY_BYTES,
    logger,
  });
  const invoke = (event: APIGatewayProxyEventV2) => handler(event, lambdaContext());

  beforeEach(() => {
    sqsMock.reset();
    secretsMock.reset();
    // Powertools' provider caches the secret for maxAge: every test starts from a cold cache.
    keyStore.clearCache();
    clock = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    secretsMock.on(GetSecretValueCommand).resolves(secretHolding([SAMPLE_SECRET]));
  });

  describe("200: every notification durably enqueued", () => {
    it.each(sampleNames)("accepts %s and names the event ids it enqueued", async (name) => {
      const notifications = sampleNotifications(name);

      const result = await invoke(sampleEvent(name));

      expect(result.statusCode).toBe(200);
      expect(result.headers).toMatchObject({ "content-type": "application/json" });
      expect(answerBody(result)).toEqual({ accepted: notifications.length, ids: expect.any(Array) });
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    });

    it("answers the ids of a mixed batch in request order", async () => {
      const result = await invoke(sampleEvent("v2-mixed-batch.json"));

      const { ids } = answerBody(result);
      expect(ids).toHaveLength(4);
      expect((ids as string[]).slice(0, 2)).toEqual([
        "651a7c3e9f2b4d0012ab34cd",
        "track_collection_5e0c2b7a91d84f36a2c4e6b8d0f1a3c5@2026-10-02T10:29:12.004000+00:00",
      ]);
    });

    it("sends each notification as its own message, with its JSON as body and the queue attributes", async () => {
      const [notification] = sampleNotifications("v2-security-event.json");

      await invoke(sampleEvent("v2-security-event.json", { requestId: "req-attributes" }));

      expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, {
        QueueUrl: QUEUE_URL,
        Entries: [
          {
            Id: "n0",
            MessageBody: JSON.stringify(notification),
            MessageAttributes: {
              notification_type: { DataType: "String", StringValue: "security_event" },
              event_id: { DataType: "String", StringValue: "651a7c3e9f2b4d0012ab34cd" },
              api_version: { DataType: "String", StringValue: "2" },
              request_id: { DataType: "String", StringValue: "req-attributes" },
              received_at: { DataType: "String", StringValue: EVENT_RECEIVED_AT },
            },
          },
        ],
      });
    });

    it("marks v1 notifications with api version 1 and their payload type", async () => {
      await invoke(sampleEvent("v1-pulse.json"));

      expect(sqsMock).toHaveReceivedCommandWith(SendMessageBatchCommand, {
        Entries: [
          expect.objectContaining({
            MessageAttributes: expect.objectContaining({
              notification_type: { DataType: "String", StringValue: "pulse" },
              api_version: { DataType: "String", StringValue: "1" },
              event_id: { DataType: "String", StringValue: "651a91bb9f2b4d0012ab3700" },
            }),
          }),
        ],
      });
    });

    it("verifies and accepts a base64-encoded body", async () => {
      const result = await invoke(sampleEvent("v2-test.json", { base64: true }));

      expect(result.statusCode).toBe(200);
      expect(answerBody(result)).toEqual({ accepted: 1, ids: ["0f4e2a9c7b1d43e8a6c5b2d1e0f9a8b7"] });
    });

    it("reads the signature header whatever its case, in upper-case hex too", async () => {
      const event = webhookEvent({
        body: sampleBytes("v1-test.json"),
        headers: { "X-Sqreen-Integrity": sampleSignature("v1-test.json").toUpperCase() },
      });

      const result = await invoke(event);

      expect(result.statusCode).toBe(200);
    });

    it("enqueues 1000 notifications in 100 SendMessageBatch calls of 10", async () => {
      const result = await invoke(signedEvent(securityEventBatch(1000)));

      expect(result.statusCode).toBe(200);
      expect(answerBody(result).accepted).toBe(1000);
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 100);
      for (const call of sqsMock.commandCalls(SendMessageBatchCommand)) {
        expect(call.args[0].input.Entries).toHaveLength(10);
      }
    });

    it("retries the entries SQS failed and answers 200 once they are in", async () => {
      sqsMock
        .on(SendMessageBatchCommand)
        .callsFakeOnce(failEntries(["n1"]))
        .callsFake(acceptAll);

      const result = await invoke(sampleEvent("v2-mixed-batch.json"));

      expect(result.statusCode).toBe(200);
      expect(answerBody(result).accepted).toBe(4);
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
      expect(sqsMock).toHaveReceivedNthCommandWith(SendMessageBatchCommand, 2, {
        Entries: [expect.objectContaining({ Id: "n1" })],
      });
    });

    it("retries a SendMessageBatch call that threw", async () => {
      sqsMock.on(SendMessageBatchCommand).rejectsOnce(new Error("socket hang up")).callsFake(acceptAll);

      const result = await invoke(sampleEvent("v2-test.json"));

      expect(result.statusCode).toBe(200);
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
    });
  });

  describe("401: signature missing, empty, malformed or wrong", () => {
    it.each([
      ["missing", undefined, "missing_signature"],
      ["empty", "", "missing_signature"],
      ["not hex", "z".repeat(64), "invalid_signature"],
      ["truncated", sampleSignature("v2-test.json").slice(0, 40), "invalid_signature"],
    ])("refuses a %s signature without reading the key store", async (_case, signature, code) => {
      const result = await invoke(webhookEvent({ body: sampleBytes("v2-test.json"), signature }));

      expect(result.statusCode).toBe(401);
      expect(answerBody(result)).toEqual({ error: code, message: expect.any(String) });
      expect(secretsMock).not.toHaveReceivedCommand(GetSecretValueCommand);
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    });

    it("refuses a signature made with another key, and enqueues nothing", async () => {
      const result = await invoke(signedEvent(sampleBytes("v2-test.json"), {}, "not-the-webhook-secret"));

      expect(result.statusCode).toBe(401);
      expect(answerBody(result).error).toBe("invalid_signature");
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    });

    it("refuses a body changed after signing", async () => {
      const tampered = Buffer.from(sampleBytes("v2-test.json"));
      tampered[tampered.length - 3] = 0x20;

      const result = await invoke(
        webhookEvent({ body: tampered, signature: sampleSignature("v2-test.json") }),
      );

      expect(result.statusCode).toBe(401);
    });

    it("checks the signature before the body is parsed", async () => {
      const result = await invoke(webhookEvent({ body: "not json", signature: "0".repeat(64) }));

      expect(result.statusCode).toBe(401);
    });

    it("never echoes the signature or the body in its answer", async () => {
      const signature = signBody("x", "other");
      const result = await invoke(
        webhookEvent({ body: sampleBytes("v2-security-response.json"), signature }),
      );

      expect(result.body).not.toContain(signature);
      expect(result.body).not.toContain("alice@example.com");
    });
  });

  describe("400: signed, but not UTF-8 or not JSON", () => {
    it("refuses a body that is not UTF-8", async () => {
      const result = await invoke(
        signedEvent(Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), { base64: true }),
      );

      expect(result.statusCode).toBe(400);
      expect(answerBody(result).error).toBe("invalid_encoding");
    });

    it.each(["", "[{", "{'single': 'quotes'}"])("refuses %j, which is not JSON", async (body) => {
      const result = await invoke(signedEvent(body));

      expect(result.statusCode).toBe(400);
      expect(answerBody(result)).toEqual({ error: "invalid_json", message: "Body is not valid JSON" });
      expect(result.body).not.toContain(body || "<empty>");
    });
  });

  describe("422: JSON, but not 1 to 1000 notification objects", () => {
    it.each([
      ["an object", JSON.stringify(sampleNotifications("v2-test.json")[0]), "invalid_batch"],
      ["an empty array", "[]", "empty_batch"],
      ["an array of strings", '["security_event"]', "invalid_notification"],
      ["an array holding null", "[null]", "invalid_notification"],
      ["an object without a type", '[{"message_id": null, "message": {}}]', "invalid_notification"],
    ])("refuses %s", async (_case, body, code) => {
      const result = await invoke(signedEvent(body));

      expect(result.statusCode).toBe(422);
      expect(answerBody(result).error).toBe(code);
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    });

    it("names the index of the first notification that is not one", async () => {
      const [valid] = sampleNotifications("v2-test.json");

      const result = await invoke(signedEvent(JSON.stringify([valid, valid, { hello: "world" }])));

      expect(answerBody(result).message).toContain("index 2");
    });

    it("refuses 1001 notifications", async () => {
      const result = await invoke(signedEvent(securityEventBatch(1001)));

      expect(result.statusCode).toBe(422);
      expect(answerBody(result).error).toBe("too_many_notifications");
    });
  });

  describe("413: body or notification over the limit", () => {
    it("refuses a body over the limit before reading the key store", async () => {
      const body = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);

      const result = await invoke(signedEvent(body));

      expect(result.statusCode).toBe(413);
      expect(answerBody(result).error).toBe("payload_too_large");
      expect(secretsMock).not.toHaveReceivedCommand(GetSecretValueCommand);
    });

    it("refuses a base64 body too large to fit without decoding it", async () => {
      const event = webhookEvent({ signature: "0".repeat(64), base64: true });
      event.body = "A".repeat(2 * MAX_BODY_BYTES);

      const result = await invoke(event);

      expect(result.statusCode).toBe(413);
      expect(secretsMock).not.toHaveReceivedCommand(GetSecretValueCommand);
    });

    it("answers a wrong route before the size, whether or not the body is base64-encoded", async () => {
      const plain = webhookEvent({ path: "/other", body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20) });
      const encoded = webhookEvent({ path: "/other", base64: true });
      encoded.body = "A".repeat(2 * MAX_BODY_BYTES);

      const answers = [await invoke(plain), await invoke(encoded)];

      expect(answers.map((answer) => answer.statusCode)).toEqual([404, 404]);
    });

    it("accepts a body of exactly the limit", async () => {
      const batch = securityEventBatch(1);
      const body = batch + " ".repeat(MAX_BODY_BYTES - Buffer.byteLength(batch));

      const result = await invoke(signedEvent(body, { base64: true }));

      expect(result.statusCode).toBe(200);
    });

    it("refuses the whole request when one notification is too large to enqueue, naming it", async () => {
      const [small] = sampleNotifications("v2-test.json");
      const large = { ...small, message: { humanized_description: "x".repeat(MAX_MESSAGE_BYTES) } };

      const result = await invoke(signedEvent(JSON.stringify([small, large])));

      expect(result.statusCode).toBe(413);
      expect(answerBody(result)).toEqual({
        error: "notification_too_large",
        message: expect.stringContaining("index 1"),
      });
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageBatchCommand);
    });
  });

  describe("503: key store or queue unavailable", () => {
    it("answers 503, not 401, when Secrets Manager cannot be read", async () => {
      secretsMock.on(GetSecretValueCommand).rejects(new Error("connect ECONNREFUSED 10.0.0.1:443"));

      const result = await invoke(sampleEvent("v2-test.json"));

      expect(result.statusCode).toBe(503);
      expect(answerBody(result)).toEqual({
        error: "key_store_unavailable",
        message: "Temporarily unavailable, retry later",
      });
      expect(result.body).not.toContain("ECONNREFUSED");
    });

    it("answers 503 while the signing-keys secret still holds no key", async () => {
      secretsMock.on(GetSecretValueCommand).resolves(secretHolding([]));

      const result = await invoke(sampleEvent("v2-test.json"));

      expect(result.statusCode).toBe(503);
      expect(answerBody(result).error).toBe("signing_keys_not_configured");
    });

    it("answers 503 and claims nothing when SQS keeps failing an entry", async () => {
      sqsMock.on(SendMessageBatchCommand).callsFake(failEntries(["n2"]));

      const result = await invoke(sampleEvent("v2-mixed-batch.json"));

      expect(result.statusCode).toBe(503);
      expect(answerBody(result)).toEqual({
        error: "queue_unavailable",
        message: "Temporarily unavailable, retry later",
      });
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 4);
    });

    it("does not retry an entry SQS rejected as a sender fault", async () => {
      sqsMock.on(SendMessageBatchCommand).callsFake(failEntries(["n0"], true));

      const result = await invoke(sampleEvent("v2-test.json"));

      expect(result.statusCode).toBe(503);
      expect(sqsMock).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    });

    it("answers 503 when every SendMessageBatch call throws", async () => {
      sqsMock
        .on(SendMessageBatchCommand)
        .rejects(new Error("getaddrinfo ENOTFOUND sqs.eu-west-1.amazonaws.com"));

      const result = await invoke(sampleEvent("v2-test.json"));

      expect(result.statusCode).toBe(503);
      expect(answerBody(result).error).toBe("queue_unavailable");
      expect(result.body).not.toContain("ENOTFOUND");
    });
  });

  describe("signing keys", () => {
    it("reads the secret once and serves later requests from the cache", async () => {
      await invoke(sampleEvent("v2-test.json"));
      await invoke(sampleEvent("v1-test.json"));

      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
      expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
    });

    it("picks up a rotated secret without a redeploy, by re-reading it when no cached key matches", async () => {
      const newSecret = "f".repeat(64);
      secretsMock.on(GetSecretValueCommand).resolves(secretHolding([SAMPLE_SECRET]));
      expect((await invoke(sampleEvent("v2-test.json"))).statusCode).toBe(200);
      secretsMock.on(GetSecretValueCommand).resolves(secretHolding([SAMPLE_SECRET, newSecret]));

      const result = await invoke(signedEvent(sampleBytes("v2-test.json"), {}, newSecret));

      expect(result.statusCode).toBe(200);
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    });

    it("re-reads the secret at most once per 10 seconds for requests that match no key", async () => {
      const forged = () => invoke(signedEvent(sampleBytes("v2-test.json"), {}, "forger"));

      for (let request = 0; request < 5; request++) expect((await forged()).statusCode).toBe(401);
      clock += 10_000;
      expect((await forged()).statusCode).toBe(401);

      // One read to fill the cache, one forced refresh, and one more once 10 s have passed.
      expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 3);
    });

    it("accepts the secret as a plain string holding several keys", async () => {
      secretsMock.on(GetSecretValueCommand).resolves({ SecretString: `old-key,\n${SAMPLE_SECRET}\n` });

      const result = await invoke(sampleEvent("v2-test.json"));

      expect(result.statusCode).toBe(200);
    });
  });

  describe("404 and 405: anything but POST /v1/webhook", () => {
    it("answers 404 on another path, without reading the key store", async () => {
      const result = await invoke(sampleEvent("v2-test.json", { path: "/v1/webhooks" }));

      expect(result.statusCode).toBe(404);
      expect(answerBody(result).error).toBe("not_found");
      expect(secretsMock).not.toHaveReceivedCommand(GetSecretValueCommand);
    });

    // API Gateway routes every method of /v1/webhook and every other path here (ANY and $default).
    it.each([
      ["GET", "/"],
      ["POST", "/"],
      ["POST", "/v1/webhook/"],
      ["POST", "/V1/webhook"],
      ["GET", "/v1/webhook/extra"],
      ["DELETE", "/favicon.ico"],
    ])("answers 404 to %s %s, whatever the method", async (method, path) => {
      const result = await invoke(sampleEvent("v2-test.json", { method, path }));

      expect(result.statusCode).toBe(404);
      expect(answerBody(result).error).toBe("not_found");
      expect(result.headers).not.toHaveProperty("allow");
    });

    it.each(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])(
      "answers 405 to %s, allowing POST",
      async (method) => {
        const result = await invoke(sampleEvent("v2-test.json", { method }));

        expect(result.statusCode).toBe(405);
        expect(result.headers).toMatchObject({ allow: "POST" });
        expect(answerBody(result).error).toBe("method_not_allowed");
      },
    );
  });
});

describe("ingest handler logs", () => {
  const sqsMock = mockClient(SQSClient);
  const secretsMock = mockClient(SecretsManagerClient);
  let lines: string[] = [];

  beforeEach(() => {
    sqsMock.reset();
    secretsMock.reset();
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    secretsMock.on(GetSecretValueCommand).resolves(secretHolding([SAMPLE_SECRET]));
    lines = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    };
    vi.spyOn(process.stdout, "write").mockImplementation(capture);
    vi.spyOn(process.stderr, "write").mockImplementation(capture);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  function createHandler() {
    return createIngestHandler({
      keys: new SecretsManagerSigningKeyStore({
        secretId: SECRET_ID,
        maxAgeSeconds: 300,
        client: new SecretsManagerClient({ region: "eu-west-1" }),
      }),
      queue: new SqsNotificationQueue({
        client: new SQSClient({ region: "eu-west-1" }),
        queueUrl: QUEUE_URL,
      }),
      maxBodyBytes: MAX_BODY_BYTES,
      logger: new Logger({ serviceName: "ingest", logLevel: "INFO" }),
    });
  }

  function logEntries(): Record<string, unknown>[] {
    return lines
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it("logs the outcome, the accepted count and event ids under the request's correlation id", async () => {
    const handler = createHandler();

    await handler(sampleEvent("v2-security-response.json", { requestId: "req-logged" }), lambdaContext());

    expect(logEntries()).toContainEqual(
      expect.objectContaining({
        correlation_id: "req-logged",
        outcome: "accepted",
        status: 200,
        accepted: 1,
        eventIds: [expect.stringMatching(/^sha256-/)],
      }),
    );
  });

  it("never logs the body, the signature or the key", async () => {
    const handler = createHandler();
    const signature = sampleSignature("v2-security-response.json");
    const forgedSignature = signBody("x", "forger");

    await handler(sampleEvent("v2-security-response.json"), lambdaContext());
    await handler(
      webhookEvent({ body: sampleBytes("v2-security-response.json"), signature: forgedSignature }),
      lambdaContext(),
    );

    const output = lines.join("");
    expect(logEntries().length).toBeGreaterThanOrEqual(2);
    expect(output).not.toContain(signature);
    expect(output).not.toContain(forgedSignature);
    expect(output).not.toContain(SAMPLE_SECRET);
    expect(output).not.toContain("alice@example.com");
    expect(output).not.toContain("Block credential stuffing");
  });

  it("logs a 503 with the error that caused it and tells the operator to fill an empty secret", async () => {
    secretsMock.on(GetSecretValueCommand).resolves(secretHolding([]));
    const handler = createHandler();

    await handler(sampleEvent("v2-test.json"), lambdaContext());

    expect(logEntries()).toContainEqual(
      expect.objectContaining({
        level: "ERROR",
        message: expect.stringContaining("SIGNING_KEYS_SECRET_ID"),
        keyStore: `Secrets Manager secret ${SECRET_ID}`,
      }),
    );
  });
});
