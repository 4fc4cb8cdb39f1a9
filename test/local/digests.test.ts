/**
 * Digests in the local relay (npm start's pipeline) over real HTTP: a burst to Slack becomes the
 * first alert alone and one digest when the window closes, the window and its delayed close kept
 * in the relay's database across a restart (sent once, not lost); `"digest": false` sends every
 * alert alone, as before digests. Windows of 10 s (the smallest the settings allow).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../lib/settings.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import { redriveLocal } from "../../scripts/redrive/local.js";
import { buildSqreenRequest, sendRequest } from "../../scripts/sqreen/request.js";
import {
  captureLogs,
  type LogCapture,
  type Reply,
  startServer,
  type TestServer,
} from "../unit/delivery/helpers.js";
import { SAMPLE_SECRET, sampleBytes } from "./support.js";

const WINDOW_SECONDS = 10;

/** `count` copies of the signed v2 security event sample, each with its own event id. */
function burst(count: number, run: string): Buffer {
  const [notification] = JSON.parse(sampleBytes("v2-security-event.json").toString("utf8")) as {
    message: Record<string, unknown>;
  }[];
  const notifications = Array.from({ length: count }, (_, index) => ({
    ...notification,
    message: { ...notification?.message, event_id: `${run}-${index}` },
  }));
  return Buffer.from(JSON.stringify(notifications));
}

describe("the local relay's digests", () => {
  let dataDir: string;
  let receiver: TestServer;
  let logs: LogCapture;
  let relay: LocalRelay | undefined;

  let reply: (body: string) => Reply;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "relay-local-digests-"));
    reply = () => ({ status: 200, body: "ok" });
    receiver = await startServer((request) => reply(request.body));
    logs = captureLogs();
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    logs.restore();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(digest: { immediate: number; windowSeconds: number } | false): Promise<LocalRelay> {
    relay = await startLocalRelay({
      signingKeys: [SAMPLE_SECRET],
      settings: parseRelaySettings({ backends: { log: { enabled: false }, slack: { digest } } }),
      secrets: { slack: { webhookUrl: `${receiver.origin}/slack/alerts` } },
      dataDir,
    });
    return relay;
  }

  const posts = () => receiver.requests.map((request) => (JSON.parse(request.body) as { text: string }).text);
  const refusing = (text: string) => (body: string) =>
    body.includes(text) ? { status: 404, body: "no_service" } : { status: 200, body: "ok" };

  it("sends the first alert alone, then one digest of the rest once the window closes, across a restart", async () => {
    let local = await start({ immediate: 1, windowSeconds: WINDOW_SECONDS });
    const result = await sendRequest(
      local.webhookUrl,
      buildSqreenRequest(burst(5, "digest-a"), SAMPLE_SECRET),
    );
    expect(result.status).toBe(200);
    await local.drained();
    expect(posts()).toEqual([expect.stringContaining("[Sqreen] HIGH shop-api/production")]);
    // The window holds four alerts and its close waits in the database: a restart keeps both.
    await local.close();
    local = await start({ immediate: 1, windowSeconds: WINDOW_SECONDS });
    await local.digestsSent();
    expect(posts()).toHaveLength(2);
    expect(posts()[1]).toContain("[Sqreen digest] HIGH 4 alerts (Security event, shop-api/production)");
    // Resent by Sqreen after the digest: every alert was already admitted, nothing is sent again.
    await sendRequest(local.webhookUrl, buildSqreenRequest(burst(5, "digest-a"), SAMPLE_SECRET));
    await local.drained();
    await local.digestsSent();
    expect(posts()).toHaveLength(2);
  }, 40_000);

  it('with "digest": false sends every alert alone, as before digests', async () => {
    const local = await start(false);
    await sendRequest(local.webhookUrl, buildSqreenRequest(burst(5, "digest-b"), SAMPLE_SECRET));
    await local.drained();
    expect(posts()).toHaveLength(5);
    expect(posts().every((text) => text.startsWith("[Sqreen] HIGH"))).toBe(true);
    expect(local.stats().backendQueues["slack-queue"]?.sent).toBe(0);
  });

  it("dead-letters a digest Slack refuses, and sends it once when redriven", async () => {
    const local = await start({ immediate: 1, windowSeconds: WINDOW_SECONDS });
    reply = refusing("[Sqreen digest]");
    await sendRequest(local.webhookUrl, buildSqreenRequest(burst(3, "digest-c"), SAMPLE_SECRET));
    await local.drained();
    await local.digestsSent();
    // Each close message (the first held alerts, delivered at once, may both schedule it) was
    // refused by every receive, then dead-lettered. As on SQS, the dead letter says the consumer
    // failed it; its log line says why.
    const letters = local.deadLetters.list("slack-queue");
    expect(letters.length).toBeGreaterThan(0);
    for (const letter of letters)
      expect(letter.reason).toBe("reported as a batch item failure by the consumer");
    expect(logs.text()).toContain("Slack webhook (alerts): status 404 (permanent)");
    const sentBefore = receiver.requests.length;
    reply = () => ({ status: 200, body: "ok" });
    const summary = await redriveLocal({ store: local.store, backend: "slack-queue", waitMs: 10_000 });
    expect(summary.results.map((result) => result.status)).toEqual(letters.map(() => "replayed"));
    // One digest, however many close messages were replayed.
    expect(posts().slice(sentBefore)).toEqual([expect.stringContaining("[Sqreen digest] HIGH 2 alerts")]);
    expect(local.deadLetters.list("slack-queue")).toEqual([]);
  }, 40_000);
});
