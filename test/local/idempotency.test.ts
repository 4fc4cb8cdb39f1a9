/**
 * The local relay (npm start) over real HTTP: a signed Sqreen request sent twice, as Sqreen does
 * when it retries, produces each e-mail, SMS, Slack post and HTTP post once, because the local
 * stack guards deliveries with the in-process idempotency store by default.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../lib/settings.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import { buildSqreenRequest, sendRequest } from "../../scripts/sqreen/request.js";
import { SAMPLES_DIR } from "../samples.js";
import { captureLogs, type LogCapture, startServer, type TestServer } from "../unit/delivery/helpers.js";

const SAMPLES = SAMPLES_DIR;
const SIGNATURES = JSON.parse(readFileSync(join(SAMPLES, "SIGNATURES.json"), "utf8")) as {
  secret: string;
  own_application_id_for_internal_alert_samples: string;
};

function jsonLines(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("the local relay with its default idempotency store", () => {
  let dataDir: string;
  let receiver: TestServer;
  let logs: LogCapture;
  let relay: LocalRelay | undefined;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "relay-idempotency-"));
    receiver = await startServer(() => ({ status: 200, body: "ok" }));
    logs = captureLogs();
  });
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    logs.restore();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(options: { unguarded?: boolean } = {}): Promise<LocalRelay> {
    relay = await startLocalRelay({
      signingKeys: [SIGNATURES.secret],
      settings: parseRelaySettings({
        ownApplicationIds: [SIGNATURES.own_application_id_for_internal_alert_samples],
      }),
      secrets: {
        email: { to: ["alerts@example.com"], adminTo: ["admin@example.com"], from: "relay@example.com" },
        sms: { phoneNumbers: ["+33600000001"], adminPhoneNumbers: ["+33600000002"] },
        slack: {
          webhookUrl: `${receiver.origin}/slack/alerts`,
          adminWebhookUrl: `${receiver.origin}/slack/admin`,
        },
        http: {
          targets: [
            {
              url: `${receiver.origin}/http/hook`,
              signingSecret: `whsec_${randomBytes(24).toString("base64")}`,
            },
          ],
        },
      },
      dataDir,
      ...(options.unguarded ? { guard: false as const } : {}),
    });
    return relay;
  }

  async function sendMixedBatch(target: LocalRelay): Promise<void> {
    const body = readFileSync(join(SAMPLES, "v2-mixed-batch.json"));
    const result = await sendRequest(target.webhookUrl, buildSqreenRequest(body, SIGNATURES.secret));
    expect(result.status).toBe(200);
    await target.drained();
  }

  function sent(): { email: number; sms: number; slack: number; http: number } {
    return {
      email: jsonLines(join(dataDir, "outbox", "email.jsonl")).length,
      sms: jsonLines(join(dataDir, "outbox", "sms.jsonl")).length,
      slack: receiver.requests.filter((request) => request.path.startsWith("/slack/")).length,
      http: receiver.requests.filter((request) => request.path.startsWith("/http/")).length,
    };
  }

  it("sends nothing twice when Sqreen resends the same signed request", async () => {
    const local = await start();

    await sendMixedBatch(local);
    const once = sent();
    await sendMixedBatch(local);

    expect(once.email).toBeGreaterThan(0);
    expect(once.sms).toBeGreaterThan(0);
    expect(once.slack).toBeGreaterThan(0);
    expect(once.http).toBeGreaterThan(0);
    expect(sent()).toEqual(once);
    // Every arrival still completed (the duplicates from the record), none was dead-lettered.
    for (const backend of local.backends) {
      expect(local.stats().backends[backend]).toMatchObject({ deadLettered: 0 });
      expect(local.stats().backends[backend]?.delivered).toBe(local.stats().backends[backend]?.matched);
    }
  });

  it("delivers every arrival when told to run unguarded (guard: false)", async () => {
    const local = await start({ unguarded: true });

    await sendMixedBatch(local);
    const once = sent();
    await sendMixedBatch(local);

    expect(sent()).toEqual({
      email: once.email * 2,
      sms: once.sms * 2,
      slack: once.slack * 2,
      http: once.http * 2,
    });
  });
});
