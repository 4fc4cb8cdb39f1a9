/**
 * `npm start`: the whole relay on this machine, no AWS needed. Configuration comes from environment
 * variables (the secrets) and, optionally, the same settings file the CDK app reads. See the
 * README's "Run it locally" table.
 */
import { resolve } from "node:path";
import { readBackendSecrets, readLocalSettings, readSigningKeys, StartupError } from "./local/environment.js";
import { startLocalRelay } from "./local/pipeline.js";

async function main(): Promise<void> {
  const env = process.env;
  const { settings, source } = readLocalSettings(env);
  const { keys, generated } = readSigningKeys(env);
  const secrets = readBackendSecrets(env, settings);
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new StartupError(`PORT must be a port number, not "${env.PORT}"`);
  const dataDir = resolve(env.RELAY_DATA_DIR ?? ".relay");

  const relay = await startLocalRelay({
    port,
    host: env.HOST ?? "127.0.0.1",
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
      `  outbox (email, sms): ${dataDir}/outbox   dead letters: ${dataDir}/dead-letters`,
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

  const stop = async (): Promise<void> => {
    await relay.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof StartupError || error instanceof Error ? error.message : String(error));
  process.exit(1);
});
