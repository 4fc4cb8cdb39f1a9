/**
 * The bundle tier: the example configuration's synthesized stack (cdk.out.bundles, see
 * global-setup.ts), run as Lambda runs it. Every function is its cdk.out bundle under Node.js 24
 * with the Lambda runtime interface client, with the environment its template resource gives it;
 * every AWS service between them is moto_server, created from the template (deployment.ts), or
 * played by the harness as AWS plays it (bundle-relay.ts); Slack and the HTTP backend's target
 * are a loopback receiver. Every AWS call a function made is then checked against its role's
 * policies in the template.
 *
 * The cases follow the stack's life: its placeholder secrets first, then the secrets filled in
 * as the README's deploy steps say, the chain end to end, and the contract cases of issue 11.
 * Nothing here reads lambdas/ or lib/: the template and the bundles are the only inputs.
 */
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { DeleteTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { sqreenWireBytes, type WireValue } from "../../scripts/sqreen/wire.js";
import { SAMPLES_DIR } from "../samples.js";
import {
  ACCOUNT_ID,
  type AsyncDelivery,
  BundleRelay,
  type CapturedEnvelope,
  REGION,
} from "./bundle-relay.js";
import { policySource } from "./deployment.js";
import { apiStage } from "./events.js";
import type { StackFunction } from "./functions.js";
import { bareAddress, readCall } from "./iam/aws-calls.js";
import {
  type CheckedAuthorization,
  checkRun,
  describeViolations,
  serviceMayInvoke,
} from "./iam/iam-check.js";
import type { InvocationResult, LogLine } from "./lambda-runtime.js";
import { metricAlarms, metricsFromLogs } from "./metrics.js";
import { readSynthesizedStack, resourcesOfType, type Template } from "./template.js";

const STACK_NAME = "SqreenRelay";
const outDir = inject("bundlesOutDir");
const runtime = inject("bundleRuntime");
const config = JSON.parse(readFileSync(inject("bundlesConfig"), "utf8")) as {
  ownApplicationIds: string[];
  backends: { email: { from: string } };
};
const signatures = JSON.parse(readFileSync(path.join(SAMPLES_DIR, "SIGNATURES.json"), "utf8")) as {
  secret: string;
  signatures: Record<string, string>;
};
const SECRET = signatures.secret;
/** Read at collection time (the global setup synthesized it), so there is one IAM case per function. */
const templateFunctions = resourcesOfType(
  readSynthesizedStack(outDir, STACK_NAME).template,
  "AWS::Lambda::Function",
).map(([logicalId]) => logicalId);

/** The values an operator puts in the secrets, per the README's table; every endpoint on loopback. */
function filledSecrets(receiverUrl: string) {
  return {
    EmailSecretArn: { to: ["secops@example.com"], adminTo: ["admin@example.com"] },
    SmsSecretArn: { phoneNumbers: ["+33612345678"], adminPhoneNumbers: ["+33687654321"] },
    SlackSecretArn: {
      webhookUrl: `${receiverUrl}/slack/alerts`,
      adminWebhookUrl: `${receiverUrl}/slack/admin`,
    },
    HttpSecretArn: {
      targets: [{ url: `${receiverUrl}/siem`, signingSecret: `whsec_${randomBytes(24).toString("base64")}` }],
    },
  };
}
const EMAIL_RECIPIENTS = ["secops@example.com", "admin@example.com"];

function sample(name: string): WireValue[] {
  return JSON.parse(readFileSync(path.join(SAMPLES_DIR, `${name}.json`), "utf8")) as WireValue[];
}

function sign(body: Uint8Array, secret = SECRET): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

type Notification = { message: Record<string, WireValue> } & Record<string, WireValue>;

/** The v2 security event sample with a fresh event id; `internal` makes it about the relay itself. */
function securityEvent(
  options: { internal?: boolean; eventId?: string; environment?: string } = {},
): Notification {
  const [notification] = sample("v2-security-event") as [Notification];
  notification.message.event_id = options.eventId ?? `bundle-${randomUUID()}`;
  if (options.internal) notification.message.application_id = config.ownApplicationIds[0] as string;
  if (options.environment) notification.message.environment = options.environment;
  return notification;
}

/**
 * An environment no other case uses. The human backends group alerts into digest windows per
 * application, environment and kind (SMS: 1 alert at once per 10 minutes): a case about one
 * alert reaching every backend alone gives it a group of its own, so the cases before it, minutes
 * earlier, have not used up its window.
 */
function freshEnvironment(): string {
  return `bundle-${randomUUID().slice(0, 8)}`;
}

function webhook(notifications: readonly WireValue[], options: { base64?: boolean; secret?: string } = {}) {
  const body = sqreenWireBytes(notifications);
  return {
    method: "POST",
    path: "/v1/webhook",
    headers: {
      "content-type": "application/json",
      "x-sqreen-integrity": sign(body, options.secret),
      "user-agent": "Sqreen/1.0",
    },
    body,
    base64: options.base64,
  };
}

/** The Alert an envelope carries (route's wire format, read as data). */
function alertOf(captured: CapturedEnvelope): { id: string; sourceType: string; internal: boolean } {
  return JSON.parse(captured.envelope.Message) as { id: string; sourceType: string; internal: boolean };
}

function errorMessage(result: InvocationResult): string {
  return `${result.error?.errorType ?? ""}: ${result.error?.errorMessage ?? ""}`;
}

function logText(logs: readonly LogLine[]): string {
  return logs.map((line) => line.text).join("\n");
}

describe("the synthesized stack, run as Lambda runs it, against moto", () => {
  let relay: BundleRelay;
  let backends: Record<string, StackFunction>;

  beforeAll(async () => {
    relay = await BundleRelay.start({
      outDir,
      stackName: STACK_NAME,
      runtime,
      // The README's step 1, and the sandbox's rule that recipients are verified too.
      sesIdentities: [config.backends.email.from, ...EMAIL_RECIPIENTS],
    });
    backends = relay.relay.deliver;
  });

  afterAll(async () => {
    await relay?.stop();
  });

  /** Polls the ingest queue until it is empty; every route run must report no failure. */
  async function routeAll(): Promise<InvocationResult[]> {
    const runs: InvocationResult[] = [];
    for (let round = 0; round < 20; round++) {
      const run = await relay.pollIngest();
      if (!run) return runs;
      runs.push(run.invocation);
      expect(run.invocation.ok, errorMessage(run.invocation)).toBe(true);
      expect(run.failed, logText(run.invocation.logs)).toEqual([]);
    }
    throw new Error("The ingest queue did not empty in 20 route runs");
  }

  /** Every captured envelope delivered by its function, per backend name. */
  async function deliverAll(
    captured: Map<string, CapturedEnvelope[]>,
  ): Promise<Map<string, AsyncDelivery[]>> {
    const outcomes = new Map<string, AsyncDelivery[]>();
    for (const [backend, fn] of Object.entries(backends)) {
      const list: AsyncDelivery[] = [];
      for (const envelope of captured.get(fn.logicalId) ?? []) list.push(await relay.deliver(envelope));
      outcomes.set(backend, list);
    }
    return outcomes;
  }

  function capturedFor(captured: Map<string, CapturedEnvelope[]>, backend: string): CapturedEnvelope[] {
    const fn = backends[backend];
    if (!fn) throw new Error(`The template has no ${backend} backend`);
    return captured.get(fn.logicalId) ?? [];
  }

  describe("as the stack creates it, with its placeholder secrets", () => {
    it("runs every function of the template from its cdk.out bundle under Node.js 24 and the runtime interface client", () => {
      expect(runtime.nodeVersion).toMatch(/^v24\./);
      expect(relay.functions.map((fn) => fn.logicalId).sort()).toEqual([...templateFunctions].sort());
      expect(Object.keys(backends).sort()).toEqual(["email", "http", "log", "slack", "sms"]);
      for (const fn of relay.functions) {
        expect(relay.lambda(fn).definition.taskRoot.startsWith(outDir)).toBe(true);
      }
    });

    it("answers 503 signing_keys_not_configured while the signing keys are the stack's placeholder, queueing nothing", async () => {
      const { response } = await relay.request(webhook([securityEvent()]));

      expect(response.statusCode).toBe(503);
      expect(JSON.parse(response.body)).toMatchObject({ error: "signing_keys_not_configured" });
      expect(await relay.ingestDepth()).toBe(0);
    });

    describe("a backend whose secret is still the placeholder", () => {
      const failures = new Map<string, AsyncDelivery>();

      beforeAll(async () => {
        await relay.putSecret("SigningKeysSecretArn", { keys: [SECRET] });
        // A new instance: a warm ingest keeps the placeholder keys for its key cache (KEY_CACHE_SECONDS).
        await relay.lambda(relay.relay.ingest).recycle();
        // An internal alert: it passes every filter, so every backend is asked to deliver it.
        const { response } = await relay.request(webhook([securityEvent({ internal: true })]));
        expect(response.statusCode, response.body).toBe(200);
        await routeAll();
        const captured = await relay.captured();
        for (const backend of ["email", "sms", "http", "slack"]) {
          const [envelope] = capturedFor(captured, backend);
          if (envelope) failures.set(backend, await relay.deliver(envelope));
        }
      });

      it.each(["email", "sms", "http", "slack"])(
        "fails the %s delivery with a reason naming the secret to fill in, and dead-letters it after Lambda's retries",
        (backend) => {
          const delivery = failures.get(backend);
          expect(delivery, `${backend} got no alert`).toBeDefined();
          const secretArn = relay.outputValue(`${backend[0]?.toUpperCase()}${backend.slice(1)}SecretArn`);
          const secretName = secretArn.split(":secret:")[1]?.replace(/-[A-Za-z0-9]{6}$/, "") ?? secretArn;
          for (const attempt of delivery?.attempts ?? []) {
            expect(attempt.ok, `${backend} reported success: ${logText(attempt.logs)}`).toBe(false);
            expect(errorMessage(attempt)).toContain(secretName);
          }
          expect(delivery?.deadLetter?.record.responsePayload).toMatchObject({
            errorMessage: expect.stringContaining(secretName),
          });
        },
      );

      it("delivers each dead-lettered alert once the operator fills its secret and replays it", async () => {
        const secrets = filledSecrets(relay.receiver.url);
        for (const [output, value] of Object.entries(secrets)) await relay.putSecret(output, value);
        for (const [backend, delivery] of failures) {
          const fn = backends[backend] as StackFunction;
          // Soft: every backend is replayed and reported, not only up to the first that fails.
          expect.soft(delivery.deadLetter, `${backend} dead-lettered nothing`).toBeDefined();
          if (!delivery.deadLetter) continue;
          // The same warm instance that failed: a secret found unconfigured is not cached, so the
          // replay reads the filled-in one.
          const replay = await relay.invokeAsync(fn, delivery.deadLetter.record.requestPayload);
          // The first attempt that ran to its end delivers: a stale placeholder would fail it with
          // BackendNotConfiguredError. An attempt that hit the function's timeout is retried, as
          // Lambda retries an event: in this harness a replay has rarely run until the function's
          // timeout (in a few full runs on this 2-core machine; cause not found yet: a failure
          // prints every attempt's log lines), which says nothing of the secret.
          const ended = replay.attempts.find((attempt) => attempt.error?.errorType !== "Sandbox.Timedout");
          expect
            .soft(
              ended?.ok,
              replay.attempts
                .map((attempt) => `${backend}: ${errorMessage(attempt)}\n${logText(attempt.logs)}`)
                .join("\n"),
            )
            .toBe(true);
        }
        expect(failures.size).toBe(4);
      });
    });
  });

  describe("with every secret filled in", () => {
    beforeAll(async () => {
      await relay.putSecret("SigningKeysSecretArn", { keys: [SECRET] });
      for (const [output, value] of Object.entries(filledSecrets(relay.receiver.url)))
        await relay.putSecret(output, value);
      for (const fn of Object.values(backends)) await relay.lambda(fn).recycle();
      await relay.captured();
    });

    it("accepts a signed sample with a plain body and the same base64-encoded, queueing one message per notification", async () => {
      const batch = sample("v2-mixed-batch");
      const body = readFileSync(path.join(SAMPLES_DIR, "v2-mixed-batch.json"));
      const request = {
        method: "POST",
        path: "/v1/webhook",
        headers: {
          "content-type": "application/json",
          "x-sqreen-integrity": signatures.signatures["v2-mixed-batch.json"] as string,
        },
        body,
      };

      const plain = await relay.request(request);
      const base64 = await relay.request({ ...request, base64: true });

      for (const { response } of [plain, base64]) {
        expect(response.statusCode, response.body).toBe(200);
        expect(JSON.parse(response.body)).toMatchObject({ accepted: batch.length });
      }
      expect(await relay.ingestDepth()).toBe(2 * batch.length);
    });

    it("routes every queued notification and SNS hands each subscription what its filter policy lets through", async () => {
      const runs = await routeAll();
      const captured = await relay.captured();

      expect(runs.length).toBeGreaterThan(0);
      const log = capturedFor(captured, "log");
      // The log backend's filter lets everything through: every notification, twice (sent twice).
      expect(log).toHaveLength(2 * sample("v2-mixed-batch").length);
      for (const envelopes of captured.values()) {
        for (const envelope of envelopes)
          expect(Object.keys(envelope.envelope.MessageAttributes ?? {})).toContain("severity");
      }

      const outcomes = await deliverAll(captured);
      for (const [backend, deliveries] of outcomes) {
        for (const delivery of deliveries) {
          expect(
            delivery.attempts[0]?.ok,
            `${backend}: ${errorMessage(delivery.attempts[0] as InvocationResult)}`,
          ).toBe(true);
        }
      }
    });

    it("delivers an internal alert on every backend: log line, one SES e-mail per recipient, SMS, Slack and a signed HTTP post", async () => {
      const notification = securityEvent({ internal: true, environment: freshEnvironment() });
      const eventId = String(notification.message.event_id);
      const before = relay.endpoint.requests.length;
      const received = relay.receiver.received.length;
      expect((await relay.request(webhook([notification]))).response.statusCode).toBe(200);
      await routeAll();

      const outcomes = await deliverAll(await relay.captured());

      for (const backend of Object.keys(backends)) {
        expect(outcomes.get(backend), `${backend} got nothing`).toHaveLength(1);
        expect(outcomes.get(backend)?.[0]?.attempts[0]?.ok).toBe(true);
      }
      expect(logText(outcomes.get("log")?.[0]?.attempts[0]?.logs ?? [])).toContain(eventId);
      const calls = relay.endpoint.requests.slice(before).filter((request) => request.status === 200);
      const sent = calls
        .map((request) => {
          const fn = relay.functions.find((candidate) => candidate.logicalId === request.principal);
          return fn ? readCall(request, fn.roleArn, relay.callContext()) : undefined;
        })
        .filter((call) => call !== undefined);
      const emails = sent.filter((call) => call.operation === "SendEmail");
      expect(emails.map((call) => bareAddress(String(call.parameters.Source)))).toEqual([
        config.backends.email.from,
        config.backends.email.from,
      ]);
      expect(emails.map((call) => call.parameters["Destination.ToAddresses.member.1"]).sort()).toEqual(
        [...EMAIL_RECIPIENTS].sort(),
      );
      const texts = sent.filter((call) => call.operation === "Publish" && call.parameters.PhoneNumber);
      expect(texts.map((call) => call.parameters.PhoneNumber).sort()).toEqual([
        "+33612345678",
        "+33687654321",
      ]);
      const posts = relay.receiver.received.slice(received);
      expect(posts.filter((post) => post.path === "/slack/alerts")).toHaveLength(1);
      expect(posts.filter((post) => post.path === "/slack/admin")).toHaveLength(1);
      const [forwarded] = posts.filter((post) => post.path === "/siem");
      expect(forwarded?.headers["webhook-signature"]).toMatch(/^v1,/);
      expect(forwarded?.body).toContain(eventId);
    });

    it("sends no second e-mail, SMS or post when Sqreen resends a request it already got an answer for", async () => {
      const notification = securityEvent({ internal: true, environment: freshEnvironment() });
      for (let round = 0; round < 2; round++) {
        expect((await relay.request(webhook([notification]))).response.statusCode).toBe(200);
      }
      await routeAll();
      const before = relay.endpoint.requests.length;
      const received = relay.receiver.received.length;

      await deliverAll(await relay.captured());

      const sends = relay.endpoint.requests
        .slice(before)
        .filter(
          (request) =>
            /Action=(SendEmail|Publish)&/.test(request.body.toString("utf8")) &&
            request.principal !== relay.relay.route.logicalId,
        );
      expect(sends).toHaveLength(EMAIL_RECIPIENTS.length + 2);
      expect(relay.receiver.received.length - received).toBe(3);
    });

    it("texts a burst's first alert, holds the rest, and sends their digest once from a close-window message on the SMS queue (issue 15)", async () => {
      const sms = backends.sms as StackFunction;
      const textsBy = (from: number) =>
        relay.endpoint.requests
          .slice(from)
          .filter(
            (request) =>
              request.principal === sms.logicalId &&
              request.status === 200 &&
              /Action=Publish&/.test(request.body.toString("utf8")),
          ).length;
      // Internal alerts of one application and environment: one window per number they go to
      // (SMS: 1 at once), both numbers for an internal alert.
      const environment = freshEnvironment();
      const burst = Array.from({ length: 4 }, () => securityEvent({ internal: true, environment }));
      expect((await relay.request(webhook(burst))).response.statusCode).toBe(200);
      await routeAll();
      const beforeBurst = relay.endpoint.requests.length;

      const outcomes = await deliverAll(await relay.captured());

      for (const delivery of outcomes.get("sms") ?? []) expect(delivery.attempts[0]?.ok).toBe(true);
      // The first alert alone to each number, the other three held.
      expect(textsBy(beforeBurst)).toBe(2);
      // The windows close in 10 minutes: their end is brought forward, and their close sent now.
      const windows = await relay.bringDigestWindowsDue("sms", environment);
      expect(windows).toHaveLength(2);
      for (const windowId of windows)
        await relay.sendToEventSource(sms, { action: "close-window", windowId });
      const beforeClose = relay.endpoint.requests.length;

      const run = await relay.pollEventSource(sms);
      // A close redelivered (a lost delete, a redrive) sends nothing more.
      for (const windowId of windows)
        await relay.sendToEventSource(sms, { action: "close-window", windowId });
      const again = await relay.pollEventSource(sms);

      expect(run?.invocation.ok, errorMessage(run?.invocation as InvocationResult)).toBe(true);
      expect(run?.failed).toEqual([]);
      expect(again?.failed).toEqual([]);
      // One digest per window (per number), each once.
      expect(textsBy(beforeClose)).toBe(windows.length);
    });
  });

  // After "with every secret filled in": its secrets stay filled in.
  describe("a delivery ledger that fails", () => {
    it("never fails a delivery: with the ledger table gone every backend delivers, and each counts its failed write in the metric its alarm watches", async () => {
      const [ledgerId] = [...resourcesOfType(relay.deployed.stack.template, "AWS::DynamoDB::Table")]
        .map(([logicalId]) => logicalId)
        .filter((logicalId) => logicalId.startsWith("LedgerTable"));
      const tableName = relay.deployed.physical.get(ledgerId ?? "")?.ref;
      if (!tableName) throw new Error("the template has no ledger table");
      const dynamodb = new DynamoDBClient({
        endpoint: relay.moto.endpoint,
        region: REGION,
        credentials: { accessKeyId: "bundle-tier-operator", secretAccessKey: "bundle-tier-operator" },
      });
      await dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
      dynamodb.destroy();

      expect((await relay.request(webhook([securityEvent({ internal: true })]))).response.statusCode).toBe(
        200,
      );
      await routeAll();
      const outcomes = await deliverAll(await relay.captured());

      for (const [backend, fn] of Object.entries(backends)) {
        const attempt = outcomes.get(backend)?.[0]?.attempts[0];
        expect(attempt?.ok, `${backend} failed without its ledger`).toBe(true);
        const emitted = metricsFromLogs(
          relay.deployed,
          relay.lambda(fn).definition.logGroupName,
          attempt?.logs ?? [],
        );
        expect(
          emitted.some(
            (metric) => metric.name === "LedgerWriteFailures" && metric.dimensions.backend === backend,
          ),
          `${backend} counted no failed ledger write`,
        ).toBe(true);
      }
    });
  });

  describe("the contract of issue 11", () => {
    beforeEach(async () => {
      // What an earlier case left queued (a failure, on the code before the fixes) is not this case's.
      await relay.reset();
    });

    it("answers GET /v1/webhook with 405 and Allow: POST, and an unknown path with the relay's 404 (issue 11, defect 5)", async () => {
      const get = await relay.request({ method: "GET", path: "/v1/webhook", headers: {} });
      const unknown = await relay.request({
        method: "POST",
        path: "/v1/hooks",
        headers: {},
        body: Buffer.from("[]"),
      });

      expect(get.response.statusCode).toBe(405);
      expect(get.response.headers.allow).toBe("POST");
      expect(JSON.parse(get.response.body)).toMatchObject({ error: "method_not_allowed" });
      expect(unknown.response.statusCode).toBe(404);
      expect(JSON.parse(unknown.response.body)).toMatchObject({ error: "not_found" });
    });

    it("lets API Gateway invoke ingest for every request its routes send it, and SNS every subscribed function", async () => {
      const { apiId, stage } = {
        apiId: relay.deployed.resolver.ref(
          resourcesOfType(relay.deployed.stack.template, "AWS::ApiGatewayV2::Api")[0]?.[0] as string,
        ),
        stage: apiStage(relay.deployed),
      };
      for (const [method, requestPath] of [
        ["POST", "/v1/webhook"],
        ["GET", "/v1/webhook"],
        ["GET", "/v1/hooks"],
      ] as const) {
        const { routeKey } = await relay.request({ method, path: requestPath, headers: {} });
        if (!routeKey) continue; // API Gateway answered itself; the 405/404 case above says whether it should have.
        // The execute-api ARN API Gateway invokes with: api/stage/method/path.
        const sourceArn = `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:${apiId}/${stage}/${method}${requestPath}`;
        expect(
          serviceMayInvoke(
            relay.deployed,
            relay.relay.ingest.logicalId,
            "apigateway.amazonaws.com",
            sourceArn,
          ),
          sourceArn,
        ).toBe(true);
      }
      for (const subscription of relay.deployed.subscriptions) {
        const topic = relay.deployed.resolver.string(
          relay.deployed.stack.template.Resources[subscription.logicalId]?.Properties?.TopicArn ?? "",
        );
        expect(
          serviceMayInvoke(relay.deployed, subscription.functionLogicalId, "sns.amazonaws.com", topic),
        ).toBe(true);
      }
    });

    it("accepts a 176 KB notification carrying 2,900 IPs and route publishes its Alert without error (issue 11, defect 6)", async () => {
      const notification = securityEvent();
      notification.message.ips = Array.from({ length: 2900 }, (_, index) => ({
        address: `203.0.${Math.floor(index / 250)}.${index % 250}`,
        is_tor: false,
        hostname: null,
      }));
      const request = webhook([notification]);
      expect(request.body.byteLength).toBeGreaterThan(170_000);
      expect(request.body.byteLength).toBeLessThan(192 * 1024);

      const { response } = await relay.request(request);
      expect(response.statusCode, response.body).toBe(200);
      await routeAll();
      const log = capturedFor(await relay.captured(), "log");

      expect(log.map((envelope) => alertOf(envelope).id)).toContain(String(notification.message.event_id));
    });

    // moto differs from AWS here: its queues default to 1 MiB (as SQS's do since 2025) and it
    // measures the body alone, in characters, never the attributes; so a too-large entry shows up
    // in this tier at route's publish (SNS: body and attributes within the topic's 256 KiB), not at
    // ingest. The case asks for the whole chain either way.
    it.each([
      ["a 140 KB event_id", "e".repeat(140 * 1024)],
      ["a lone UTF-16 surrogate in event_id", `bundle-\ud800-${randomUUID()}`],
    ])(
      "accepts a notification with %s, queues it and route publishes it (issue 11, defect 6)",
      async (_name, eventId) => {
        const notification = securityEvent({ eventId });

        const { response } = await relay.request(webhook([notification]));

        expect(response.statusCode, response.body).toBe(200);
        expect(await relay.ingestDepth()).toBe(1);
        await routeAll();
        expect(capturedFor(await relay.captured(), "log")).toHaveLength(1);
      },
    );

    it.each(["v2-test", "v1-test"])(
      "delivers a %s notification to every enabled backend, whatever its filter (issue 11, defect 7)",
      async (name) => {
        const body = readFileSync(path.join(SAMPLES_DIR, `${name}.json`));
        const { response } = await relay.request({
          method: "POST",
          path: "/v1/webhook",
          headers: {
            "content-type": "application/json",
            "x-sqreen-integrity": signatures.signatures[`${name}.json`] as string,
          },
          body,
        });
        expect(response.statusCode, response.body).toBe(200);
        await routeAll();

        const captured = await relay.captured();

        const reached = Object.keys(backends).filter((backend) =>
          capturedFor(captured, backend).some((envelope) => alertOf(envelope).sourceType === "test"),
        );
        expect(reached.sort()).toEqual(Object.keys(backends).sort());
        for (const [backend, deliveries] of await deliverAll(captured)) {
          for (const delivery of deliveries) {
            const first = delivery.attempts[0] as InvocationResult;
            expect(first.ok, `${backend}: ${errorMessage(first)}`).toBe(true);
          }
        }
      },
    );

    it("counts a record route cannot handle in a metric one of the template's alarms watches (issue 11, defect 3)", async () => {
      const queue = relay.ingestQueue();
      const sqs = new SQSClient({
        endpoint: relay.moto.endpoint,
        region: REGION,
        credentials: { accessKeyId: "bundle-tier-operator", secretAccessKey: "bundle-tier-operator" },
      });
      // A message no ingest would write: route fails it (a poison message), as it fails a publish.
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queue.url, MessageBody: "not a queued notification" }),
      );
      sqs.destroy();

      const run = await relay.pollIngest();

      expect(run?.failed).toHaveLength(1);
      const emitted = metricsFromLogs(
        relay.deployed,
        relay.lambda(relay.relay.route).definition.logGroupName,
        run?.invocation.logs ?? [],
      ).filter((metric) => metric.value > 0);
      const watched = metricAlarms(relay.deployed).filter((alarm) =>
        emitted.some((metric) => alarm.matches(metric)),
      );
      expect(
        watched.map((alarm) => alarm.logicalId),
        JSON.stringify(emitted),
      ).not.toEqual([]);
    });
  });

  describe("every AWS call, against the role the template gives its function", () => {
    let checked: CheckedAuthorization[];

    beforeAll(() => {
      checked = checkRun(relay.runRecord(), relay.deployed, relay.callContext());
    });

    it("saw every function call AWS, each call through the recording endpoint", async () => {
      const callers = new Set(
        checked.filter((item) => !item.operation.startsWith("(implied")).map((item) => item.function),
      );

      expect([...callers].sort()).toEqual([...templateFunctions].sort());
      expect(await relay.unrecordedRequests()).toEqual([]);
    });

    it.each(templateFunctions)(
      "allows every AWS call %s made, and what Lambda does with its role",
      (logicalId) => {
        const mine = checked.filter((item) => item.function === logicalId);

        expect(mine.length).toBeGreaterThan(0);
        expect(describeViolations(mine)).toEqual([]);
      },
    );

    it("lets the e-mail function send from backends.email.from to the sandbox's verified recipients (issue 11, defect 1)", () => {
      const sends = checked.filter((item) => item.action === "ses:SendEmail");
      const identities = new Set(sends.map((item) => item.resource.split(":identity/")[1]));

      expect(identities).toEqual(new Set([config.backends.email.from, ...EMAIL_RECIPIENTS]));
      expect(describeViolations(sends)).toEqual([]);
    });

    it("every custom metric an alarm watches is emitted by a function during the run", () => {
      const emitted = relay.functions.flatMap((fn) => {
        const lambda = relay.lambda(fn);
        return metricsFromLogs(relay.deployed, lambda.definition.logGroupName, lambda.logs);
      });
      const custom = metricAlarms(relay.deployed).filter((alarm) => !alarm.namespace.startsWith("AWS/"));
      for (const alarm of custom) {
        expect(
          emitted.some((metric) => alarm.matches(metric)),
          `${alarm.logicalId} watches a metric no function emitted`,
        ).toBe(true);
      }
    });

    describe("fails when a grant is removed from a copy of the template", () => {
      function withoutGrant(mutate: (template: Template) => void): CheckedAuthorization[] {
        const copy = structuredClone(relay.deployed.stack.template);
        mutate(copy);
        return checkRun(
          relay.runRecord(),
          policySource(copy, relay.deployed.resolver, relay.deployed.physical),
          relay.callContext(),
        );
      }

      function policyOf(template: Template, fn: StackFunction) {
        const found = resourcesOfType(template, "AWS::IAM::Policy").find(([, policy]) =>
          JSON.stringify(policy.Properties?.Roles).includes(fn.roleLogicalId),
        );
        if (!found) throw new Error(`No policy for ${fn.roleLogicalId}`);
        return found[1].Properties?.PolicyDocument as {
          Statement: { Action: string | string[]; Resource?: unknown }[];
        };
      }

      const grants = (statement: { Action: string | string[] }, action: string) =>
        ([] as string[]).concat(statement.Action).includes(action);

      it("ingest without sqs:SendMessage on the ingest queue", () => {
        const checkedCopy = withoutGrant((template) => {
          const document = policyOf(template, relay.relay.ingest);
          document.Statement = document.Statement.filter(
            (statement) => !grants(statement, "sqs:SendMessage"),
          );
        });

        expect(
          describeViolations(checkedCopy).some(
            (line) => line.startsWith(relay.relay.ingest.logicalId) && line.includes("sqs:SendMessage"),
          ),
        ).toBe(true);
      });

      it("route with sns:Publish narrowed to another topic", () => {
        const checkedCopy = withoutGrant((template) => {
          const publish = policyOf(template, relay.relay.route).Statement.find((statement) =>
            grants(statement, "sns:Publish"),
          );
          if (!publish) throw new Error("route has no sns:Publish grant");
          publish.Resource = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:some-other-topic`;
        });

        expect(
          describeViolations(checkedCopy).some(
            (line) => line.startsWith(relay.relay.route.logicalId) && line.includes("sns:Publish"),
          ),
        ).toBe(true);
      });

      it("route without the KMS grant publishing to the encrypted topic needs", () => {
        const checkedCopy = withoutGrant((template) => {
          const document = policyOf(template, relay.relay.route);
          document.Statement = document.Statement.filter(
            (statement) => !grants(statement, "kms:GenerateDataKey"),
          );
        });

        expect(describeViolations(checkedCopy).some((line) => line.includes("kms:GenerateDataKey"))).toBe(
          true,
        );
      });

      it("a deliver function without its idempotency table", () => {
        const fn = backends.slack as StackFunction;
        const checkedCopy = withoutGrant((template) => {
          const document = policyOf(template, fn);
          document.Statement = document.Statement.filter(
            (statement) => !grants(statement, "dynamodb:PutItem"),
          );
        });

        expect(
          describeViolations(checkedCopy).some(
            (line) => line.startsWith(fn.logicalId) && line.includes("dynamodb:PutItem"),
          ),
        ).toBe(true);
      });
    });
  });
});
