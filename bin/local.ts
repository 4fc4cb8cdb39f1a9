/**
 * `npm start`: the whole relay on this machine, no AWS needed. Configuration comes from environment
 * variables (the secrets) and, optionally, the same settings file the CDK app reads. See the
 * README's "Run it locally" table.
 *
 * SIGTERM and SIGINT stop it gracefully (local/pipeline.ts `close`): new requests get 503,
 * work under way gets the drain time, what is left stays in the data directory for the next
 * start. `npm start` runs this file with `exec` so that npm's forwarded signal reaches this process
 * (without it, npm signals the shell it started, which dies and leaves the relay running).
 */

import {
  readBackendSecrets,
  readLocalSettings,
  readSigningKeys,
  resolveDataDir,
  StartupError,
} from "../local/environment.js";
import { startLocalRelay } from "../local/pipeline.js";
import { DataDirectoryInUseError } from "../local/store/relay-store.js";

async function main(): Promise<void> {
  // The log backend writes to stdout: each line is out of the process before its delivery is
  // recorded, so a kill -9 cannot drop a line the relay counts as delivered (pipes are otherwise
  // written asynchronously).
  blockingWrites(process.stdout);
  blockingWrites(process.stderr);
  const env = process.env;
  const { settings, source } = readLocalSettings(env);
  const { keys, generated } = readSigningKeys(env);
  const secrets = readBackendSecrets(env, settings);
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new StartupError(`PORT must be a port number, not "${env.PORT}"`);
  const dataDir = resolveDataDir(env, settings);

  const relay = await startLocalRelay({
    port,
    host: env.HOST,
    signingKeys: keys,
    settings,
    secrets,
    dataDir,
  });

  const off = (["email", "http", "sms", "slack"] as const).filter(
    (backend) => !relay.backends.includes(backend),
  );
  console.log(
    [
      `sqreen-relay listening on ${relay.webhookUrl}`,
      `  settings: ${source}`,
      `  backends: ${relay.backends.join(", ")}${off.length ? ` (off: ${off.join(", ")}, see the README to enable)` : ""}`,
      `  own application ids: ${settings.ownApplicationIds.length ? settings.ownApplicationIds.join(", ") : "none"}`,
      `  data: ${dataDir} (database relay.db, outbox/ for e-mail and SMS); ${relay.stats().pending} pending from earlier runs`,
      `  dead letters: ${describeCounts(relay.stats().deadLetters)} (npm run redrive -- --local --backend <backend> --dry-run lists them)`,
      "  delivery ledger: npm run relay -- drill (a test through every backend), trace <alert id>, recent --failed",
    ].join("\n"),
  );
  if (generated) {
    console.log(
      [
        "",
        "SQREEN_WEBHOOK_SECRET is not set, so this run uses a random development secret:",
        `  ${keys[0]}`,
        "Send it a signed sample from another terminal:",
        `  npm run sqreen -- send --url ${relay.webhookUrl} --secret ${keys[0]} --sample v2-mixed-batch`,
        "",
      ].join("\n"),
    );
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    // A terminal's Ctrl-C reaches npm and this process both; the drain is bounded anyway.
    if (stopping) return;
    stopping = true;
    console.log(
      `${signal}: stopping (answering 503, up to ${settings.local.drainSeconds} s for work under way)`,
    );
    relay.close().then(
      (report) => {
        console.log(
          `stopped: ${report.interrupted} interrupted, ${report.pending} pending kept in ${dataDir} for the next start`,
        );
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`stop failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

function describeCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? "none" : entries.map(([source, count]) => `${source} ${count}`).join(", ");
}

/** Makes writes to a pipe synchronous (they already are to files and terminals). */
function blockingWrites(stream: NodeJS.WriteStream): void {
  const handle = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle;
  handle?.setBlocking?.(true);
}

main().catch((error: unknown) => {
  const known = error instanceof StartupError || error instanceof DataDirectoryInUseError;
  console.error(known || error instanceof Error ? (error as Error).message : String(error));
  process.exit(1);
});
