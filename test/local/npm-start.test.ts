/**
 * `npm start` as a user runs it (issue "Against real protocols", end to end): a child process in
 * the repository root, configured by environment variables only, listening on a real port, fed
 * by the Sqreen simulator CLI as another child process. Slack and the HTTP forward post to a
 * local receiver; e-mail and SMS land in the outbox of a temporary data directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  killAll,
  type RunningProcess,
  run,
  start,
  userEnvironment,
  waitFor,
  waitForListening,
  withDeadline,
} from "./processes.js";
import {
  alertNamedIn,
  type ExpectedAlert,
  expectedAlerts,
  type Filter,
  isInternal,
  logLines,
  newWebhookSecret,
  OWN_APPLICATION_ID,
  outboxEmails,
  outboxSms,
  passes,
  type Receiver,
  repoRoot,
  SAMPLE_SECRET,
  sampleBytes,
  sign,
  slackAlertId,
  sorted,
  startReceiver,
  verifyStandardWebhook,
} from "./support.js";

const TAG = "[INTERNAL SECURITY ALERT]";
/** Settings `{}`: the defaults, whatever relay.config.json a developer keeps in the repository root. */
const DEFAULT_SETTINGS = path.join(repoRoot, "test/local/fixtures/defaults.relay.json");
/** The default filters (lib/settings.ts): everything everywhere, SMS from high severity up. */
const DEFAULT_FILTERS = {
  log: {},
  email: {},
  http: {},
  sms: { minSeverity: "high" },
  slack: {},
} satisfies Record<string, Filter>;
type BackendName = keyof typeof DEFAULT_FILTERS;

const SLACK_PATH = "/services/T000/B000/XXX";
const SLACK_ADMIN_PATH = "/services/T000/B111/ADMIN";
const HTTP_PATH = "/hooks/sqreen";
const EMAIL_TO = ["oncall@example.com", "security@example.com"];
const ADMIN_EMAILS = ["relay-admin@example.com"];
const SMS_TO = ["+33612345678"];
const ADMIN_PHONES = ["+33698765432"];

/** `npm start`, the way the README tells a user to run the relay. */
function npmStart(variables: Record<string, string>): RunningProcess {
  return start("npm", ["start"], userEnvironment({ RELAY_CONFIG: DEFAULT_SETTINGS, ...variables }));
}

/** The Sqreen simulator CLI, run to completion. */
function sqreen(args: string[]) {
  return run("npx", ["tsx", "bin/sqreen.ts", ...args], userEnvironment({}));
}

describe("npm start, configured by environment variables and fed by the Sqreen simulator", () => {
  let receiver: Receiver;
  let dataDir = "";

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await killAll();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    dataDir = "";
  });
  afterAll(async () => {
    await killAll();
    await receiver.close();
  });

  it("delivers the mixed batch to every backend, tags internal alerts, and refuses a tampered signature", async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-npm-start-"));
    const port = await freePort();
    const httpSecret = newWebhookSecret();
    const ownIds = [OWN_APPLICATION_ID];
    const relay = npmStart({
      PORT: String(port),
      SQREEN_WEBHOOK_SECRET: SAMPLE_SECRET,
      OWN_APPLICATION_IDS: ownIds.join(","),
      EMAIL_TO: EMAIL_TO.join(","),
      ADMIN_EMAILS: ADMIN_EMAILS.join(","),
      SMS_TO: SMS_TO.join(","),
      ADMIN_PHONE_NUMBERS: ADMIN_PHONES.join(","),
      SLACK_WEBHOOK_URL: `${receiver.origin}${SLACK_PATH}`,
      ADMIN_SLACK_WEBHOOK_URL: `${receiver.origin}${SLACK_ADMIN_PATH}`,
      HTTP_FORWARD_URL: `${receiver.origin}${HTTP_PATH}`,
      HTTP_FORWARD_SECRET: httpSecret,
      RELAY_DATA_DIR: dataDir,
    });
    const webhookUrl = `http://127.0.0.1:${port}/v1/webhook`;
    await waitForListening(relay, `http://127.0.0.1:${port}`);
    const alerts = expectedAlerts("v2-mixed-batch.json");
    const internal = (alert: ExpectedAlert) => isInternal(alert, ownIds);
    const routed = (backend: BackendName) =>
      alerts.filter((alert) => passes(DEFAULT_FILTERS[backend], alert, internal(alert)));
    const pairs = (backend: BackendName, to: string[], admins: string[]) =>
      sorted(
        routed(backend).flatMap((alert) =>
          (internal(alert) ? [...to, ...admins] : to).map((recipient) => [recipient, alert.id]),
        ),
      );
    const deliveryLines = () =>
      logLines(relay.stdout()).filter((line) => /Alert delivered by \w+$/.test(line.message));
    const expectedDeliveries = (Object.keys(DEFAULT_FILTERS) as BackendName[]).reduce(
      (total, backend) => total + routed(backend).length,
      0,
    );

    const sent = await sqreen([
      "send",
      "--url",
      webhookUrl,
      "--secret",
      SAMPLE_SECRET,
      "--sample",
      "v2-mixed-batch",
    ]);
    await waitFor(
      relay,
      `${expectedDeliveries} delivery log lines`,
      () => deliveryLines().length >= expectedDeliveries,
    );
    const tampered = await sqreen([
      "send",
      "--url",
      webhookUrl,
      "--secret",
      SAMPLE_SECRET,
      "--sample",
      "v2-mixed-batch",
      "--tamper",
    ]);
    await waitFor(relay, "the 401 log line", () => relay.stderr().includes('"status":401'));

    expect(relay.stdout()).toContain(`sqreen-relay listening on ${webhookUrl}`);
    expect(relay.stdout()).toContain("backends: log, email, http, sms, slack");
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^200 in /m);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/^401 in /m);

    const logged = deliveryLines()
      .filter((line) => line.service === "deliver-log")
      .map((line) => line.alertId);
    expect(sorted(logged)).toEqual(sorted(routed("log").map((alert) => alert.id)));
    const tagged = logLines(relay.stdout()).filter((line) => line.message.includes(TAG));
    expect(new Set(tagged.map((line) => line.alertId))).toEqual(
      new Set(alerts.filter(internal).map((alert) => alert.id)),
    );
    for (const line of tagged) expect(line.message.startsWith(`${TAG} `)).toBe(true);

    const emails = outboxEmails(dataDir).map((email) => [email.to, alertNamedIn(email.text, alerts, "id")]);
    expect(sorted(emails)).toEqual(pairs("email", EMAIL_TO, ADMIN_EMAILS));
    const texts = outboxSms(dataDir).map((sms) => [sms.phoneNumber, alertNamedIn(sms.text, alerts, "title")]);
    expect(sorted(texts)).toEqual(pairs("sms", SMS_TO, ADMIN_PHONES));

    const slack = [...receiver.at(SLACK_PATH), ...receiver.at(SLACK_ADMIN_PATH)];
    expect(sorted(slack.map((post) => [post.path, slackAlertId(post)]))).toEqual(
      pairs("slack", [SLACK_PATH], [SLACK_ADMIN_PATH]),
    );
    const forwarded = receiver.at(HTTP_PATH).map((request) => {
      verifyStandardWebhook(request, httpSecret);
      return (JSON.parse(request.body) as { data: { id: string } }).data.id;
    });
    expect(sorted(forwarded)).toEqual(sorted(routed("http").map((alert) => alert.id)));
  });

  it("without SQREEN_WEBHOOK_SECRET, prints a generated secret and a command that sends a signed sample", async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-npm-start-"));
    const port = await freePort();
    const relay = npmStart({ PORT: String(port), RELAY_DATA_DIR: dataDir });
    const command = /^\s*npm run sqreen -- (send .*)$/m;
    await waitFor(relay, "the ready-to-paste command", () => command.test(relay.stdout()));

    const args = (command.exec(relay.stdout())?.[1] ?? "").trim().split(/\s+/);
    const secret = args[args.indexOf("--secret") + 1];
    const pasted = await run("npm", ["run", "sqreen", "--", ...args], userEnvironment({}));
    await waitFor(relay, "the log backend's lines", () =>
      logLines(relay.stdout()).some((line) => line.service === "deliver-log"),
    );

    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(relay.stdout()).toContain(`  ${secret}\n`);
    expect(args).toContain(`http://127.0.0.1:${port}/v1/webhook`);
    expect(pasted.code).toBe(0);
    expect(pasted.stdout).toMatch(/^200 in /m);
  });

  it("stops on SIGTERM sent to the npm process, and after a restart sends nothing twice for a resent request", async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-npm-start-"));
    const port = await freePort();
    const variables = {
      PORT: String(port),
      SQREEN_WEBHOOK_SECRET: SAMPLE_SECRET,
      EMAIL_TO: EMAIL_TO.join(","),
      RELAY_DATA_DIR: dataDir,
    };
    const origin = `http://127.0.0.1:${port}`;
    const body = sampleBytes("v2-mixed-batch.json");
    const send = async () => {
      const response = await fetch(`${origin}/v1/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-sqreen-integrity": sign(body, SAMPLE_SECRET) },
        body,
      });
      await response.arrayBuffer();
      return response.status;
    };
    const emailsExpected = expectedAlerts("v2-mixed-batch.json").length * EMAIL_TO.length;

    const first = npmStart(variables);
    await waitForListening(first, origin);
    expect(await send()).toBe(200);
    await waitFor(first, "the e-mails in the outbox", () => outboxEmails(dataDir).length === emailsExpected);
    // The npm process only, as a service manager or `kill <pid>` would: npm forwards it.
    first.child.kill("SIGTERM");
    const code = await withDeadline(first.exited, 20_000, () => "npm start to stop on SIGTERM", first);
    const refused = await fetch(origin, { signal: AbortSignal.timeout(2_000) }).then(
      () => false,
      () => true,
    );

    const second = npmStart(variables);
    await waitForListening(second, origin);
    expect(await send()).toBe(200);
    await waitFor(second, "the resent alerts' log lines", () =>
      logLines(second.stdout()).some((line) => line.service === "deliver-email" && line.duplicate === true),
    );

    expect(code).toBe(0);
    expect(first.stdout()).toContain("SIGTERM: stopping");
    expect(refused, "nothing listens once npm start has stopped").toBe(true);
    expect(outboxEmails(dataDir)).toHaveLength(emailsExpected);
  });

  it('with SQREEN_WEBHOOK_SECRET="" exits with an error saying how to fix it', async () => {
    const port = await freePort();
    const relay = npmStart({ PORT: String(port), SQREEN_WEBHOOK_SECRET: "" });

    const code = await withDeadline(relay.exited, 25_000, () => "npm start to exit", relay);

    expect(code).not.toBe(0);
    expect(relay.stderr()).toContain("SQREEN_WEBHOOK_SECRET is set but empty");
    expect(relay.stderr()).toMatch(/Set it to the webhook secret shown in Sqreen/);
    expect(relay.stderr()).toMatch(/unset it/);
  });

  it("with an administrators' Slack webhook but no alerts webhook, exits instead of dropping internal alerts", async () => {
    const port = await freePort();
    const relay = npmStart({
      PORT: String(port),
      SQREEN_WEBHOOK_SECRET: SAMPLE_SECRET,
      ADMIN_SLACK_WEBHOOK_URL: `${receiver.origin}${SLACK_ADMIN_PATH}`,
    });

    const code = await withDeadline(relay.exited, 25_000, () => "npm start to exit", relay);

    expect(code).not.toBe(0);
    expect(relay.stderr()).toContain("ADMIN_SLACK_WEBHOOK_URL is set but SLACK_WEBHOOK_URL is not");
  });

  it("with a short secret, starts with a warning and accepts requests signed with it", async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "relay-npm-start-"));
    const port = await freePort();
    const secret = "short-dev-secret";
    const relay = npmStart({ PORT: String(port), SQREEN_WEBHOOK_SECRET: secret, RELAY_DATA_DIR: dataDir });
    await waitForListening(relay, `http://127.0.0.1:${port}`);
    const body = sampleBytes("v2-security-event.json");

    const response = await fetch(`http://127.0.0.1:${port}/v1/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sqreen-integrity": sign(body, secret) },
      body,
    });

    expect(relay.stderr()).toContain(
      `warning: a signing key of SQREEN_WEBHOOK_SECRET is only ${secret.length} characters`,
    );
    expect(response.status).toBe(200);
  });
});
