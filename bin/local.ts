/**
 * `npm start`: the whole relay on this machine, no AWS needed. Configuration comes from environment
 * variables (the secrets) and, optionally, the same settings file the CDK app reads. See the
 * README's "Run it locally" table.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import {
  emailSecretSchema,
  httpSecretSchema,
  slackSecretSchema,
  smsSecretSchema,
} from "../lambdas/shared/backend-secrets.js";
import { splitList } from "../lambdas/shared/environment.js";
import { parseRelaySettings, type RelaySettings } from "../lambdas/shared/settings.js";
import { type LocalBackendSecrets, startLocalRelay } from "./local/pipeline.js";

/** Shorter secrets are accepted (Sqreen's are 64 characters) but warned about. */
const WEAK_SECRET_LENGTH = 32;

class StartupError extends Error {}

function readSettings(env: NodeJS.ProcessEnv): { settings: RelaySettings; source: string } {
  const path = env.RELAY_CONFIG ?? (existsSync("relay.config.json") ? "relay.config.json" : undefined);
  if (!path) return { settings: parseRelaySettings({}), source: "defaults" };
  const file = resolve(path);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new StartupError(`Cannot read settings file ${file}: ${(error as Error).message}`);
  }
  return { settings: parseRelaySettings(raw, `settings file ${file}`), source: file };
}

/** SQREEN_WEBHOOK_SECRET: several comma-separated keys for a rotation; unset → a development key. */
function readSigningKeys(env: NodeJS.ProcessEnv): { keys: string[]; generated: boolean } {
  const raw = env.SQREEN_WEBHOOK_SECRET;
  if (raw === undefined) return { keys: [randomBytes(32).toString("hex")], generated: true };
  const keys = splitList(raw);
  if (keys.length === 0) {
    throw new StartupError(
      "SQREEN_WEBHOOK_SECRET is set but empty. Set it to the webhook secret shown in Sqreen's " +
        "integration settings (several, comma-separated, during a rotation), or unset it to get a " +
        "random development secret.",
    );
  }
  for (const key of keys) {
    if (key.length < WEAK_SECRET_LENGTH) {
      console.warn(
        `warning: a signing key of SQREEN_WEBHOOK_SECRET is only ${key.length} characters; ` +
          `Sqreen's are 64. Anyone who guesses it can forge alerts.`,
      );
    }
  }
  return { keys, generated: false };
}

/** Validates one backend's variables with the same schema as its AWS secret, naming the variables. */
function parseBackend<T>(name: string, variables: string, schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
  throw new StartupError(`Invalid ${name} settings (${variables}): ${problems}`);
}

function readBackendSecrets(env: NodeJS.ProcessEnv): LocalBackendSecrets {
  const secrets: LocalBackendSecrets = {};
  const emailTo = splitList(env.EMAIL_TO);
  const adminEmails = splitList(env.ADMIN_EMAILS);
  if (emailTo.length > 0 || adminEmails.length > 0) {
    const recipients = parseBackend("email", "EMAIL_TO, ADMIN_EMAILS", emailSecretSchema, {
      to: emailTo,
      adminTo: adminEmails,
    });
    const from = parseBackend(
      "email",
      "EMAIL_FROM",
      z.email(),
      env.EMAIL_FROM ?? "sqreen-relay@localhost.localdomain",
    );
    secrets.email = { ...recipients, from };
  }
  const smsTo = splitList(env.SMS_TO);
  const adminPhones = splitList(env.ADMIN_PHONE_NUMBERS);
  if (smsTo.length > 0 || adminPhones.length > 0) {
    secrets.sms = parseBackend("sms", "SMS_TO, ADMIN_PHONE_NUMBERS", smsSecretSchema, {
      phoneNumbers: smsTo,
      adminPhoneNumbers: adminPhones,
    });
  }
  if (env.ADMIN_SLACK_WEBHOOK_URL && !env.SLACK_WEBHOOK_URL) {
    // Silently running without Slack would drop the internal alerts the administrators asked for.
    throw new StartupError(
      "ADMIN_SLACK_WEBHOOK_URL is set but SLACK_WEBHOOK_URL is not: the Slack backend needs the " +
        "alerts channel's incoming webhook too (it may be the same URL).",
    );
  }
  if (env.SLACK_WEBHOOK_URL) {
    secrets.slack = parseBackend("slack", "SLACK_WEBHOOK_URL, ADMIN_SLACK_WEBHOOK_URL", slackSecretSchema, {
      webhookUrl: env.SLACK_WEBHOOK_URL,
      ...(env.ADMIN_SLACK_WEBHOOK_URL ? { adminWebhookUrl: env.ADMIN_SLACK_WEBHOOK_URL } : {}),
    });
  }
  const httpUrls = splitList(env.HTTP_FORWARD_URL);
  if (httpUrls.length > 0) {
    const signingSecret = env.HTTP_FORWARD_SECRET ?? `whsec_${randomBytes(24).toString("base64")}`;
    if (!env.HTTP_FORWARD_SECRET) {
      console.log(`HTTP_FORWARD_SECRET not set: deliveries are signed with ${signingSecret}`);
    }
    secrets.http = parseBackend("http", "HTTP_FORWARD_URL, HTTP_FORWARD_SECRET", httpSecretSchema, {
      targets: httpUrls.map((url) => ({ url, signingSecret })),
    });
  }
  return secrets;
}

async function main(): Promise<void> {
  const env = process.env;
  const { settings: fileSettings, source } = readSettings(env);
  const ownIds = splitList(env.OWN_APPLICATION_IDS);
  const settings: RelaySettings =
    ownIds.length > 0 ? { ...fileSettings, ownApplicationIds: ownIds } : fileSettings;
  const { keys, generated } = readSigningKeys(env);
  const secrets = readBackendSecrets(env);
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
