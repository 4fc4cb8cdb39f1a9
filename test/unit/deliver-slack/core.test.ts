import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import { type SlackSecret, slackSecretSchema } from "../../../lambdas/contracts/backend-secrets.js";
import { createDeliverSlackHandler, deliverSlack } from "../../../lambdas/deliver-slack/core.js";
import { createSlackPoster } from "../../../lambdas/deliver-slack/slack.js";
import { staticSecretSource } from "../../../lambdas/delivery/secret-source.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../../../lambdas/runtime/errors.js";
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

const ALERTS_PATH = "/services/T0000000/B0000000/alertsSecretToken";
const ADMIN_PATH = "/services/T0000000/B1111111/adminSecretToken";

describe("the Slack backend", () => {
  let server: TestServer;
  let replies: (request: RecordedRequest, index: number) => Reply;
  let logs: LogCapture;

  beforeEach(async () => {
    replies = () => ({ status: 200, body: "ok" });
    server = await startServer((request, index) => replies(request, index));
    logs = captureLogs();
  });
  afterEach(async () => {
    logs.restore();
    await server.close();
  });

  function secret(): SlackSecret {
    return { webhookUrl: `${server.origin}${ALERTS_PATH}`, adminWebhookUrl: `${server.origin}${ADMIN_PATH}` };
  }

  function deps(retry = instantRetry(), timeoutMs = 2_000) {
    return {
      secrets: staticSecretSource(slackSecretSchema, secret(), "slack test secret"),
      poster: createSlackPoster({ timeoutMs, retry }),
    };
  }

  it("posts the Block Kit message with its fallback text to the alerts webhook", async () => {
    await deliverSlack(loadAlert("security-event"), deps());

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.path).toBe(ALERTS_PATH);
    expect(request?.headers["content-type"]).toBe("application/json");
    const payload = JSON.parse(request?.body ?? "{}") as { text: string; blocks: { type: string }[] };
    expect(payload.text).toBe("[Sqreen] HIGH shop-api/production: Attack tentative from 198.51.100.23");
    expect(payload.blocks.map((block) => block.type)).toEqual([
      "header",
      "section",
      "section",
      "actions",
      "context",
    ]);
  });

  it("also posts an internal alert to the administrators' webhook", async () => {
    const outcome = await deliverSlack(loadAlert("internal"), deps());

    expect(server.requests.map((request) => request.path).sort()).toEqual([ADMIN_PATH, ALERTS_PATH].sort());
    for (const request of server.requests) {
      expect((JSON.parse(request.body) as { text: string }).text).toContain(
        `<!channel> ${INTERNAL_ALERT_TAG}`,
      );
    }
    expect(outcome).toMatchObject({ delivered: 2 });
  });

  it("posts a normal alert only to the alerts webhook", async () => {
    await deliverSlack(loadAlert("security-event"), deps());

    expect(server.requests.map((request) => request.path)).toEqual([ALERTS_PATH]);
  });

  it("retries a 500 and succeeds on the next attempt", async () => {
    replies = (_request, index) => (index === 0 ? { status: 500 } : { status: 200, body: "ok" });

    await deliverSlack(loadAlert("security-event"), deps());

    expect(server.requests).toHaveLength(2);
  });

  it("waits as long as a 429's Retry-After asks before retrying", async () => {
    replies = (_request, index) =>
      index === 0
        ? { status: 429, headers: { "retry-after": "1" }, body: "rate_limited" }
        : { status: 200, body: "ok" };
    const retry = instantRetry();

    await deliverSlack(loadAlert("security-event"), deps(retry));

    expect(server.requests).toHaveLength(2);
    expect(retry.waits).toEqual([1_000]);
  });

  it("fails permanently on a 400 without retrying it", async () => {
    replies = () => ({ status: 400, body: "invalid_payload" });

    const delivery = deliverSlack(loadAlert("security-event"), deps());

    await expect(delivery).rejects.toThrow(PermanentDeliveryError);
    await expect(delivery).rejects.toThrow("Slack webhook (alerts): status 400 (permanent)");
    expect(server.requests).toHaveLength(1);
  });

  it("fails transiently when Slack does not answer in time", async () => {
    replies = () => "hang";

    const delivery = deliverSlack(loadAlert("security-event"), deps(instantRetry(1), 200));

    await expect(delivery).rejects.toThrow(TransientDeliveryError);
    await expect(delivery).rejects.toThrow("Slack webhook (alerts): network error timeout");
  });

  it("still posts to the alerts channel when the admin channel fails", async () => {
    replies = (request) =>
      request.path === ADMIN_PATH ? { status: 404, body: "no_service" } : { status: 200, body: "ok" };

    const delivery = deliverSlack(loadAlert("internal"), deps());

    await expect(delivery).rejects.toThrow("Slack webhook (admin): status 404 (permanent)");
    expect(server.requests.map((request) => request.path)).toContain(ALERTS_PATH);
  });

  it("throws from the handler and never logs a webhook URL", async () => {
    replies = () => ({ status: 403, body: "invalid_token" });
    const handler = createDeliverSlackHandler({ ...deps(), logger: debugLogger() });

    await expect(handler(snsEventFor(loadAlert("internal")), lambdaContext())).rejects.toThrow(
      PermanentDeliveryError,
    );

    expect(logs.lines().at(-1)).toMatchObject({ outcome: "failed", backend: "slack" });
    expect(logs.text()).not.toMatch(/SecretToken|\/services\//);
  });
});
