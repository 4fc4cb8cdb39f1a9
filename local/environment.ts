/**
 * The local stack's configuration from environment variables, shared by `npm start` (bin/local.ts)
 * and `npm run redrive -- --local` (bin/redrive.ts), so a replayed dead letter goes through a
 * backend configured exactly as the one that failed. See the README's "Run it locally" table.
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { z } from "zod";
import {
  type EmailSecret,
  emailSecretSchema,
  type HttpSecret,
  httpSecretSchema,
  type SlackSecret,
  type SmsSecret,
  slackSecretSchema,
  smsSecretSchema,
} from "../lambdas/contracts/backend-secrets.js";
import { formatIssues, splitList } from "../lambdas/runtime/config.js";
import { ConfigurationError } from "../lambdas/runtime/errors.js";
import { loadRelaySettings, type RelaySettings } from "../lib/settings.js";

/** Shorter secrets are accepted (Sqreen's are 64 characters) but warned about. */
const WEAK_SECRET_LENGTH = 32;

/** A configuration mistake: its message says what to fix, and is printed without a stack trace. */
export class StartupError extends ConfigurationError {
  override name = "StartupError";
}

/**
 * The settings file (RELAY_CONFIG, else ./relay.config.json if present), else the defaults: the
 * loader `cdk synth` uses, from the current directory.
 */
export function readSettings(env: NodeJS.ProcessEnv): { settings: RelaySettings; source: string } {
  const { settings, file } = loadRelaySettings(env.RELAY_CONFIG, process.cwd());
  return { settings, source: file ?? "defaults" };
}

/** SQREEN_WEBHOOK_SECRET: several comma-separated keys for a rotation; unset → a development key. */
export function readSigningKeys(env: NodeJS.ProcessEnv): { keys: string[]; generated: boolean } {
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

/**
 * Sensitive backend settings, as the secrets hold them in AWS. A backend without them is off; one
 * given values that name no destination (the stack's placeholders) is on and fails every delivery
 * as not configured, as it would in AWS.
 */
export interface LocalBackendSecrets {
  email?: EmailSecret & { from: string };
  sms?: SmsSecret;
  slack?: SlackSecret;
  http?: HttpSecret;
}

/**
 * The variables that stand in for each backend's secret locally: what a "not configured" failure
 * names, as the secret's ARN does in AWS.
 */
export const LOCAL_SECRET_VARIABLES = {
  email: "EMAIL_TO, ADMIN_EMAILS",
  sms: "SMS_TO, ADMIN_PHONE_NUMBERS",
  slack: "SLACK_WEBHOOK_URL, ADMIN_SLACK_WEBHOOK_URL",
  http: "HTTP_FORWARD_URL, HTTP_FORWARD_SECRET",
} as const;

/** Validates one backend's variables with the same schema as its AWS secret, naming the variables. */
function parseBackend<T>(name: string, variables: string, schema: z.core.$ZodType<T>, value: unknown): T {
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  throw new StartupError(
    `Invalid ${name} settings (${variables}): ${formatIssues(result.error.issues).join("; ")}`,
  );
}

/** Sender of local e-mails when neither EMAIL_FROM nor the settings' `backends.email.from` names one. */
const LOCAL_EMAIL_FROM = "sqreen-relay@localhost.localdomain";

/**
 * Each backend's secret from its variables; a backend whose variables are unset is off. The
 * e-mail sender is EMAIL_FROM, else the settings' `backends.email.from`, as the stack would send.
 */
export function readBackendSecrets(env: NodeJS.ProcessEnv, settings?: RelaySettings): LocalBackendSecrets {
  const secrets: LocalBackendSecrets = {};
  const emailTo = splitList(env.EMAIL_TO);
  const adminEmails = splitList(env.ADMIN_EMAILS);
  if (emailTo.length > 0 || adminEmails.length > 0) {
    const recipients = parseBackend("email", LOCAL_SECRET_VARIABLES.email, emailSecretSchema, {
      to: emailTo,
      adminTo: adminEmails,
    });
    const from = parseBackend(
      "email",
      "EMAIL_FROM",
      z.email(),
      env.EMAIL_FROM ?? settings?.backends.email.from ?? LOCAL_EMAIL_FROM,
    );
    secrets.email = { ...recipients, from };
  }
  const smsTo = splitList(env.SMS_TO);
  const adminPhones = splitList(env.ADMIN_PHONE_NUMBERS);
  if (smsTo.length > 0 || adminPhones.length > 0) {
    secrets.sms = parseBackend("sms", LOCAL_SECRET_VARIABLES.sms, smsSecretSchema, {
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
    secrets.slack = parseBackend("slack", LOCAL_SECRET_VARIABLES.slack, slackSecretSchema, {
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
    secrets.http = parseBackend("http", LOCAL_SECRET_VARIABLES.http, httpSecretSchema, {
      targets: httpUrls.map((url) => ({ url, signingSecret })),
    });
  }
  return secrets;
}

/**
 * The data directory: RELAY_DATA_DIR, else the settings' `local.dataDir` (`.relay`), so
 * `npm start` and the local tools (`npm run redrive -- --local`) find the same one.
 */
export function resolveDataDir(env: NodeJS.ProcessEnv, settings: RelaySettings): string {
  return resolve(env.RELAY_DATA_DIR ?? settings.local.dataDir);
}

/** The settings with OWN_APPLICATION_IDS, when set, replacing the file's own application ids. */
export function readLocalSettings(env: NodeJS.ProcessEnv): { settings: RelaySettings; source: string } {
  const { settings, source } = readSettings(env);
  const ownIds = splitList(env.OWN_APPLICATION_IDS);
  return { settings: ownIds.length > 0 ? { ...settings, ownApplicationIds: ownIds } : settings, source };
}
