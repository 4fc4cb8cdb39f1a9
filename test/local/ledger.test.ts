/**
 * Done-when of the delivery ledger, locally: `npm run relay -- drill` and `trace` against a real
 * local relay with every backend on (Slack and HTTP at a real receiver, e-mail and SMS to the
 * outbox). A Slack receiver answering 500 makes the drill fail naming Slack, and `trace` shows
 * the failed attempts and the dead letter; after `redrive`, `trace` shows it delivered.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../lib/settings.js";
import type { LocalBackendSecrets } from "../../local/environment.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import { RUN_FILE } from "../../local/store/run-file.js";
import { runRedriveCli } from "../../scripts/redrive/cli.js";
import { type RelayCliIo, runRelayCli } from "../../scripts/relay/cli.js";
import { localLedgerSource, openLocalStore } from "../../scripts/relay/local.js";
import {
  captureOutput,
  newWebhookSecret,
  type OutputCapture,
  type Receiver,
  startReceiver,
} from "./support.js";

const SLACK_PATH = "/slack/alerts";
const HTTP_PATH = "/siem";

interface Cli {
  status: number;
  out: string;
  err: string;
}

describe("the delivery ledger of the local relay", () => {
  let dataDir: string;
  let receiver: Receiver;
  let relay: LocalRelay;
  let output: OutputCapture;
  let slackStatus: number;

  beforeEach(async () => {
    slackStatus = 200;
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-ledger-"));
    receiver = await startReceiver((requested) => (requested === SLACK_PATH ? slackStatus : 200));
    const secrets: LocalBackendSecrets = {
      email: { to: ["secops@example.com"], adminTo: [], from: "relay@example.com" },
      sms: { phoneNumbers: ["+33612345678"], adminPhoneNumbers: [] },
      slack: { webhookUrl: `${receiver.origin}${SLACK_PATH}` },
      http: { targets: [{ url: `${receiver.origin}${HTTP_PATH}`, signingSecret: newWebhookSecret() }] },
    };
    const settings = parseRelaySettings({
      backends: {
        email: { enabled: true, from: "relay@example.com" },
        http: { enabled: true },
        sms: { enabled: true },
        slack: { enabled: true },
      },
    });
    output = captureOutput();
    relay = await startLocalRelay({ port: 0, signingKeys: [newWebhookSecret()], settings, secrets, dataDir });
  });

  afterEach(async () => {
    await relay.close();
    output.restore();
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function cli(...argv: string[]): Promise<Cli> {
    let out = "";
    let err = "";
    const io: RelayCliIo = {
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        err += text;
      },
      env: {},
      local: (dir) => localLedgerSource(dir ?? dataDir),
      stack: () => Promise.reject(new Error("no stack in this test")),
      redrive: (redriveArgv) =>
        runRedriveCli([...redriveArgv, "--wait", "20"], {
          stdout: (text) => {
            out += text;
          },
          stderr: (text) => {
            err += text;
          },
          env: {},
          aws: () => {
            throw new Error("no AWS in this test");
          },
          local: () => openLocalStore(dataDir),
        }),
    };
    const status = await runRelayCli(argv, io);
    return { status, out, err };
  }

  function drillId(out: string): string {
    const id = /Drill (\S+):/.exec(out)?.[1];
    if (!id) throw new Error(`no drill id in: ${out}`);
    return id;
  }

  it("finds the running relay from its owner-only run file, drills every backend and traces the drill", async () => {
    expect(statSync(path.join(dataDir, RUN_FILE)).mode & 0o777).toBe(0o600);

    const drill = await cli(`--local=${dataDir}`, "drill", "--timeout", "20");

    expect(drill.status, drill.out + drill.err).toBe(0);
    for (const backend of ["log", "email", "http", "sms", "slack"]) {
      expect(drill.out).toMatch(new RegExp(`^${backend}\\s+delivered\\s+\\d+\\.\\d s`, "m"));
    }
    const trace = await cli("--local", "trace", drillId(drill.out));
    expect(trace.status).toBe(0);
    expect(trace.out).toMatch(/^email\s+s\*\*\*@example\.com\s+delivered\s+1\s/m);
    expect(trace.out).toMatch(/^sms\s+\+33\*+78\s+delivered\s+1\s/m);
    expect(trace.out).toMatch(
      new RegExp(`^http\\s+${receiver.origin.replace(/\./g, "\\.")}\\s+delivered`, "m"),
    );
    expect(trace.out).toMatch(/^slack\s+alerts\s+delivered/m);
    // Masked labels and origins only: no address, number or webhook path.
    expect(trace.out).not.toContain("secops@example.com");
    expect(trace.out).not.toContain("+33612345678");
    expect(trace.out).not.toContain(SLACK_PATH);
  });

  it("names the backend whose receiver answers 500, traces its failed attempts and dead letter, and its delivery after a redrive", async () => {
    slackStatus = 500;

    const drill = await cli("drill", "--timeout", "30");

    expect(drill.status).toBe(1);
    expect(drill.out).toMatch(/^slack\s+failed\s+.*500/m);
    expect(drill.out).toContain("NOT delivered by: slack");
    const id = drillId(drill.out);
    const failed = await cli("trace", id);
    expect(failed.status).toBe(1);
    expect(failed.out).toMatch(/^slack\s+alerts\s+failed\s+3\s.*500/m);
    expect(failed.out).toMatch(/^slack\s+\(all\)\s+dead-lettered\s/m);
    expect(failed.out).toContain("slack: NOT delivered (dead-lettered)");
    const recent = await cli("recent", "--failed", "--backend", "slack");
    expect(recent.out.match(/failed/g)?.length).toBeGreaterThanOrEqual(3);
    expect(recent.out).toContain("dead-lettered");

    slackStatus = 200;
    const redrive = await cli("redrive", "--local", "--backend", "slack");
    expect(redrive.status, redrive.out + redrive.err).toBe(0);

    const delivered = await cli("trace", id);
    expect(delivered.status, delivered.out).toBe(0);
    expect(delivered.out).toMatch(/^slack\s+alerts\s+delivered\s+4\s/m);
    expect(delivered.out).toMatch(/^slack\s+\(all\)\s+redriven\s/m);
  });

  it("exits 1 for an id it has no entry for", async () => {
    const trace = await cli("trace", "no-such-alert");

    expect(trace.status).toBe(1);
    expect(trace.out).toContain("No ledger entry for no-such-alert");
  });
});
