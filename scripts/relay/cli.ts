/**
 * The operator command line, `npm run relay -- <command>`: argument parsing and printing only; the
 * ledger (local or on a stack), the network and the redrive are injected (bin/relay.ts wires the
 * real ones), so tests run it whole.
 */
import { parseArgs } from "node:util";
import { BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import type { LedgerReader } from "../../lambdas/ledger/ledger.js";
import type { FetchLike } from "../sqreen/request.js";
import { DEFAULT_DRILL_TIMEOUT_MS, formatDrill, runDrill } from "./drill.js";
import { formatRecent, formatTrace, verdicts } from "./report.js";

export const SECRET_ENV = "SQREEN_WEBHOOK_SECRET";
const DEFAULT_SINCE = "1h";
const DEFAULT_LIMIT = 50;

export const USAGE = `Usage: npm run relay -- <command> [options]

Answers "did alert X reach Slack?" from the delivery ledger, locally or on a deployed stack.

Commands:
  trace <alert-or-event-id>   One row per backend and destination: outcome, attempts, times,
                              reason. Exit 0 when every backend it was routed to delivered it.
  recent                      The latest outcomes, newest first. On a stack, those still owed
                              or done by hand only (failed, deferred, dead-lettered, redriven):
                              the ledger indexes no other by day; trace finds every outcome.
  drill                       Sends a fresh signed test notification (unique id) and waits until
                              every enabled backend recorded an outcome; exit 0 only if all
                              delivered it.
  redrive ...                 Replays a backend's dead letters (npm run redrive -- --help), each
                              recorded in the ledger as redriven.

Where (one of; the local relay by default):
  --local                     The local relay's data directory (RELAY_DATA_DIR, else the settings
                              file's local.dataDir, else .relay), or --local=DIR.
  --stack NAME                A deployed stack: its outputs name the ledger table and the webhook
                              (AWS credentials and region from the shell).

Options:
  --backend B                 recent: only this backend (${BACKENDS.join(", ")}).
  --failed                    recent: only failed and dead-lettered outcomes.
  --since D                   recent: outcomes of the last D (30s, 15m, 1h, 2d; default ${DEFAULT_SINCE}).
  --limit N                   recent: at most N (default ${DEFAULT_LIMIT}).
  --url U --secret S          drill: the webhook and its secret (default, locally: the running
                              relay's, from its run file; on a stack: the WebhookUrl output and
                              ${SECRET_ENV}).
  --backends a,b              drill: the backends to wait for (default: the relay's enabled ones).
  --timeout S                 drill: seconds to wait at most (default ${DEFAULT_DRILL_TIMEOUT_MS / 1000}).
  -h, --help                  This text.

Exit status: 0 as each command says; 1 when an alert was not delivered everywhere; 2 on bad
arguments or when the ledger cannot be reached.

Examples:
  npm run relay -- trace 651a7c3e9f2b4d0012ab34cd
  npm run relay -- recent --failed --since 1d
  npm run relay -- drill
  npm run relay -- --stack SqreenRelay drill
`;

/** A ledger opened for one command, and what the relay it belongs to says of itself. */
export interface LedgerSource {
  ledger: LedgerReader;
  /** The webhook URL, signing secret and enabled backends, when the source knows them. */
  webhookUrl?: string | undefined;
  secret?: string | undefined;
  backends?: readonly Backend[] | undefined;
  close(): void;
}

export interface RelayCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** The local relay's ledger (its data directory, or the default one); throws saying where it looked. */
  local(dataDir: string | undefined): LedgerSource;
  /** A deployed stack's ledger, found from its outputs. */
  stack(name: string): Promise<LedgerSource>;
  fetch?: FetchLike | undefined;
  /** `npm run redrive` with these arguments (and the local data directory named); resolves with its exit status. */
  redrive(argv: readonly string[], dataDir?: string): Promise<number>;
}

class UsageError extends Error {}

const OPTIONS = {
  local: { type: "boolean", default: false },
  "data-dir": { type: "string" },
  stack: { type: "string" },
  backend: { type: "string" },
  failed: { type: "boolean", default: false },
  since: { type: "string", default: DEFAULT_SINCE },
  limit: { type: "string" },
  url: { type: "string" },
  secret: { type: "string" },
  backends: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** `30s`, `15m`, `1h`, `2d` in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!match) throw new UsageError(`--since must be a duration such as 30s, 15m, 1h or 2d, not "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}

function backendOf(name: string): Backend {
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown backend "${name}": one of ${BACKENDS.join(", ")}`);
  }
  return name as Backend;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`--${name} must be a positive number`);
  return value;
}

/**
 * When the command is `redrive`: the redrive's own arguments (today's `npm run redrive` takes
 * them all; `--local=DIR` becomes `--local` and the data directory).
 */
function redriveArguments(argv: readonly string[]): { argv: string[]; dataDir?: string } | undefined {
  let index = 0;
  while (index < argv.length && (argv[index]?.startsWith("--local") || argv[index] === "--stack")) {
    index += argv[index] === "--stack" ? 2 : 1;
  }
  if (argv[index] !== "redrive") return undefined;
  const rest = [...argv.slice(0, index), ...argv.slice(index + 1)];
  const dataDir = rest.find((arg) => arg.startsWith("--local="))?.slice("--local=".length);
  return {
    argv: rest.map((arg) => (arg.startsWith("--local=") ? "--local" : arg)),
    ...(dataDir ? { dataDir } : {}),
  };
}

/** Runs the command line; resolves with the exit status. */
export async function runRelayCli(argv: readonly string[], io: RelayCliIo): Promise<number> {
  const redrive = redriveArguments(argv);
  if (redrive) return io.redrive(redrive.argv, redrive.dataDir);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    // `--local=DIR` names the data directory; `--local` alone, the default one.
    const args = argv.flatMap((arg) =>
      arg.startsWith("--local=") ? ["--local", `--data-dir=${arg.slice(8)}`] : [arg],
    );
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    (command === undefined && !values.help ? io.stderr : io.stdout)(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.local && values.stack) {
    io.stderr("Give --local or --stack, not both\n");
    return 2;
  }
  let source: LedgerSource;
  try {
    source = values.stack ? await io.stack(values.stack) : io.local(values["data-dir"]);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return 2;
  }
  try {
    return await run(command, rest, values, source, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${error.message}\n\n${USAGE}`);
    return 2;
  } finally {
    source.close();
  }
}

async function run(
  command: string,
  rest: readonly string[],
  values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"],
  source: LedgerSource,
  io: RelayCliIo,
): Promise<number> {
  switch (command) {
    case "trace": {
      const [id, ...extra] = rest;
      if (id === undefined || extra.length > 0) throw new UsageError("trace takes one alert or event id");
      const entries = await source.ledger.find(id);
      io.stdout(formatTrace(id, entries));
      return entries.length > 0 && verdicts(entries).every((verdict) => verdict.delivered) ? 0 : 1;
    }
    case "recent": {
      if (rest.length > 0) throw new UsageError("recent takes no argument");
      const entries = await source.ledger.recent({
        backend: values.backend === undefined ? undefined : backendOf(values.backend),
        outcomes: values.failed ? ["failed", "dead-lettered"] : undefined,
        since: Date.now() - parseDuration(values.since as string),
        limit: values.limit === undefined ? DEFAULT_LIMIT : Math.floor(positive("limit", values.limit)),
      });
      io.stdout(formatRecent(entries));
      return 0;
    }
    case "drill": {
      if (rest.length > 0) throw new UsageError("drill takes no argument");
      const webhookUrl = values.url ?? source.webhookUrl;
      const secret = values.secret ?? (values.url ? undefined : source.secret) ?? io.env[SECRET_ENV];
      const backends = values.backends?.split(",").map((name) => backendOf(name.trim())) ?? source.backends;
      if (!webhookUrl || !secret) {
        throw new UsageError(
          "drill needs the webhook and its secret: --url and --secret (or a running local relay)",
        );
      }
      if (!backends?.length) throw new UsageError("drill needs the backends to wait for: --backends a,b");
      const result = await runDrill({
        webhookUrl,
        secret,
        backends,
        ledger: source.ledger,
        timeoutMs: values.timeout === undefined ? undefined : positive("timeout", values.timeout) * 1000,
        fetch: io.fetch,
      });
      io.stdout(formatDrill(result));
      return result.ok ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}
