/**
 * The local relay's webhook over real HTTP (issue "Ingest"): every row of docs/PROTOCOL.md's answer
 * table, asked of a server listening on a random port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../lib/settings.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import {
  captureOutput,
  type OutputCapture,
  SAMPLE_SECRET,
  sampleBytes,
  sampleSignature,
  sign,
} from "./support.js";

/** Small enough for a test to exceed it cheaply, large enough for the mixed-batch sample. */
const MAX_BODY_BYTES = 4096;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

describe("the local relay's webhook, over HTTP", () => {
  let relay: LocalRelay;
  let output: OutputCapture;

  beforeAll(async () => {
    output = captureOutput();
    relay = await startLocalRelay({
      port: 0,
      signingKeys: [SAMPLE_SECRET],
      settings: parseRelaySettings({ ingest: { maxBodyBytes: MAX_BODY_BYTES } }),
      secrets: {},
    });
  });
  afterAll(async () => {
    await relay.drained();
    await relay.close();
    output.restore();
  });

  async function post(
    body: Uint8Array | string,
    headers: Record<string, string>,
    path = "/v1/webhook",
  ): Promise<Answer> {
    const response = await fetch(`${relay.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    return answer(response);
  }

  async function postSigned(body: Uint8Array | string): Promise<Answer> {
    return post(body, { "x-sqreen-integrity": sign(body, SAMPLE_SECRET) });
  }

  async function answer(response: Response): Promise<Answer> {
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Left empty: the assertions on `json` then fail and show the status.
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  it("listens on the random port it was given", () => {
    expect(relay.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(relay.url).not.toMatch(/:0$/);
    expect(relay.webhookUrl).toBe(`${relay.url}/v1/webhook`);
  });

  it("accepts a sample with Sqreen's signature with 200, naming every notification it enqueued", async () => {
    const sent = relay.stats().queue.sent;

    const result = await post(sampleBytes("v2-mixed-batch.json"), {
      "x-sqreen-integrity": sampleSignature("v2-mixed-batch.json"),
    });

    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      accepted: 4,
      ids: [
        "651a7c3e9f2b4d0012ab34cd",
        "track_collection_5e0c2b7a91d84f36a2c4e6b8d0f1a3c5@2026-10-02T10:29:12.004000+00:00",
        expect.stringMatching(/^sha256-/),
        expect.stringMatching(/^sha256-/),
      ],
    });
    expect(relay.stats().queue.sent).toBe(sent + 4);
  });

  it("logs one line per accepted request, under a correlation id of its own", async () => {
    const before = output.lines().length;

    const first = await postSigned(sampleBytes("v2-test.json"));
    const second = await postSigned(sampleBytes("v2-test.json"));

    const lines = output
      .lines()
      .slice(before)
      .filter((line) => line.service === "ingest");
    expect(lines).toEqual([
      expect.objectContaining({ service: "ingest", outcome: "accepted", eventIds: first.json.ids }),
      expect.objectContaining({ service: "ingest", outcome: "accepted", eventIds: second.json.ids }),
    ]);
    const [firstId, secondId] = lines.map((line) => line.correlation_id);
    expect(firstId).toMatch(/^[0-9a-f-]{36}$/);
    expect(secondId).toMatch(/^[0-9a-f-]{36}$/);
    expect(firstId).not.toBe(secondId);
  });

  it("accepts a v1 sample the same way", async () => {
    const result = await post(sampleBytes("v1-pulse.json"), {
      "x-sqreen-integrity": sampleSignature("v1-pulse.json"),
    });

    expect(result.status).toBe(200);
    expect(result.json).toMatchObject({ accepted: 1 });
  });

  it("refuses a forged request with 401 and enqueues nothing", async () => {
    const sent = relay.stats().queue.sent;
    const forged = sign(sampleBytes("v2-security-event.json"), "not-the-secret-of-this-relay");

    const result = await post(sampleBytes("v2-security-event.json"), { "x-sqreen-integrity": forged });

    expect(result.status).toBe(401);
    expect(result.json).toEqual({ error: "invalid_signature", message: expect.any(String) });
    expect(result.text).not.toContain(forged);
    expect(relay.stats().queue.sent).toBe(sent);
  });

  it("refuses a signed body altered in transit with 401", async () => {
    const body = sampleBytes("v2-security-event.json")
      .toString("utf8")
      .replace('"risk_coefficient": 75', '"risk_coefficient": 5');

    const result = await post(body, { "x-sqreen-integrity": sampleSignature("v2-security-event.json") });

    expect(result.status).toBe(401);
  });

  it("refuses a request without X-Sqreen-Integrity with 401", async () => {
    const result = await post(sampleBytes("v2-security-event.json"), {});

    expect(result.status).toBe(401);
    expect(result.json).toMatchObject({ error: "missing_signature" });
  });

  it("answers 404 on another path, even to a signed sample", async () => {
    const result = await post(
      sampleBytes("v2-security-event.json"),
      { "x-sqreen-integrity": sampleSignature("v2-security-event.json") },
      "/v1/webhooks",
    );

    expect(result.status).toBe(404);
    expect(result.json).toMatchObject({ error: "not_found" });
  });

  it("answers 405 to GET /v1/webhook, allowing POST", async () => {
    const result = await answer(await fetch(relay.webhookUrl));

    expect(result.status).toBe(405);
    expect(result.headers.get("allow")).toBe("POST");
    expect(result.json).toMatchObject({ error: "method_not_allowed" });
  });

  it("answers 413 to a correctly signed body one byte over the limit", async () => {
    const body = `[${" ".repeat(MAX_BODY_BYTES - 1)}]`;

    const result = await postSigned(body);

    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES + 1);
    expect(result.status).toBe(413);
    expect(result.json).toMatchObject({ error: "payload_too_large" });
  });

  it("answers 413 to a body far over the limit without waiting for a signature check", async () => {
    const result = await post(Buffer.alloc(2 * 1024 * 1024, 0x20), { "x-sqreen-integrity": "0".repeat(64) });

    expect(result.status).toBe(413);
  });

  it("accepts a signed body of exactly the limit as far as its size goes", async () => {
    const body = `[${" ".repeat(MAX_BODY_BYTES - 2)}]`;

    const result = await postSigned(body);

    // Not 413: it is refused later, for holding no notification.
    expect(result.status).toBe(422);
  });

  it.each([
    ["not JSON", "this is not json", "invalid_json"],
    ["truncated JSON", sampleBytes("v2-test.json").subarray(0, 40), "invalid_json"],
    ["not UTF-8", Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), "invalid_encoding"],
  ])("answers 400 to a signed body that is %s", async (_case, body, code) => {
    const result = await postSigned(body);

    expect(result.status).toBe(400);
    expect(result.json).toMatchObject({ error: code });
  });

  it.each([
    ["an object", '{"message_type": "security_event"}'],
    ["an empty array", "[]"],
    ["an array of strings", '["security_event"]'],
    ["an array with a null", "[null]"],
  ])("answers 422 to a signed JSON body that is %s", async (_case, body) => {
    const sent = relay.stats().queue.sent;

    const result = await postSigned(body);

    expect(result.status).toBe(422);
    expect(result.json).toEqual({ error: expect.any(String), message: expect.any(String) });
    expect(relay.stats().queue.sent).toBe(sent);
  });

  it("never echoes the request in an error answer", async () => {
    const body = '{"secret_marker": "d0n7-3ch0-m3"}';

    const result = await postSigned(body);

    expect(result.status).toBe(422);
    expect(result.text).not.toContain("d0n7-3ch0-m3");
  });
});
