/**
 * Done-when of the delivery ledger on AWS, against moto: the real handler modules (which build
 * their DynamoDB ledger, SES, SNS and Secrets Manager clients at import, as in Lambda) with every
 * backend on, Slack and HTTP at a real receiver on 127.0.0.1. The drill goes through ingest, and
 * the test plays the platform between the functions: route on the queued messages, then each
 * deliver function on its subscription's envelope, invoked again on failure up to Lambda's 1 + 2
 * attempts (the last failure is what Lambda dead-letters). `trace` reads the moto ledger table
 * the functions wrote, through the CLI's --stack path (DynamoDbLedger).
 *
 * moto differences worked around here: SNS fans out to the subscribed queues synchronously (so a
 * drained queue is complete once publish returned), and no Lambda runs: the test invokes the
 * handlers itself, so the asynchronous retries are this loop's, without their minutes of delay.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, Context, SNSEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import { DELIVERY_RETRY_ATTEMPTS } from "../../lambdas/delivery/outcome.js";
import { DynamoDbLedger } from "../../lambdas/ledger/dynamodb-ledger.js";
import { parseRelaySettings } from "../../lib/settings.js";
import { type RelayCliIo, runRelayCli } from "../../scripts/relay/cli.js";
import { lambdaContext, snsEvent, sqsEvent, webhookEvent } from "./events.js";
import { type MotoServer, startMoto, useMotoEnvironment } from "./moto.js";
import { drainEnvelopes, drainQueue } from "./queues.js";
import { createRelayResources, type RelayResources } from "./resources.js";

const SIGNING_KEY = "integration-ledger-signing-key-0123456789abcdef";
const HTTP_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

type IngestHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<{ statusCode?: number; body?: string }>;
type RouteHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
type DeliverHandler = (event: SNSEvent, context: Context) => Promise<void>;

async function importHandler<T>(modulePath: string, env: Record<string, string> = {}): Promise<T> {
  const previous = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return ((await import(modulePath)) as { handler: T }).handler;
  } finally {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

describe("the delivery ledger against moto", () => {
  let moto: MotoServer;
  let restoreEnvironment: () => void;
  let resources: RelayResources;
  let sqs: SQSClient;
  let dynamoDb: DynamoDBClient;
  let receiver: Server;
  let slackStatus = 200;
  let ingest: IngestHandler;
  let route: RouteHandler;
  const deliver = {} as Record<Backend, DeliverHandler>;
  /** What Lambda would have sent to each on-failure destination (the event of the last attempt). */
  const deadLetters: { backend: Backend; event: SNSEvent }[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        const status = request.url === "/slack" ? slackStatus : 200;
        response.writeHead(status, { "content-type": "text/plain" });
        response.end(status === 200 ? "ok" : "no_service");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    moto = await startMoto();
    restoreEnvironment = useMotoEnvironment(moto);
    process.env.POWERTOOLS_LOG_LEVEL = "ERROR";
    process.env.POWERTOOLS_METRICS_DISABLED = "true";
    const settings = parseRelaySettings({
      backends: {
        email: { enabled: true, from: "relay@example.com" },
        http: { enabled: true, timeoutSeconds: 5 },
        sms: { enabled: true },
        slack: { enabled: true },
      },
    });
    resources = await createRelayResources(settings, {
      secrets: {
        signingKeys: { keys: [SIGNING_KEY] },
        email: { to: ["secops@example.com"], adminTo: [] },
        sms: { phoneNumbers: ["+33612345678"], adminPhoneNumbers: [] },
        slack: { webhookUrl: `${origin}/slack` },
        http: { targets: [{ url: `${origin}/siem`, signingSecret: HTTP_SECRET }] },
      },
    });
    sqs = new SQSClient({});
    dynamoDb = new DynamoDBClient({});
    const env = resources.functionEnvironments;
    ingest = await importHandler<IngestHandler>("../../lambdas/ingest/handler.js", env.ingest);
    route = await importHandler<RouteHandler>("../../lambdas/route/handler.js", env.route);
    for (const backend of BACKENDS) {
      deliver[backend] = await importHandler<DeliverHandler>(
        `../../lambdas/deliver-${backend}/handler.js`,
        env[`deliver-${backend}`],
      );
    }
  });

  afterAll(async () => {
    sqs?.destroy();
    dynamoDb?.destroy();
    delete process.env.POWERTOOLS_LOG_LEVEL;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    restoreEnvironment?.();
    await moto?.stop();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  /** Route, then every backend with Lambda's asynchronous retries, as the platform would after ingest. */
  async function runPlatform(): Promise<void> {
    const queued = await drainQueue(sqs, resources.ingestQueue.url);
    if (queued.length > 0) await route(sqsEvent(queued, resources.ingestQueue.arn), lambdaContext("route"));
    for (const backend of BACKENDS) {
      const subscribed = resources.backends[backend];
      if (!subscribed) continue;
      for (const envelope of await drainEnvelopes(sqs, subscribed.queue.url)) {
        const event = snsEvent(envelope, subscribed.subscriptionArn);
        await invokeWithRetries(backend, event);
      }
    }
  }

  async function invokeWithRetries(backend: Backend, event: SNSEvent): Promise<void> {
    for (let attempt = 1; attempt <= 1 + DELIVERY_RETRY_ATTEMPTS; attempt += 1) {
      try {
        await deliver[backend](event, lambdaContext(`deliver-${backend}`));
        return;
      } catch {
        // Lambda retries the same event; after the last attempt it goes to the on-failure queue.
      }
    }
    deadLetters.push({ backend, event });
  }

  async function cli(...argv: string[]): Promise<{ status: number; out: string }> {
    let out = "";
    const io: RelayCliIo = {
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        out += text;
      },
      env: {},
      local: () => {
        throw new Error("no local relay in this test");
      },
      stack: async () => ({
        ledger: new DynamoDbLedger(resources.ledgerTable.name, dynamoDb),
        webhookUrl: "https://integration.execute-api.us-east-1.amazonaws.com/v1/webhook",
        backends: [...BACKENDS],
        close: () => {},
      }),
      // The webhook is ingest's handler behind API Gateway; the platform runs once it answered.
      fetch: async (_url, init) => {
        const answer = await ingest(
          webhookEvent(init.body as Uint8Array, init.headers as Record<string, string>),
          lambdaContext("ingest"),
        );
        await runPlatform();
        return new Response(answer.body ?? "", { status: answer.statusCode ?? 500 });
      },
      redrive: () => Promise.reject(new Error("not in this test")),
    };
    return { status: await runRelayCli(argv, io), out };
  }

  const drillId = (out: string) => /Drill (\S+):/.exec(out)?.[1] ?? "";

  it("drills every backend through the real functions and traces the drill from the ledger table", async () => {
    const drill = await cli("--stack", "SqreenRelay", "drill", "--secret", SIGNING_KEY, "--timeout", "10");

    expect(drill.status, drill.out).toBe(0);
    for (const backend of BACKENDS) expect(drill.out).toMatch(new RegExp(`^${backend}\\s+delivered`, "m"));
    const trace = await cli("--stack", "SqreenRelay", "trace", drillId(drill.out));
    expect(trace.status, trace.out).toBe(0);
    expect(trace.out).toMatch(/^email\s+s\*\*\*@example\.com\s+delivered\s+1\s/m);
    expect(trace.out).toMatch(/^sms\s+\+33\*+78\s+delivered\s+1\s/m);
    expect(trace.out).not.toContain("secops@example.com");
    expect(trace.out).not.toContain("/slack");
  });

  it("names Slack when its receiver answers 500, traces the three failed attempts and the dead letter, then its delivery after a replay", async () => {
    slackStatus = 500;
    const drill = await cli("--stack", "SqreenRelay", "drill", "--secret", SIGNING_KEY, "--timeout", "10");

    expect(drill.status).toBe(1);
    expect(drill.out).toContain("NOT delivered by: slack");
    const id = drillId(drill.out);
    const failed = await cli("--stack", "SqreenRelay", "trace", id);
    expect(failed.status).toBe(1);
    expect(failed.out).toMatch(/^slack\s+alerts\s+failed\s+3\s.*500/m);
    expect(failed.out).toMatch(/^slack\s+\(all\)\s+dead-lettered\s/m);
    const recent = await cli("--stack", "SqreenRelay", "recent", "--failed", "--backend", "slack");
    expect(recent.out).toContain(id);

    // The redrive invokes the function again with the dead letter's event (scripts/redrive/aws.ts).
    slackStatus = 200;
    const letter = deadLetters.find((dead) => dead.backend === "slack");
    if (!letter) throw new Error("no Slack dead letter");
    await deliver.slack(letter.event, lambdaContext("deliver-slack"));

    const delivered = await cli("--stack", "SqreenRelay", "trace", id);
    expect(delivered.status, delivered.out).toBe(0);
    expect(delivered.out).toMatch(/^slack\s+alerts\s+delivered\s+4\s/m);
  });
});
