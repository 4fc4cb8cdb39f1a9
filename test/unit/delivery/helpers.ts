/**
 * Shared arrangements for the delivery tests: alert fixtures, SNS events, a Lambda context, a
 * capture of everything the Powertools logger writes, and a real HTTP server on 127.0.0.1.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Context, SNSEvent } from "aws-lambda";
import type { Alert } from "../../../lambdas/contracts/alert.js";
import { createLogger } from "../../../lambdas/runtime/logger.js";
import { lambdaContext as localLambdaContext } from "../../../local/aws/lambda-context.js";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/deliver");

export type AlertFixture = "security-event" | "internal" | "hostile" | "test";

/** An Alert fixture from test/fixtures/deliver. */
export function loadAlert(name: AlertFixture): Alert {
  return JSON.parse(readFileSync(resolve(FIXTURES, `alert-${name}.json`), "utf8")) as Alert;
}

/** The SNS event fixture (one record carrying the security-event alert). */
export function loadSnsEvent(): SNSEvent {
  return JSON.parse(readFileSync(resolve(FIXTURES, "sns-event-security-event.json"), "utf8")) as SNSEvent;
}

/** The fixture event with its message replaced by `alert`, as the alerts topic would deliver it. */
export function snsEventFor(alert: Alert): SNSEvent {
  const event = loadSnsEvent();
  const record = event.Records[0];
  if (!record) throw new Error("fixture has no record");
  record.Sns.Message = JSON.stringify(alert);
  return event;
}

export function lambdaContext(): Context {
  return localLambdaContext("deliver-test", 30_000);
}

/** The functions' own logger (masking included) at DEBUG, so the tests see every line a backend could ever write. */
export function debugLogger(serviceName = "deliver-test"): Logger {
  return createLogger(serviceName, { logLevel: "DEBUG" });
}

/** What the process writes, captured (test/capture-output.ts). */
export { captureOutput as captureLogs, type OutputCapture as LogCapture } from "../../capture-output.js";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Reply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A real HTTP server on a random port; `reply` decides each answer from the request and its index. */
export async function startServer(
  reply: (request: RecordedRequest, index: number) => Reply,
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const request: RecordedRequest = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(request);
      const answer = reply(request, requests.length - 1);
      if (answer === "hang") return;
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? "");
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

/** A retry policy that never really waits and records the waits it was asked for. */
export function instantRetry(attempts = 3): {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  waits: number[];
} {
  const waits: number[] = [];
  return {
    attempts,
    baseDelayMs: 10,
    maxDelayMs: 5_000,
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}
