import { createHmac, randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HttpSecret, httpSecretSchema } from "../../../lambdas/contracts/backend-secrets.js";
import { createDeliverHttpHandler, deliverHttp } from "../../../lambdas/deliver-http/core.js";
import { webhookIdFor } from "../../../lambdas/deliver-http/http-forward.js";
import { staticSecretSource } from "../../../lambdas/delivery/secret-source.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../../../lambdas/runtime/errors.js";
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
  startServer,
  type TestServer,
} from "../delivery/helpers.js";

const SIGNING_SECRET_A = `whsec_${randomBytes(32).toString("base64")}`;
const SIGNING_SECRET_B = `whsec_${randomBytes(32).toString("base64")}`;

/** The Standard Webhooks signature recomputed from the spec, independently of the sender's library. */
function expectedSignature(secret: string, request: RecordedRequest): string {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const content = `${request.headers["webhook-id"]}.${request.headers["webhook-timestamp"]}.${request.body}`;
  return `v1,${createHmac("sha256", key).update(content).digest("base64")}`;
}

describe("the HTTP backend", () => {
  let server: TestServer;
  let replies: (request: RecordedRequest, index: number) => Reply;
  let logs: LogCapture;

  beforeEach(async () => {
    replies = () => ({ status: 204 });
    server = await startServer((request, index) => replies(request, index));
    logs = captureLogs();
  });
  afterEach(async () => {
    logs.restore();
    await server.close();
  });

  function secret(): HttpSecret {
    return {
      targets: [
        { url: `${server.origin}/hooks/a?token=secret-token-a`, signingSecret: SIGNING_SECRET_A },
        { url: `${server.origin}/hooks/b/secret-token-b`, signingSecret: SIGNING_SECRET_B },
      ],
    };
  }

  function deps(retry = instantRetry(), timeoutMs = 2_000) {
    return {
      secrets: staticSecretSource(httpSecretSchema, secret(), "http test secret"),
      logger: debugLogger(),
      timeoutMs,
      retry,
    };
  }

  it("posts the alert, original included, as a Standard Webhooks payload to every target", async () => {
    const alert = loadAlert("security-event");

    const outcome = await deliverHttp(alert, deps());

    expect(server.requests.map((request) => request.path).sort()).toEqual([
      "/hooks/a?token=secret-token-a",
      "/hooks/b/secret-token-b",
    ]);
    for (const request of server.requests) {
      expect(request.method).toBe("POST");
      expect(request.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(request.body)).toEqual({
        type: "sqreen.alert",
        timestamp: "2026-10-02T08:14:02.918000+00:00",
        data: alert,
      });
    }
    expect(outcome).toMatchObject({ status: "delivered", delivered: 2 });
  });

  it("signs each request with the target's own secret, verifiable per the Standard Webhooks spec", async () => {
    await deliverHttp(loadAlert("security-event"), deps());

    const byPath = new Map(server.requests.map((request) => [request.path, request]));
    const a = byPath.get("/hooks/a?token=secret-token-a") as RecordedRequest;
    const b = byPath.get("/hooks/b/secret-token-b") as RecordedRequest;
    expect(a.headers["webhook-id"]).toBe("msg_651a7c3e9f2b4d0012ab34cd");
    expect(a.headers["webhook-timestamp"]).toMatch(/^\d{10}$/);
    expect(a.headers["webhook-signature"]).toBe(expectedSignature(SIGNING_SECRET_A, a));
    expect(b.headers["webhook-signature"]).toBe(expectedSignature(SIGNING_SECRET_B, b));
  });

  it("keeps the webhook id of an alert stable and header-safe, so receivers can drop retried copies", () => {
    const id = loadAlert("hostile").id;

    expect(webhookIdFor(id)).toBe(webhookIdFor(id));
    expect(webhookIdFor(id)).toMatch(/^msg_[A-Za-z0-9_-]+$/);
    expect(webhookIdFor("a/b")).not.toBe(webhookIdFor("a:b"));
  });

  it("retries a 500 and succeeds on the next attempt, with the same webhook id", async () => {
    replies = (_request, index) => (index < 2 ? { status: 500 } : { status: 200 });
    const only = { ...secret(), targets: secret().targets.slice(0, 1) };

    await deliverHttp(loadAlert("security-event"), {
      ...deps(),
      secrets: staticSecretSource(httpSecretSchema, only, "http test secret"),
    });

    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((request) => request.headers["webhook-id"]))).toEqual(
      new Set(["msg_651a7c3e9f2b4d0012ab34cd"]),
    );
  });

  it("waits as long as a 429's Retry-After asks before retrying", async () => {
    replies = (_request, index) =>
      index === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 };
    const retry = instantRetry();
    const only = { targets: secret().targets.slice(0, 1) };

    await deliverHttp(loadAlert("security-event"), {
      ...deps(retry),
      secrets: staticSecretSource(httpSecretSchema, only, "http test secret"),
    });

    expect(server.requests).toHaveLength(2);
    expect(retry.waits).toEqual([1_000]);
  });

  it("leaves a Retry-After longer than the policy allows to the platform's retry", async () => {
    replies = () => ({ status: 503, headers: { "retry-after": "120" } });
    const only = { targets: secret().targets.slice(0, 1) };

    const delivery = deliverHttp(loadAlert("security-event"), {
      ...deps(),
      secrets: staticSecretSource(httpSecretSchema, only, "http test secret"),
    });

    await expect(delivery).rejects.toThrow(TransientDeliveryError);
    await expect(delivery).rejects.toMatchObject({ retryAfterSeconds: 120 });
    expect(server.requests).toHaveLength(1);
  });

  it("gives up with a transient failure once the attempts are spent", async () => {
    replies = () => ({ status: 502 });
    const only = { targets: secret().targets.slice(0, 1) };

    const delivery = deliverHttp(loadAlert("security-event"), {
      ...deps(instantRetry(3)),
      secrets: staticSecretSource(httpSecretSchema, only, "http test secret"),
    });

    await expect(delivery).rejects.toThrow(TransientDeliveryError);
    await expect(delivery).rejects.toThrow("status 502");
    expect(server.requests).toHaveLength(3);
  });

  it("fails permanently on a 400 without retrying it", async () => {
    replies = () => ({ status: 400, body: "bad payload" });
    const only = { targets: secret().targets.slice(0, 1) };

    const delivery = deliverHttp(loadAlert("security-event"), {
      ...deps(),
      secrets: staticSecretSource(httpSecretSchema, only, "http test secret"),
    });

    await expect(delivery).rejects.toThrow(PermanentDeliveryError);
    await expect(delivery).rejects.toThrow(`HTTP target ${server.origin}: status 400 (permanent)`);
    expect(server.requests).toHaveLength(1);
  });

  it("fails transiently when the target does not answer in time", async () => {
    replies = () => "hang";
    const only = { targets: secret().targets.slice(0, 1) };

    const delivery = deliverHttp(loadAlert("security-event"), {
      ...deps(instantRetry(1), 200),
      secrets: staticSecretSource(httpSecretSchema, only, "http test secret"),
    });

    await expect(delivery).rejects.toThrow(TransientDeliveryError);
    await expect(delivery).rejects.toThrow("no answer within 0.2 s");
  });

  it("fails transiently when nothing listens at the target", async () => {
    const closed = await startServer(() => ({ status: 200 }));
    await closed.close();
    const target = { url: `${closed.origin}/hooks`, signingSecret: SIGNING_SECRET_A };

    const delivery = deliverHttp(loadAlert("security-event"), {
      ...deps(instantRetry(1)),
      secrets: staticSecretSource(httpSecretSchema, { targets: [target] }, "http test secret"),
    });

    await expect(delivery).rejects.toThrow(/network error ECONNREFUSED/);
  });

  it("still posts to the other targets when one fails, then fails the delivery", async () => {
    replies = (request) => (request.path.startsWith("/hooks/a") ? { status: 404 } : { status: 200 });

    const delivery = deliverHttp(loadAlert("security-event"), deps());

    await expect(delivery).rejects.toThrow("HTTP delivery failed for 1 of 2 targets");
    expect(server.requests.map((request) => request.path).sort()).toEqual([
      "/hooks/a?token=secret-token-a",
      "/hooks/b/secret-token-b",
    ]);
  });

  it("throws from the handler and logs only the targets' origins, never their paths or tokens", async () => {
    replies = (request) => (request.path.startsWith("/hooks/a") ? { status: 410 } : { status: 200 });
    const handler = createDeliverHttpHandler(deps());

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow(PermanentDeliveryError);

    expect(logs.text()).toContain(server.origin);
    expect(logs.text()).not.toMatch(/secret-token|\/hooks\//);
    expect(logs.text()).not.toContain(SIGNING_SECRET_A.slice("whsec_".length));
  });

  it("logs the reached targets by origin on success", async () => {
    const handler = createDeliverHttpHandler(deps());

    await handler(loadSnsEvent(), lambdaContext());

    expect(logs.lines().at(-1)).toMatchObject({
      outcome: "delivered",
      webhookId: "msg_651a7c3e9f2b4d0012ab34cd",
      targets: [
        { target: server.origin, status: 204, attempts: 1 },
        { target: server.origin, status: 204, attempts: 1 },
      ],
    });
    expect(logs.text()).not.toContain("secret-token");
  });
});
