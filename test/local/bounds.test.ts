/**
 * The local relay's bounds and its stop, in process: past `maxPendingDeliveries` ingest answers
 * 503 instead of growing; `close()` answers 503 to new requests, gives deliveries under way the
 * drain time, and leaves what is unfinished in the database for the next start.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../lib/settings.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import { captureOutput, type OutputCapture, SAMPLE_SECRET, sampleBytes, sampleSignature } from "./support.js";

/** An HTTP target that answers only when told to. */
async function stallingTarget(): Promise<{
  url: string;
  /** Requests received and not answered yet: deliveries under way. */
  readonly held: number;
  release(): void;
  close(): Promise<void>;
}> {
  const waiting: Array<() => void> = [];
  let released = false;
  const server: Server = createServer((request, response) => {
    request.resume();
    const answer = () => response.writeHead(200).end("ok");
    if (released) answer();
    else waiting.push(answer);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    get held() {
      return waiting.length;
    },
    release() {
      released = true;
      for (const answer of waiting.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("the local relay's backlog bound and graceful stop", () => {
  let dataDir: string;
  let output: OutputCapture;
  let target: Awaited<ReturnType<typeof stallingTarget>>;
  const relays: LocalRelay[] = [];

  const start = (options: { maxPendingDeliveries?: number; drainMs?: number } = {}) =>
    startLocalRelay({
      signingKeys: [SAMPLE_SECRET],
      settings: parseRelaySettings({ backends: { log: { enabled: false } } }),
      secrets: {
        http: {
          targets: [{ url: target.url, signingSecret: `whsec_${Buffer.alloc(24, 1).toString("base64")}` }],
        },
      },
      dataDir,
      ...options,
    }).then((relay) => {
      relays.push(relay);
      return relay;
    });

  const post = async (relay: LocalRelay) => {
    const response = await fetch(relay.webhookUrl, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sqreen-integrity": sampleSignature("v2-mixed-batch.json"),
      },
      body: sampleBytes("v2-mixed-batch.json"),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-bounds-"));
    output = captureOutput();
    target = await stallingTarget();
  });
  afterEach(async () => {
    target.release();
    for (const relay of relays.splice(0)) await relay.close();
    await target.close();
    output.restore();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers 503 queue_full once the pending deliveries reach the bound, and accepts again once they drain", async () => {
    const relay = await start({ maxPendingDeliveries: 6 });

    const first = await post(relay);
    const second = await post(relay);
    const pendingWhenFull = relay.stats().pending;
    target.release();
    await relay.drained();
    const third = await post(relay);

    expect(first.status).toBe(200);
    expect(second).toEqual({ status: 503, body: { error: "queue_full", message: expect.any(String) } });
    expect(pendingWhenFull).toBeLessThanOrEqual(6);
    expect(third.status).toBe(200);
  });

  it("on close, answers 503, lets deliveries under way use the drain time, and keeps the rest for the next start", async () => {
    const relay = await start({ drainMs: 300 });
    expect((await post(relay)).status).toBe(200);
    // Every delivery under way: its request has reached the target, which holds the answer.
    while (target.held !== 4) await new Promise((resolve) => setTimeout(resolve, 10));

    const stopping = relay.close();
    const during = await fetch(relay.webhookUrl, { method: "POST" }).then(
      (response) => response.status,
      () => 0,
    );
    const report = await stopping;
    target.release();
    const next = await start();
    await next.drained();

    // Refused (503) or no longer listening (0): never accepted while stopping.
    expect([503, 0]).toContain(during);
    expect(report).toEqual({ interrupted: 4, pending: 4 });
    expect(next.stats().backends.http).toMatchObject({ delivered: 4, pending: 0 });
  });
});
