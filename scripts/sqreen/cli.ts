/**
 * The Sqreen simulator's command line (`npm run sqreen -- <command>`): argument parsing and
 * printing only; requests are built and sent by `request.ts`, bodies come from `samples.ts`.
 * Everything it touches (output, environment, stdin, files, fetch) is injected, so tests run it
 * whole without a network or a terminal.
 */
import { parseArgs } from "node:util";
import { DEFAULT_LISTEN_PORT, LISTEN_PATHS, startListener } from "./listen.js";
import {
  buildSqreenRequest,
  type FetchLike,
  isSuccess,
  runBounded,
  type SendResult,
  sendRequest,
  summarize,
  truncate,
} from "./request.js";
import {
  describeSamples,
  findSample,
  generateNotifications,
  MAX_BATCH,
  newRunId,
  sampleBody,
} from "./samples.js";
import { sqreenWireBytes } from "./wire.js";

export const SECRET_ENV = "SQREEN_WEBHOOK_SECRET";
const DEFAULT_SAMPLE = "v2-security-event";

export const USAGE = `Usage: npm run sqreen -- <command> [options]
       (or: npx tsx bin/sqreen.ts <command> [options])

Plays Sqreen: builds notifications in Sqreen's wire form (Python json.dumps bytes), signs them
with X-Sqreen-Integrity (hex HMAC-SHA256 of the exact body, keyed with the secret as-is) and
POSTs them with Content-Type: application/json.

Commands:
  samples                 List the built-in samples (v1 and v2 of every type).
  body                    Print the exact body bytes of --sample, --batch or --file.
  sign                    Print the X-Sqreen-Integrity value of the body: --file F, --sample,
                          --batch, or standard input when none is given.
  send --url U            POST the body and print the status, the answer (truncated) and the
                          latency; with --count, one progress line and a summary.
  listen                  Receive what the Slack and HTTP backends send and print it (Block Kit
                          summarized; HTTP deliveries' Standard Webhooks signature verified with
                          --http-secret): point SLACK_WEBHOOK_URL at http://127.0.0.1:4000/slack
                          and HTTP_FORWARD_URL at http://127.0.0.1:4000/http. Ctrl-C stops it.

Options:
  --secret S              Webhook secret (default: the ${SECRET_ENV} environment variable).
  --url U                 Webhook URL: the local relay (http://127.0.0.1:3000/v1/webhook) or the
                          deployed API's WebhookUrl output.
  --sample NAME           A built-in sample (default for send: ${DEFAULT_SAMPLE}).
  --file F                A file sent byte for byte, never re-serialized.
  --batch N               N generated notifications (1-${MAX_BATCH}) with distinct ids; with --count,
                          every request gets new ids.
  --count N               Requests to send (default 1).
  --concurrency C         Requests in flight at once (default 1).
  --tamper                Change one hex digit of the signature: the relay must answer 401.
  --port P                listen: the port on 127.0.0.1 (default ${DEFAULT_LISTEN_PORT}).
  --http-secret S         listen: the HTTP backend's signing secret, whsec_... (default: the
                          HTTP_FORWARD_SECRET environment variable).
  -h, --help              This text.

Exit status: 0 when every answer was 2xx; 1 when any answer was not 2xx or never came (so
"send --tamper" exits 1 when the relay rightly answers 401); 2 on bad arguments.

Examples:
  npm run sqreen -- samples
  npm run sqreen -- send --url http://127.0.0.1:3000/v1/webhook --sample v2-mixed-batch
  npm run sqreen -- send --url "$URL" --batch 1000 --count 20 --concurrency 4
  npm run sqreen -- sign --file ../shared/sqreen-samples/v1-pulse.json --secret "$SECRET"
`;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  readStdin(): Promise<Uint8Array>;
  readFile(path: string): Promise<Uint8Array>;
  fetch: FetchLike;
  /** Resolves when the user stops a long-running command (Ctrl-C). */
  untilInterrupted(): Promise<void>;
  /** Whether stderr is a terminal: the progress line updates in place only there. */
  isTTY: boolean;
}

/** A bad command line: usage text and exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

const OPTIONS = {
  secret: { type: "string" },
  url: { type: "string" },
  sample: { type: "string" },
  file: { type: "string" },
  batch: { type: "string" },
  count: { type: "string" },
  concurrency: { type: "string" },
  tamper: { type: "boolean" },
  port: { type: "string" },
  "http-secret": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type OptionName = keyof typeof OPTIONS;

const ALLOWED: Record<string, readonly OptionName[]> = {
  samples: ["help"],
  body: ["sample", "file", "batch", "help"],
  sign: ["secret", "sample", "file", "batch", "help"],
  send: ["secret", "url", "sample", "file", "batch", "count", "concurrency", "tamper", "help"],
  listen: ["port", "http-secret", "help"],
};

export interface ParsedCommand {
  command: "samples" | "body" | "sign" | "send" | "listen" | "help";
  secret?: string;
  url?: string;
  sample?: string;
  file?: string;
  batch?: number;
  count: number;
  concurrency: number;
  tamper: boolean;
  port?: number;
  httpSecret?: string;
}

function positiveInteger(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`--${name} must be an integer from 1 to ${max}, not "${value}"`);
  }
  return Number(value);
}

/** Parses and checks the command line; throws `UsageError` naming the problem. */
export function parseCommandLine(argv: readonly string[], env: CliIo["env"]): ParsedCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...extra] = positionals;
  if (command === undefined || command === "help") {
    if (values.help || command === "help")
      return { command: "help", count: 1, concurrency: 1, tamper: false };
    throw new UsageError("Missing command");
  }
  const allowed = ALLOWED[command];
  if (!allowed) throw new UsageError(`Unknown command "${command}"`);
  if (extra.length > 0) throw new UsageError(`Unexpected argument "${extra[0]}"`);
  if (values.help) return { command: "help", count: 1, concurrency: 1, tamper: false };
  for (const name of Object.keys(values) as OptionName[]) {
    if (!allowed.includes(name)) throw new UsageError(`--${name} does not apply to "${command}"`);
  }
  const sources = [values.sample, values.file, values.batch].filter((value) => value !== undefined);
  if (sources.length > 1) throw new UsageError("Give at most one of --sample, --file and --batch");
  if (values.sample !== undefined && !findSample(values.sample)) {
    throw new UsageError(`Unknown sample "${values.sample}" (see: npm run sqreen -- samples)`);
  }
  const result: ParsedCommand = {
    command: command as ParsedCommand["command"],
    count: positiveInteger("count", values.count, 1, 1_000_000),
    concurrency: positiveInteger("concurrency", values.concurrency, 1, 1000),
    tamper: values.tamper ?? false,
  };
  if (values.sample !== undefined) result.sample = values.sample;
  if (values.file !== undefined) result.file = values.file;
  if (values.batch !== undefined) result.batch = positiveInteger("batch", values.batch, 1, MAX_BATCH);
  if (command === "sign" || command === "send") {
    const secret = values.secret ?? env[SECRET_ENV];
    if (!secret) throw new UsageError(`Give --secret or set ${SECRET_ENV}`);
    result.secret = secret;
  }
  if (command === "listen") {
    result.port =
      values.port === undefined
        ? DEFAULT_LISTEN_PORT
        : positiveInteger("port", values.port, DEFAULT_LISTEN_PORT, 65535);
    const httpSecret = values["http-secret"] ?? env.HTTP_FORWARD_SECRET;
    if (httpSecret !== undefined) result.httpSecret = httpSecret;
  }
  if (command === "send") {
    if (values.url === undefined) throw new UsageError("send needs --url");
    let url: URL;
    try {
      url = new URL(values.url);
    } catch {
      throw new UsageError(`--url is not a URL: "${values.url}"`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new UsageError("--url must be http:// or https://");
    }
    result.url = values.url;
  }
  return result;
}

/** The body of request number `index`: a fixed one, or a fresh generated batch. */
async function bodyMaker(command: ParsedCommand, io: CliIo): Promise<(index: number) => Uint8Array> {
  if (command.batch !== undefined) {
    const size = command.batch;
    const runId = newRunId();
    return (index) => sqreenWireBytes(generateNotifications(size, { runId, firstIndex: index * size }));
  }
  let fixed: Uint8Array;
  if (command.file !== undefined) fixed = await io.readFile(command.file);
  else if (command.sample === undefined && command.command === "sign") fixed = await io.readStdin();
  else {
    const sample = findSample(command.sample ?? DEFAULT_SAMPLE);
    if (!sample) throw new UsageError(`Unknown sample "${command.sample}"`);
    fixed = sampleBody(sample);
  }
  return () => fixed;
}

function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

async function send(
  command: ParsedCommand,
  io: CliIo,
  makeBody: (index: number) => Uint8Array,
): Promise<number> {
  const url = command.url as string;
  const secret = command.secret as string;
  const request = (index: number) => buildSqreenRequest(makeBody(index), secret, { tamper: command.tamper });
  if (command.count === 1) {
    const single = request(0);
    io.stderr(
      `POST ${url} (${single.body.byteLength} bytes${command.tamper ? ", tampered signature" : ""})\n`,
    );
    const result = await sendRequest(url, single, io.fetch);
    const status = result.status === 0 ? "no answer" : String(result.status);
    io.stdout(`${status} in ${formatMs(result.latencyMs)}\n${truncate(result.body)}\n`);
    return isSuccess(result) ? 0 : 1;
  }
  const started = performance.now();
  let ok = 0;
  let failed = 0;
  let firstFailure: SendResult | undefined;
  const results = await runBounded(
    command.count,
    command.concurrency,
    (index) => sendRequest(url, request(index), io.fetch),
    (completed, result) => {
      if (isSuccess(result)) ok++;
      else {
        failed++;
        firstFailure ??= result;
      }
      // Only a terminal can redraw a line; in CI logs one line per request would drown the summary.
      if (io.isTTY) io.stderr(`\r${completed}/${command.count} sent, ${ok} ok, ${failed} failed`);
    },
  );
  if (io.isTTY) io.stderr("\n");
  const seconds = (performance.now() - started) / 1000;
  const summary = summarize(results);
  const statuses = Object.entries(summary.statuses)
    .map(([status, n]) => `${status === "0" ? "no answer" : status} ×${n}`)
    .join(", ");
  io.stdout(
    `${results.length} requests in ${seconds.toFixed(2)} s (${(results.length / seconds).toFixed(1)} req/s)\n` +
      `ok ${summary.ok}, failed ${summary.failed} (${statuses})\n` +
      `latency p50 ${formatMs(summary.p50Ms)}, p99 ${formatMs(summary.p99Ms)}, max ${formatMs(summary.maxMs)}\n`,
  );
  if (firstFailure) io.stdout(`first failure: ${firstFailure.status} ${truncate(firstFailure.body)}\n`);
  return summary.failed === 0 ? 0 : 1;
}

async function listen(command: ParsedCommand, io: CliIo): Promise<number> {
  const listener = await startListener({
    port: command.port,
    httpSecret: command.httpSecret,
    print: io.stdout,
  });
  io.stderr(
    [
      `Listening on ${listener.origin} (Ctrl-C stops). Start the relay with:`,
      `  SLACK_WEBHOOK_URL=${listener.origin}${LISTEN_PATHS.slack} ADMIN_SLACK_WEBHOOK_URL=${listener.origin}${LISTEN_PATHS.slackAdmin}`,
      `  HTTP_FORWARD_URL=${listener.origin}${LISTEN_PATHS.http}${command.httpSecret ? "" : " (and give listen --http-secret, the relay's HTTP_FORWARD_SECRET, to verify HTTP deliveries)"}`,
      "",
    ].join("\n"),
  );
  await io.untilInterrupted();
  await listener.close();
  return 0;
}

/** Runs one command line; resolves to the process exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command: ParsedCommand;
  try {
    command = parseCommandLine(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`sqreen: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  switch (command.command) {
    case "help":
      io.stdout(USAGE);
      return 0;
    case "samples":
      io.stdout(`${describeSamples()}\n`);
      return 0;
    case "body":
      io.stdout(Buffer.from((await bodyMaker(command, io))(0)).toString("utf8"));
      return 0;
    case "sign": {
      const body = (await bodyMaker(command, io))(0);
      io.stdout(`${buildSqreenRequest(body, command.secret as string).headers["X-Sqreen-Integrity"]}\n`);
      return 0;
    }
    case "send":
      return send(command, io, await bodyMaker(command, io));
    case "listen":
      return listen(command, io);
  }
}
