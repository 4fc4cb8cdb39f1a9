/**
 * `npm run redrive -- --local`: dead letters in the relay's data directory handed back to the
 * relay, which replays them with its own configuration (nothing but the data directory needed).
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../../lib/settings.js";
import { type LocalRelay, startLocalRelay } from "../../../local/pipeline.js";
import { DeadLetterStore } from "../../../local/store/dead-letters.js";
import { RelayStore } from "../../../local/store/relay-store.js";
import { redriveLocal } from "../../../scripts/redrive/local.js";
import { slackAlertId } from "../../local/support.js";
import { captureLogs, type LogCapture, startServer, type TestServer } from "../delivery/helpers.js";

const FIXTURE = resolve(import.meta.dirname, "../../fixtures/redrive/slack-dead-letters.jsonl");
const SECURITY_EVENT_ID = "651a7c3e9f2b4d0012ab34cd";
const INTERNAL_ID = "651a91bb9f2b4d0012ab3700";

describe("redriving the local relay's dead letters", () => {
  let dir: string;
  let server: TestServer;
  let status: number;
  let logs: LogCapture;
  let relay: LocalRelay | undefined;

  /** Writes the fixture's dead letters (two alerts and one unreadable letter) into the database. */
  function seedDeadLetters(): void {
    const store = new RelayStore({ dataDir: dir, shared: true });
    const letters = new DeadLetterStore(store);
    for (const line of readFileSync(FIXTURE, "utf8").split("\n").filter(Boolean)) {
      try {
        letters.put(JSON.parse(line));
      } catch {
        letters.put({ source: "slack", reason: "garbage", attempts: 3, failedAt: "", payload: line });
      }
    }
    store.close();
  }

  function startRelay(): Promise<LocalRelay> {
    return startLocalRelay({
      signingKeys: ["k".repeat(64)],
      settings: parseRelaySettings({ backends: { log: { enabled: false }, slack: { enabled: true } } }),
      secrets: {
        slack: {
          webhookUrl: `${server.origin}/services/alerts`,
          adminWebhookUrl: `${server.origin}/services/admin`,
        },
      },
      dataDir: dir,
      retryDelayMs: () => 10,
    });
  }

  function openShared(): RelayStore {
    return new RelayStore({ dataDir: dir, shared: true });
  }

  const postedIds = () => server.requests.map((request) => slackAlertId(request)).sort();

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "relay-redrive-"));
    status = 200;
    server = await startServer(() => ({ status, body: status === 200 ? "ok" : "no_service" }));
    logs = captureLogs();
    seedDeadLetters();
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    logs.restore();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the dead letters with their reasons on a dry run, and changes nothing", async () => {
    const store = openShared();

    const summary = await redriveLocal({ store, backend: "slack", dryRun: true });

    expect(summary.results.map((result) => result.status)).toEqual(Array(3).fill("would-replay"));
    expect(summary.results.map((result) => result.alertId).sort()).toEqual([
      SECURITY_EVENT_ID,
      INTERNAL_ID,
      "unknown",
    ]);
    expect(summary.results.find((result) => result.alertId === SECURITY_EVENT_ID)?.reason).toMatch(
      /answered 503/,
    );
    expect(new DeadLetterStore(store).counts()).toEqual({ slack: 3 });
    store.close();
  });

  it("waits for a running relay to replay them, and reports each one", async () => {
    relay = await startRelay();
    const store = openShared();

    const summary = await redriveLocal({ store, backend: "slack" });
    store.close();

    expect(summary).toMatchObject({ seen: 3, replayed: 2, unreadable: 1, failed: 0, handedBack: 0 });
    // The internal alert also goes to the administrators' channel.
    expect(postedIds()).toEqual([SECURITY_EVENT_ID, INTERNAL_ID, INTERNAL_ID]);
    expect(relay.stats().deadLetters).toEqual({ slack: 1 });
  });

  it("reports a replay that failed again with its new reason, and keeps it", async () => {
    status = 404;
    relay = await startRelay();
    const store = openShared();

    const summary = await redriveLocal({ store, backend: "slack", max: 1 });
    store.close();

    expect(summary).toMatchObject({ seen: 1, failed: 1, replayed: 0 });
    expect(summary.results[0]?.reason).toMatch(/404/);
    expect(relay.stats().deadLetters).toEqual({ slack: 3 });
  });

  it("hands them back when no relay runs, and the next start delivers them", async () => {
    const store = openShared();
    const summary = await redriveLocal({ store, backend: "slack", waitMs: 0 });
    store.close();
    expect(summary).toMatchObject({ handedBack: 2, unreadable: 1, replayed: 0 });
    expect(server.requests).toHaveLength(0);

    relay = await startRelay();
    await relay.drained();

    expect(postedIds()).toEqual([SECURITY_EVENT_ID, INTERNAL_ID, INTERNAL_ID]);
  });

  it("sends nothing twice when a dead letter is replayed again: the idempotency records are the relay's", async () => {
    relay = await startRelay();
    const first = openShared();
    await redriveLocal({ store: first, backend: "slack" });
    first.close();
    // The same letters dead-lettered again (say, a copy of an old data directory restored).
    seedDeadLetters();

    const second = openShared();
    const summary = await redriveLocal({ store: second, backend: "slack" });
    second.close();

    expect(summary).toMatchObject({ replayed: 2 });
    expect(postedIds()).toEqual([SECURITY_EVENT_ID, INTERNAL_ID, INTERNAL_ID]);
  });
});
