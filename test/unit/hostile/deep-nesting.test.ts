/**
 * Regression: a signed body nesting arrays thousands of levels deep parses fine (JSON.parse is
 * iterative) but overflowed the stack in JSON.stringify and the event-identity hash, so ingest
 * answered 500 and Sqreen would have retried it forever. It is now refused with 422.
 */
import { describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../../lambdas/ingest/core.js";
import { signBody } from "../../../lambdas/ingest/signature.js";
import { SAMPLE_SECRET } from "../ingest/fixtures.js";
import { hostileIngest, invoke } from "./support.js";

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

function signedRequest(text: string) {
  const body = Buffer.from(text, "utf8");
  return {
    method: "POST",
    path: "/v1/webhook",
    headers: { "content-type": "application/json", "x-sqreen-integrity": signBody(body, SAMPLE_SECRET) },
    body,
    base64: true,
  };
}

describe("deeply nested bodies", () => {
  const bodies: Record<string, (depth: number) => string> = {
    "inside a v2 message with an event id": (depth) =>
      `[{"message_type":"security_event","message":{"event_id":"e-1","deep":${nested(depth)}}}]`,
    "inside a v2 message without an event id (hashed identity)": (depth) =>
      `[{"message_type":"security_event","message":{"deep":${nested(depth)}}}]`,
    "inside a v1 notification": (depth) => `[{"sqreen_payload_type":"pulse","deep":${nested(depth)}}]`,
    "as the batch itself": (depth) => nested(depth),
  };

  for (const [where, build] of Object.entries(bodies)) {
    it(`answers 422 and enqueues nothing for 100 000 levels ${where}`, async () => {
      const relay = hostileIngest([SAMPLE_SECRET], 4_500_000);

      const result = await invoke(relay, signedRequest(build(100_000)), "req-deep");

      expect(result.statusCode).toBe(422);
      expect(relay.queue.enqueued).toBe(0);
    });
  }

  it("accepts a notification nested exactly to the limit", async () => {
    const relay = hostileIngest([SAMPLE_SECRET], 4_500_000);
    // Batch (1) → notification (2) → message (3) → arrays down to the limit.
    const body = `[{"message_type":"security_event","message":{"event_id":"e-1","deep":${nested(MAX_JSON_DEPTH - 3)}}}]`;

    const result = await invoke(relay, signedRequest(body), "req-limit");

    expect(result.statusCode).toBe(200);
    expect(relay.queue.enqueued).toBe(1);
  });

  it("refuses one level past the limit with a stable error code", async () => {
    const relay = hostileIngest([SAMPLE_SECRET], 4_500_000);
    const body = `[{"message_type":"security_event","message":{"event_id":"e-1","deep":${nested(MAX_JSON_DEPTH - 2)}}}]`;

    const result = await invoke(relay, signedRequest(body), "req-past");

    expect(result.statusCode).toBe(422);
    expect(JSON.parse(result.body ?? "{}")).toMatchObject({ error: "nesting_too_deep" });
  });
});
