import { describe, expect, it } from "vitest";
import { verifySignature } from "../../../lambdas/ingest/signature.js";
import {
  buildSqreenRequest,
  percentile,
  runBounded,
  sendRequest,
  summarize,
  tamperSignature,
  truncate,
} from "../../../scripts/sqreen/request.js";

const secret = "3f1c9a7e2b8d4f60a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1";
const body = Buffer.from('[{"message_type": "test", "message": {}}]', "utf8");

describe("buildSqreenRequest", () => {
  it("signs the exact body and sends it as application/json", () => {
    const request = buildSqreenRequest(body, secret);

    expect(request.body).toBe(body);
    expect(request.headers["Content-Type"]).toBe("application/json");
    expect(verifySignature(body, request.headers["X-Sqreen-Integrity"], [secret])).toBe(true);
  });

  it("with tamper, sends a well-formed signature the relay must refuse", () => {
    const request = buildSqreenRequest(body, secret, { tamper: true });
    const signature = request.headers["X-Sqreen-Integrity"] as string;

    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature(body, signature, [secret])).toBe(false);
  });
});

describe("tamperSignature", () => {
  it("changes exactly one hex digit", () => {
    const original = "a".repeat(64);

    const tampered = tamperSignature(original);

    expect(tampered).toBe(`b${"a".repeat(63)}`);
  });
});

describe("sendRequest", () => {
  it("POSTs the body and headers and reports status, answer and latency", async () => {
    const request = buildSqreenRequest(body, secret);
    let seen: RequestInit | undefined;
    const fetchImpl = async (_url: string, init: RequestInit) => {
      seen = init;
      return new Response('{"accepted":1}', { status: 200 });
    };
    const clock = [100, 142.5];

    const result = await sendRequest("http://relay/v1/webhook", request, fetchImpl, () => clock.shift() ?? 0);

    expect(seen?.method).toBe("POST");
    expect(seen?.body).toBe(body);
    expect(seen?.headers).toEqual(request.headers);
    expect(result).toEqual({ status: 200, body: '{"accepted":1}', latencyMs: 42.5 });
  });

  it("reports a network error as status 0 with its cause, without throwing", async () => {
    const fetchImpl = async () => {
      throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:3000") });
    };

    const result = await sendRequest("http://127.0.0.1:3000", buildSqreenRequest(body, secret), fetchImpl);

    expect(result.status).toBe(0);
    expect(result.body).toBe("fetch failed: connect ECONNREFUSED 127.0.0.1:3000");
  });
});

describe("runBounded", () => {
  it("never runs more tasks at once than the concurrency, and keeps results in task order", async () => {
    let inFlight = 0;
    let highest = 0;
    const completions: number[] = [];

    const results = await runBounded(
      20,
      3,
      async (index) => {
        inFlight++;
        highest = Math.max(highest, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return index * 2;
      },
      (completed) => completions.push(completed),
    );

    expect(highest).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, index) => index * 2));
    expect(completions).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
  });
});

describe("summarize", () => {
  it("counts 2xx as ok, everything else as failed, with nearest-rank percentiles", () => {
    const results = [
      ...Array.from({ length: 98 }, (_, index) => ({ status: 200, body: "", latencyMs: index + 1 })),
      { status: 503, body: "", latencyMs: 500 },
      { status: 0, body: "refused", latencyMs: 1000 },
    ];

    const summary = summarize(results);

    expect(summary).toEqual({
      ok: 98,
      failed: 2,
      statuses: { "200": 98, "503": 1, "0": 1 },
      p50Ms: 50,
      p99Ms: 500,
      maxMs: 1000,
    });
  });

  it("gives zero latencies for no results", () => {
    expect(percentile([], 99)).toBe(0);
  });
});

describe("truncate", () => {
  it("keeps a short answer and cuts a long one to one line", () => {
    expect(truncate('{"a":\n 1}')).toBe('{"a": 1}');
    expect(truncate("x".repeat(300), 10)).toBe(`${"x".repeat(9)}…`);
  });
});
