/**
 * The local pipeline end to end over real HTTP (issue "Route and deliver"): the mixed-batch sample
 * goes in at the webhook and comes out of each of the five backends as the settings route it:
 * e-mail and SMS into the outbox, Slack (through the real @slack/webhook client) and the signed
 * HTTP forward into a local receiver, the log backend onto stdout. What each backend should get is
 * worked out here from the expected Alerts and the filters, not with the relay's routing code.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRelaySettings } from "../../lib/settings.js";
import type { LocalBackendSecrets } from "../../local/environment.js";
import { type LocalRelay, startLocalRelay } from "../../local/pipeline.js";
import {
  alertNamedIn,
  captureOutput,
  type ExpectedAlert,
  expectedAlerts,
  type Filter,
  isInternal,
  type LogLine,
  logLines,
  newWebhookSecret,
  OWN_APPLICATION_ID,
  outboxEmails,
  outboxSms,
  passes,
  type Receiver,
  SAMPLE_SECRET,
  sampleBytes,
  sampleSignature,
  slackAlertId,
  slackText,
  sorted,
  startReceiver,
  verifyStandardWebhook,
} from "./support.js";

const SAMPLE = "v2-mixed-batch.json";
const TAG = "[INTERNAL SECURITY ALERT]";

const SLACK_PATH = "/services/T000/B000/XXX";
const SLACK_ADMIN_PATH = "/services/T000/B111/ADMIN";
const HTTP_PATH = "/hooks/sqreen";
const FROM = "sqreen-alerts@example.com";
const EMAIL_TO = ["oncall@example.com", "security@example.com"];
const ADMIN_EMAILS = ["relay-admin@example.com"];
const SMS_TO = ["+33612345678"];
const ADMIN_PHONES = ["+33698765432"];

/**
 * A different filter per backend, so that each one receives a different part of the batch:
 * the SMS filter is the settings' default (high and above), the others are set below.
 */
const FILTERS = {
  log: {},
  email: { types: ["security_event", "custom_detection"] },
  http: { environments: ["production", "staging"] },
  sms: { minSeverity: "high" },
  slack: { environments: ["production"] },
} satisfies Record<string, Filter>;
type BackendName = keyof typeof FILTERS;

interface Run {
  relay: LocalRelay;
  receiver: Receiver;
  dataDir: string;
  httpSecret: string;
  /** What the process wrote while the relay ran. */
  logs: LogLine[];
  ownApplicationIds: string[];
  alerts: ExpectedAlert[];
  status: number;
}

/** Starts a relay with all five backends, posts the signed sample, and waits until it is all delivered. */
async function runSample(ownApplicationIds: string[]): Promise<Run> {
  const receiver = await startReceiver();
  const dataDir = mkdtempSync(path.join(tmpdir(), "relay-local-routing-"));
  const httpSecret = newWebhookSecret();
  const secrets: LocalBackendSecrets = {
    email: { to: EMAIL_TO, adminTo: ADMIN_EMAILS, from: FROM },
    sms: { phoneNumbers: SMS_TO, adminPhoneNumbers: ADMIN_PHONES },
    slack: {
      webhookUrl: `${receiver.origin}${SLACK_PATH}`,
      adminWebhookUrl: `${receiver.origin}${SLACK_ADMIN_PATH}`,
    },
    http: { targets: [{ url: `${receiver.origin}${HTTP_PATH}`, signingSecret: httpSecret }] },
  };
  const settings = parseRelaySettings({
    ownApplicationIds,
    backends: {
      email: { enabled: true, from: FROM, filter: FILTERS.email },
      http: { enabled: true, filter: FILTERS.http, timeoutSeconds: 5 },
      sms: { enabled: true },
      slack: { enabled: true, filter: FILTERS.slack },
    },
  });
  const output = captureOutput();
  try {
    const relay = await startLocalRelay({
      port: 0,
      signingKeys: [SAMPLE_SECRET],
      settings,
      secrets,
      dataDir,
    });
    const response = await fetch(relay.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sqreen-integrity": sampleSignature(SAMPLE) },
      body: sampleBytes(SAMPLE),
    });
    await response.arrayBuffer();
    await relay.drained();
    return {
      relay,
      receiver,
      dataDir,
      httpSecret,
      logs: logLines(output.text()),
      ownApplicationIds,
      alerts: expectedAlerts(SAMPLE),
      status: response.status,
    };
  } finally {
    output.restore();
  }
}

async function stop(run: Run | undefined): Promise<void> {
  if (!run) return;
  await run.relay.close();
  await run.receiver.close();
  rmSync(run.dataDir, { recursive: true, force: true });
}

/** Ids of the alerts `backend` should deliver, in batch order. */
function routedTo(run: Run, backend: BackendName): ExpectedAlert[] {
  return run.alerts.filter((alert) =>
    passes(FILTERS[backend], alert, isInternal(alert, run.ownApplicationIds)),
  );
}

/** [recipient, alert id] pairs: everyone in `to`, plus `admins` for internal alerts. */
function expectedPairs(run: Run, backend: BackendName, to: string[], admins: string[]): [string, string][] {
  return sorted(
    routedTo(run, backend).flatMap((alert) =>
      (isInternal(alert, run.ownApplicationIds) ? [...to, ...admins] : to).map(
        (recipient): [string, string] => [recipient, alert.id],
      ),
    ),
  );
}

function originalNotifications(): unknown[] {
  return JSON.parse(sampleBytes(SAMPLE).toString("utf8")) as unknown[];
}

/** Assertions that hold whatever the relay's own application ids are. */
function describeDeliveries(run: () => Run): void {
  it("accepts the signed sample", () => {
    expect(run().status).toBe(200);
  });

  it("writes one log line per alert routed to the log backend", () => {
    const logged = run()
      .logs.filter(
        (line) => line.service === "deliver-log" && line.message.endsWith("Alert delivered by log"),
      )
      .map((line) => line.alertId);

    expect(sorted(logged)).toEqual(sorted(routedTo(run(), "log").map((alert) => alert.id)));
  });

  it("puts one e-mail per recipient of each alert routed to e-mail in the outbox", () => {
    const emails = outboxEmails(run().dataDir);

    const pairs = emails.map((email) => [email.to, alertNamedIn(email.text, run().alerts, "id")]);

    expect(sorted(pairs)).toEqual(expectedPairs(run(), "email", EMAIL_TO, ADMIN_EMAILS));
    expect(new Set(emails.map((email) => email.from))).toEqual(new Set([FROM]));
  });

  it("puts one SMS per number of each alert routed to SMS in the outbox", () => {
    const pairs = outboxSms(run().dataDir).map((sms) => [
      sms.phoneNumber,
      alertNamedIn(sms.text, run().alerts, "title"),
    ]);

    expect(sorted(pairs)).toEqual(expectedPairs(run(), "sms", SMS_TO, ADMIN_PHONES));
  });

  it("posts each alert routed to Slack to the incoming webhook with the Slack client", () => {
    const posts = [...run().receiver.at(SLACK_PATH), ...run().receiver.at(SLACK_ADMIN_PATH)];

    const pairs = posts.map((post) => [post.path, slackAlertId(post)]);

    expect(sorted(pairs)).toEqual(expectedPairs(run(), "slack", [SLACK_PATH], [SLACK_ADMIN_PATH]));
    for (const post of posts) {
      expect(post.method).toBe("POST");
      expect(post.headers["user-agent"]).toMatch(/@slack:webhook\//);
    }
  });

  it("forwards each alert routed to HTTP with a valid Standard Webhooks signature and the original notification", () => {
    const requests = run().receiver.at(HTTP_PATH);
    const originals = originalNotifications();

    const ids = requests.map((request) => {
      const webhookId = verifyStandardWebhook(request, run().httpSecret);
      const body = JSON.parse(request.body) as { type: string; data: { id: string; original: unknown } };
      expect(webhookId).toMatch(/^msg_/);
      expect(body.type).toBe("sqreen.alert");
      const index = run().alerts.findIndex((alert) => alert.id === body.data.id);
      expect(body.data.original).toEqual(originals[index]);
      return body.data.id;
    });

    expect(sorted(ids)).toEqual(sorted(routedTo(run(), "http").map((alert) => alert.id)));
  });

  it("receives nothing it was not sent, and dead-letters nothing", () => {
    const paths = new Set(run().receiver.requests.map((request) => request.path));
    const stats = run().relay.stats();

    expect([...paths].every((p) => [SLACK_PATH, SLACK_ADMIN_PATH, HTTP_PATH].includes(p))).toBe(true);
    expect(stats.deadLetters).toEqual({});
    for (const backend of Object.keys(FILTERS) as BackendName[]) {
      const expected = routedTo(run(), backend).length;
      expect(stats.backends[backend], backend).toEqual({
        matched: expected,
        delivered: expected,
        retried: 0,
        deadLettered: 0,
        pending: 0,
      });
    }
  });
}

describe("the local pipeline, routing the mixed batch when none of it concerns the relay itself", () => {
  let run: Run | undefined;
  const current = (): Run => {
    if (!run) throw new Error("the relay did not start");
    return run;
  };

  beforeAll(async () => {
    run = await runSample([]);
  });
  afterAll(() => stop(run));

  it("gives each backend a different part of the batch (the filters are worth testing)", () => {
    const counts = (Object.keys(FILTERS) as BackendName[]).map((backend) =>
      routedTo(current(), backend)
        .map((alert) => alert.id)
        .join(","),
    );

    expect(new Set(counts).size).toBe(5);
  });

  describeDeliveries(current);

  it("reaches no administrator and tags no log line", () => {
    expect(outboxEmails(current().dataDir).some((email) => ADMIN_EMAILS.includes(email.to))).toBe(false);
    expect(outboxSms(current().dataDir).some((sms) => ADMIN_PHONES.includes(sms.phoneNumber))).toBe(false);
    expect(current().receiver.at(SLACK_ADMIN_PATH)).toEqual([]);
    expect(current().logs.some((line) => line.message.includes(TAG))).toBe(false);
  });
});

describe("the local pipeline, routing the mixed batch when the relay's own application is attacked", () => {
  let run: Run | undefined;
  const current = (): Run => {
    if (!run) throw new Error("the relay did not start");
    return run;
  };
  const internalIds = (): string[] =>
    current()
      .alerts.filter((alert) => isInternal(alert, current().ownApplicationIds))
      .map((alert) => alert.id);

  beforeAll(async () => {
    run = await runSample([OWN_APPLICATION_ID]);
  });
  afterAll(() => stop(run));

  it("has internal and ordinary alerts in the batch", () => {
    expect(internalIds().length).toBeGreaterThan(0);
    expect(internalIds().length).toBeLessThan(current().alerts.length);
  });

  describeDeliveries(current);

  it("e-mails every internal alert to the administrators, tagged in the subject", () => {
    const toAdmins = outboxEmails(current().dataDir).filter((email) => ADMIN_EMAILS.includes(email.to));

    expect(sorted(toAdmins.map((email) => alertNamedIn(email.text, current().alerts, "id")))).toEqual(
      sorted(internalIds()),
    );
    for (const email of toAdmins) expect(email.subject.startsWith(TAG)).toBe(true);
  });

  it("texts every internal alert to the administrators' phones", () => {
    const toAdmins = outboxSms(current().dataDir).filter((sms) => ADMIN_PHONES.includes(sms.phoneNumber));

    expect(sorted(toAdmins.map((sms) => alertNamedIn(sms.text, current().alerts, "title")))).toEqual(
      sorted(internalIds()),
    );
  });

  it("posts every internal alert to the administrators' Slack channel, tagged", () => {
    const posts = current().receiver.at(SLACK_ADMIN_PATH);

    expect(sorted(posts.map(slackAlertId))).toEqual(sorted(internalIds()));
    for (const post of posts) expect(slackText(post)).toContain(TAG);
  });

  it("tags every log line about an internal alert, and only those", () => {
    const aboutAlerts = current().logs.filter((line) => typeof line.alertId === "string");
    const internal = aboutAlerts.filter((line) => internalIds().includes(line.alertId as string));
    const ordinary = aboutAlerts.filter((line) => !internalIds().includes(line.alertId as string));

    // Route's line is at debug (lambdas/route/core.ts): at INFO the deliveries' outcome lines name the alert.
    expect(new Set(internal.map((line) => line.service))).toEqual(
      new Set(["deliver-log", "deliver-email", "deliver-http", "deliver-sms", "deliver-slack"]),
    );
    for (const line of internal) expect(line.message.startsWith(`${TAG} `), line.message).toBe(true);
    expect(ordinary.length).toBeGreaterThan(0);
    for (const line of ordinary) expect(line.message).not.toContain(TAG);
  });
});

describe("the local pipeline, when a backend's receiver refuses every delivery", () => {
  let receiver: Receiver;
  let relay: LocalRelay;
  let dataDir: string;
  let logs: LogLine[];

  beforeAll(async () => {
    // 404 is what Slack answers for a revoked webhook: permanent, so only the platform retries.
    receiver = await startReceiver((requested) => (requested === SLACK_PATH ? 404 : 200));
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-local-dead-letters-"));
    const output = captureOutput();
    try {
      relay = await startLocalRelay({
        port: 0,
        signingKeys: [SAMPLE_SECRET],
        settings: parseRelaySettings({ backends: { slack: { enabled: true } } }),
        secrets: { slack: { webhookUrl: `${receiver.origin}${SLACK_PATH}` } },
        dataDir,
      });
      const response = await fetch(relay.webhookUrl, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-sqreen-integrity": sampleSignature("v2-security-event.json"),
        },
        body: sampleBytes("v2-security-event.json"),
      });
      await response.arrayBuffer();
      await relay.drained();
      logs = logLines(output.text());
    } finally {
      output.restore();
    }
  });
  afterAll(async () => {
    await relay?.close();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("tries three times, as Lambda's asynchronous invocation does, then dead-letters the alert", () => {
    expect(receiver.at(SLACK_PATH)).toHaveLength(3);
    expect(relay.stats().backends.slack).toEqual({
      matched: 1,
      delivered: 0,
      retried: 2,
      deadLettered: 1,
      pending: 0,
    });
  });

  it("keeps the alert and a reason that names the status but not the webhook URL in the database's dead letters", () => {
    const letters = relay.deadLetters.list("slack");
    const letter = letters[0] as {
      source: string;
      attempts: number;
      reason: string;
      payload: { message: string };
    };

    expect(letters).toHaveLength(1);
    expect(letter).toMatchObject({ source: "slack", attempts: 3 });
    expect(letter.reason).toContain("status 404");
    expect(letter.reason).not.toContain("XXX");
    expect((JSON.parse(letter.payload.message) as { id: string }).id).toBe("651a7c3e9f2b4d0012ab34cd");
  });

  it("does not hold back the other backends", () => {
    expect(relay.stats().backends.log).toMatchObject({ matched: 1, delivered: 1, deadLettered: 0 });
    expect(logs.filter((line) => line.message === "Alert delivery by slack failed")).toHaveLength(3);
  });
});

describe("the local pipeline, routing a test notification under filters it meets none of", () => {
  const restrictive = { minSeverity: "critical", types: ["security_event"], environments: ["no-such-env"] };
  let receiver: Receiver;
  let relay: LocalRelay;
  let dataDir: string;

  beforeAll(async () => {
    receiver = await startReceiver();
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-local-test-notification-"));
    const output = captureOutput();
    try {
      relay = await startLocalRelay({
        port: 0,
        signingKeys: [SAMPLE_SECRET],
        settings: parseRelaySettings({
          backends: {
            log: { enabled: true, filter: restrictive },
            email: { enabled: true, from: FROM, filter: restrictive },
            http: { enabled: true, filter: restrictive },
            sms: { enabled: true, filter: restrictive },
            slack: { enabled: true, filter: restrictive },
          },
        }),
        secrets: {
          email: { to: EMAIL_TO, adminTo: [], from: FROM },
          sms: { phoneNumbers: SMS_TO, adminPhoneNumbers: [] },
          slack: { webhookUrl: `${receiver.origin}${SLACK_PATH}` },
          http: { targets: [{ url: `${receiver.origin}${HTTP_PATH}`, signingSecret: newWebhookSecret() }] },
        },
        dataDir,
      });
      for (const sample of ["v1-test.json", "v2-test.json"]) {
        const response = await fetch(relay.webhookUrl, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sqreen-integrity": sampleSignature(sample) },
          body: sampleBytes(sample),
        });
        await response.arrayBuffer();
      }
      await relay.drained();
    } finally {
      output.restore();
    }
  });
  afterAll(async () => {
    await relay?.close();
    await receiver?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("delivers the v1 and v2 test alerts by every enabled backend, as Sqreen's test button expects", () => {
    const stats = relay.stats();

    for (const backend of Object.keys(FILTERS) as BackendName[]) {
      expect(stats.backends[backend], backend).toEqual({
        matched: 2,
        delivered: 2,
        retried: 0,
        deadLettered: 0,
        pending: 0,
      });
    }
    expect(receiver.at(SLACK_PATH)).toHaveLength(2);
    expect(receiver.at(HTTP_PATH)).toHaveLength(2);
    expect(outboxEmails(dataDir)).toHaveLength(2 * EMAIL_TO.length);
    expect(outboxSms(dataDir)).toHaveLength(2 * SMS_TO.length);
  });
});
