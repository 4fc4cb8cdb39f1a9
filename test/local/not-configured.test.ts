/**
 * The local stack with every backend enabled but its secret still the placeholder the stack
 * creates in AWS (lib/constructs/relay-secrets.ts): the webhook accepts the signed sample, the log backend
 * delivers it, and each other backend retries it and then dead-letters it with a reason naming
 * what to fill in, nothing sent and nothing lost. Filled in and the relay restarted,
 * `npm run redrive -- --local` (its module) hands the dead letters back and the relay delivers them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_PLACEHOLDERS } from "../../lib/constructs/relay-secrets.js";
import { parseRelaySettings } from "../../lib/settings.js";
import type { LocalBackendSecrets } from "../../local/environment.js";
import { LOCAL_SECRET_VARIABLES } from "../../local/environment.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import { type DeadLetter, DeadLetterStore } from "../../local/store/dead-letters.js";
import { RelayStore } from "../../local/store/relay-store.js";
import { redriveLocal } from "../../scripts/redrive/local.js";
import {
  captureOutput,
  type LogLine,
  logLines,
  outboxEmails,
  outboxSms,
  SAMPLE_SECRET,
  sampleBytes,
  sampleSignature,
} from "./support.js";

const SAMPLE = "v2-security-event.json";
const ALERT_ID = "651a7c3e9f2b4d0012ab34cd";
const FROM = "sqreen-alerts@example.com";
const PLACEHOLDERS: LocalBackendSecrets = {
  email: { ...SECRET_PLACEHOLDERS.email, from: FROM },
  sms: SECRET_PLACEHOLDERS.sms,
  slack: SECRET_PLACEHOLDERS.slack,
  http: SECRET_PLACEHOLDERS.http,
};
const settings = parseRelaySettings({
  backends: {
    email: { enabled: true, from: FROM },
    http: { enabled: true },
    // The sample is a high-severity event, which the default SMS filter lets through.
    sms: { enabled: true },
    slack: { enabled: true },
  },
});

describe("the local stack with placeholder secrets", () => {
  let relay: LocalRelay;
  let dataDir: string;
  let status: number;
  let logs: LogLine[];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-local-placeholders-"));
    const output = captureOutput();
    try {
      relay = await startLocalRelay({
        signingKeys: [SAMPLE_SECRET],
        settings,
        secrets: PLACEHOLDERS,
        dataDir,
        retryDelayMs: () => 1,
      });
      const response = await fetch(relay.webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "x-sqreen-integrity": sampleSignature(SAMPLE) },
        body: sampleBytes(SAMPLE),
      });
      await response.arrayBuffer();
      status = response.status;
      await relay.drained();
    } finally {
      output.restore();
    }
    logs = logLines(output.text());
  });
  /** The dead letters the local stack keeps in its database, as redrive reads them. */
  const deadLetters = (backend: string): DeadLetter[] => {
    const store = new RelayStore({ dataDir, shared: true });
    try {
      return new DeadLetterStore(store).list(backend);
    } finally {
      store.close();
    }
  };

  afterAll(async () => {
    await relay?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("accepts the notification and delivers it to the log backend", () => {
    expect(status).toBe(200);
    expect(logs.some((line) => line.service === "deliver-log" && line.outcome === "delivered")).toBe(true);
  });

  it.each([
    ["email", "to: no recipient"],
    ["sms", "phoneNumbers: no phone number"],
    ["slack", "webhookUrl: not the http(s) URL of a Slack incoming webhook"],
    ["http", "targets: no target"],
  ] as const)("dead-letters it from %s after its retries, saying which secret to fill in", (backend, why) => {
    const letters = deadLetters(backend);

    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ attempts: 3 });
    expect(letters[0]?.reason).toContain(
      `BackendNotConfiguredError: Secret ${LOCAL_SECRET_VARIABLES[backend]} is not configured (${why}`,
    );
    expect(letters[0]?.reason).toContain(
      "fill it in, then replay the dead-lettered alerts with npm run redrive",
    );
    expect(relay.stats().backends[backend]).toMatchObject({ matched: 1, retried: 2, deadLettered: 1 });
  });

  it("sends nothing to the outboxes", () => {
    expect(outboxEmails(dataDir)).toEqual([]);
    expect(outboxSms(dataDir)).toEqual([]);
  });

  it("delivers the dead letters once the secret is filled in and they are replayed", async () => {
    const filled: LocalBackendSecrets = {
      email: { to: ["secops@example.com"], adminTo: [], from: FROM },
      sms: { phoneNumbers: ["+33612345678"], adminPhoneNumbers: [] },
    };
    const output = captureOutput();
    try {
      // The operator fills the secrets in and restarts the relay on the same data directory.
      await relay.close();
      relay = await startLocalRelay({
        signingKeys: [SAMPLE_SECRET],
        settings,
        secrets: { ...PLACEHOLDERS, ...filled },
        dataDir,
        retryDelayMs: () => 1,
      });
      for (const backend of ["email", "sms"] as const) {
        const store = new RelayStore({ dataDir, shared: true });
        try {
          const summary = await redriveLocal({ store, backend });
          expect(summary).toMatchObject({ seen: 1, replayed: 1, failed: 0 });
        } finally {
          store.close();
        }
      }
    } finally {
      output.restore();
    }

    expect(outboxEmails(dataDir).map((email) => [email.to, email.text.includes(ALERT_ID)])).toEqual([
      ["secops@example.com", true],
    ]);
    expect(outboxSms(dataDir).map((sms) => sms.phoneNumber)).toEqual(["+33612345678"]);
  });
});
