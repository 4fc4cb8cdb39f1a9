/**
 * One Lambda function run as Lambda runs it: a Node.js 24 process executing the runtime interface
 * client (aws-lambda-ric), which loads the bundle from LAMBDA_TASK_ROOT by `_HANDLER` and polls a
 * Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) served here on a
 * loopback port: `GET /2018-06-01/runtime/invocation/next` is held until an invocation is
 * queued, `/response` and `/error` settle it, `/init/error` fails the start.
 *
 * Like Lambda, one process serves one invocation at a time and stays warm between them; an
 * invocation past the template's Timeout kills the process (the next one starts cold), and so
 * does an init error. The function's stdout and stderr are what CloudWatch Logs would get: every
 * line is kept, with the request id it was written during.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

const PREFIX = "/2018-06-01/runtime";

export interface LogLine {
  /** The request id of the invocation running when the line was written; none during init. */
  requestId?: string;
  stream: "stdout" | "stderr";
  text: string;
  /** The line as JSON when it is a JSON object (Powertools logs, EMF metrics). */
  json?: Record<string, unknown>;
}

/** How an invocation ended, as the Runtime API saw it. */
export interface InvocationResult {
  requestId: string;
  /** True when the runtime posted a response, false when it posted an error or died. */
  ok: boolean;
  /** The response payload (parsed JSON), when ok. */
  payload?: unknown;
  /** The error the runtime posted (`errorType`, `errorMessage`, ...), or why it died. */
  error?: { errorType: string; errorMessage: string; [key: string]: unknown };
  /** What the function wrote during the invocation. */
  logs: LogLine[];
  /** True when this invocation started the process (a cold start). */
  coldStart: boolean;
}

export interface FunctionDefinition {
  /** The physical function name (AWS_LAMBDA_FUNCTION_NAME). */
  name: string;
  arn: string;
  /** `index.handler`. */
  handler: string;
  /** The bundle's directory (LAMBDA_TASK_ROOT). */
  taskRoot: string;
  timeoutSeconds: number;
  memoryMb: number;
  logGroupName: string;
  /** Every variable the process gets: the template's and Lambda's (see bundle-functions.ts). */
  environment: Record<string, string>;
}

interface PendingInvocation {
  requestId: string;
  event: unknown;
  deadline: number;
  coldStart: boolean;
  logs: LogLine[];
  resolve: (result: InvocationResult) => void;
  timer?: NodeJS.Timeout;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function parseJsonLine(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf("{");
  if (start < 0) return undefined;
  try {
    const value = JSON.parse(text.slice(start)) as unknown;
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A function's Runtime API and its runtime process. */
export class LambdaFunction {
  private server?: Server;
  private port = 0;
  private process?: ChildProcess;
  private exited?: Promise<void>;
  private readonly queue: PendingInvocation[] = [];
  private waitingNext?: ServerResponse;
  private current?: PendingInvocation;
  private initError?: InvocationResult["error"];
  /** Every line the function wrote, across invocations and restarts. */
  readonly logs: LogLine[] = [];
  /** How many times the runtime process was started. */
  coldStarts = 0;

  constructor(
    readonly definition: FunctionDefinition,
    private readonly node: string,
    private readonly ric: string,
  ) {}

  /** Starts the Runtime API server (the process starts with the first invocation, as on Lambda). */
  async listen(): Promise<void> {
    const server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        response.statusCode = 500;
        response.end(String(error));
      });
    });
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    server.keepAliveTimeout = 0;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Invokes the function with `event` and resolves with how the invocation ended. */
  invoke(event: unknown): Promise<InvocationResult> {
    // Lambda's Invoke takes a JSON document; `undefined` is none (a harness bug, not an event).
    if (event === undefined)
      return Promise.reject(new Error(`${this.definition.name} invoked without an event`));
    const coldStart = !this.process;
    if (coldStart) this.startProcess();
    return new Promise((resolve) => {
      const invocation: PendingInvocation = {
        requestId: randomUUID(),
        event,
        deadline: 0,
        coldStart,
        logs: [],
        resolve,
      };
      this.queue.push(invocation);
      this.dispatch();
    });
  }

  /** Stops the process (a new one starts with the next invocation): a cold start on demand. */
  async recycle(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    // The /next request the killed process was holding belongs to it: forget it now. Its socket's
    // close can come after the exit, and an invocation handed to it meanwhile would never reach
    // the new process (and time out).
    this.waitingNext?.destroy();
    this.waitingNext = undefined;
    child.kill("SIGKILL");
    await this.exited;
  }

  async stop(): Promise<void> {
    await this.recycle();
    this.waitingNext?.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private startProcess(): void {
    if (!this.server) throw new Error("listen() first");
    this.coldStarts += 1;
    this.initError = undefined;
    const { definition } = this;
    // Lambda's nodejs24.x bootstrap runs the RIC's index.mjs with the function's environment.
    const child = spawn(this.node, [this.ric], {
      cwd: definition.taskRoot,
      // LAMBDA_RUNTIME_DIR is where the runtime lives (/var/runtime on Lambda): here, the RIC's package.
      env: {
        ...definition.environment,
        LAMBDA_RUNTIME_DIR: path.dirname(this.ric),
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${this.port}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.process = child;
    for (const stream of ["stdout", "stderr"] as const) {
      let partial = "";
      child[stream]?.on("data", (chunk: Buffer) => {
        const lines = (partial + chunk.toString("utf8")).split("\n");
        partial = lines.pop() ?? "";
        for (const text of lines) this.keepLine(stream, text);
      });
      child[stream]?.on("end", () => {
        if (partial) this.keepLine(stream, partial);
      });
    }
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        if (this.process === child) this.process = undefined;
        this.failInFlight(
          this.initError ?? {
            errorType: "Runtime.ExitError",
            errorMessage: `The runtime process exited (${signal ?? `code ${code}`}) during the invocation`,
          },
        );
        resolve();
      });
    });
  }

  private keepLine(stream: "stdout" | "stderr", text: string): void {
    if (text.trim() === "") return;
    const line: LogLine = { stream, text, json: parseJsonLine(text) };
    if (this.current) line.requestId = this.current.requestId;
    this.logs.push(line);
    this.current?.logs.push(line);
  }

  private failInFlight(error: NonNullable<InvocationResult["error"]>): void {
    const pending = this.current ? [this.current] : [];
    this.current = undefined;
    // An init error fails what waits too: Lambda answers every invocation of a broken init so.
    if (this.initError) pending.push(...this.queue.splice(0));
    for (const invocation of pending) this.settle(invocation, { ok: false, error });
  }

  private settle(
    invocation: PendingInvocation,
    outcome: Pick<InvocationResult, "ok" | "payload" | "error">,
  ): void {
    if (invocation.timer) clearTimeout(invocation.timer);
    if (this.current === invocation) this.current = undefined;
    invocation.resolve({
      requestId: invocation.requestId,
      coldStart: invocation.coldStart,
      logs: invocation.logs,
      ...outcome,
    });
  }

  /** Hands the next queued invocation to a runtime waiting on /next. */
  private dispatch(): void {
    if (this.waitingNext?.socket?.destroyed) this.waitingNext = undefined;
    if (!this.waitingNext || this.current || this.queue.length === 0) return;
    const invocation = this.queue.shift() as PendingInvocation;
    const response = this.waitingNext;
    this.waitingNext = undefined;
    this.current = invocation;
    invocation.deadline = Date.now() + this.definition.timeoutSeconds * 1000;
    invocation.timer = setTimeout(() => {
      // Lambda stops a function at its timeout and starts the next invocation cold.
      this.settle(invocation, {
        ok: false,
        error: {
          errorType: "Sandbox.Timedout",
          errorMessage: `Task timed out after ${this.definition.timeoutSeconds} seconds`,
        },
      });
      void this.recycle();
    }, this.definition.timeoutSeconds * 1000);
    const body = JSON.stringify(invocation.event);
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "lambda-runtime-aws-request-id": invocation.requestId,
      "lambda-runtime-deadline-ms": String(invocation.deadline),
      "lambda-runtime-invoked-function-arn": this.definition.arn,
      "lambda-runtime-trace-id": `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replace(/-/g, "").slice(0, 24)};Parent=${randomUUID().replace(/-/g, "").slice(0, 16)};Sampled=0`,
    });
    response.end(body);
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? "";
    if (request.method === "GET" && url === `${PREFIX}/invocation/next`) {
      this.waitingNext = response;
      request.on("close", () => {
        if (this.waitingNext === response && response.writableEnded === false && request.destroyed) {
          this.waitingNext = undefined;
        }
      });
      this.dispatch();
      return;
    }
    const body = await readBody(request);
    if (request.method === "POST" && url === `${PREFIX}/init/error`) {
      this.initError = parseError(body, "Runtime.InitError");
      response.writeHead(202).end('{"status":"OK"}');
      // Lambda ends a runtime whose init failed; the next invocation starts it again.
      void this.recycle();
      return;
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
    if (request.method === "POST" && match) {
      const requestId = decodeURIComponent(match[1] as string);
      const invocation = this.current;
      if (!invocation || invocation.requestId !== requestId) {
        response.writeHead(400).end('{"errorType":"InvalidRequestID"}');
        return;
      }
      response.writeHead(202).end('{"status":"OK"}');
      if (match[2] === "response") {
        this.settle(invocation, { ok: true, payload: body === "" ? null : JSON.parse(body) });
      } else {
        this.settle(invocation, { ok: false, error: parseError(body, "Unknown") });
      }
      return;
    }
    response.writeHead(404).end();
  }
}

function parseError(body: string, fallbackType: string): NonNullable<InvocationResult["error"]> {
  try {
    const parsed = JSON.parse(body) as { errorType?: string; errorMessage?: string };
    return {
      ...parsed,
      errorType: parsed.errorType ?? fallbackType,
      errorMessage: parsed.errorMessage ?? "",
    };
  } catch {
    return { errorType: fallbackType, errorMessage: body };
  }
}
