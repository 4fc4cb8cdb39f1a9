/**
 * The relay's settings: one zod schema and its one loader, read by the CDK app at synth time
 * (`relay.config.json`, or the file the `relayConfig` context names) and by the local stack
 * (`RELAY_CONFIG`). It holds no secret and no personal data: signing keys, webhook URLs, e-mail
 * recipients and phone numbers live in each backend's secret (Secrets Manager in AWS, environment
 * variables locally), never in a template. Each default is stated once, on its field: a section
 * left out is parsed from `{}` (`prefault`), so it gets the same defaults as a section written out.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { SEVERITIES } from "../lambdas/contracts/alert.js";
import { DEFAULT_HTTP_TIMEOUT_SECONDS } from "../lambdas/deliver-http/config.js";
import { DEFAULT_DIGEST_POLICIES } from "../lambdas/digest/defaults.js";
import type { HumanBackend } from "../lambdas/digest/seams.js";
import { DEFAULT_KEY_CACHE_SECONDS, DEFAULT_MAX_BODY_BYTES } from "../lambdas/ingest/config.js";
import { formatIssues } from "../lambdas/runtime/config.js";
import { ConfigurationError } from "../lambdas/runtime/errors.js";

/** Root of the repository: the default settings file, handlers, the lock file and cdk.json are found from here. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Settings file read when none is named, if it exists. */
export const DEFAULT_CONFIG_FILE = "relay.config.json";

const severity = z.enum(SEVERITIES);
const nonEmptyName = z.string().trim().min(1);

/**
 * Which alerts a backend receives. All conditions must hold; internal alerts (the relay itself
 * under attack) always pass, whatever the filter says.
 */
export const routeFilterSchema = z
  .object({
    /** Lowest severity delivered. */
    minSeverity: severity.default("info"),
    /** Only these source types (`security_event`, `pulse`, `account_takeover`...); all when absent. */
    types: z.array(nonEmptyName).min(1).optional(),
    /** Only these environments (`production`...); all when absent. */
    environments: z.array(nonEmptyName).min(1).optional(),
  })
  .strict();
export type RouteFilter = z.infer<typeof routeFilterSchema>;

/** An existing secret's full ARN, when the stack should import it instead of creating one. */
const secretArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
    "must be a Secrets Manager secret ARN",
  );

function backendSchema<Extra extends z.ZodRawShape>(
  defaults: { enabled: boolean; filter: z.input<typeof routeFilterSchema> },
  extra: Extra,
) {
  return z
    .object({
      enabled: z.boolean().default(defaults.enabled),
      filter: routeFilterSchema.prefault(defaults.filter),
      /** Import this secret for the backend's sensitive settings instead of creating one. */
      secretArn: secretArn.optional(),
      ...extra,
    })
    .strict();
}

/**
 * `backends.<name>.digest` of a human backend: `{ immediate, windowSeconds }` (either may be left
 * out and takes the backend's default), or `false` to send every alert alone.
 */
function digestSchema(backend: HumanBackend) {
  const defaults = DEFAULT_DIGEST_POLICIES[backend];
  return z
    .union([
      z.literal(false),
      z
        .object({
          immediate: z.number().int().min(0).max(100).default(defaults.immediate),
          /** Up to a day: a window's state is kept that long past its close. */
          windowSeconds: z.number().int().min(10).max(86_400).default(defaults.windowSeconds),
        })
        .strict(),
    ])
    .prefault({});
}

export const relaySettingsSchema = z
  .object({
    /** Sqreen application ids of the relay itself: alerts about them are internal security alerts. */
    ownApplicationIds: z.array(nonEmptyName).default([]),
    ingest: z
      .object({
        /**
         * Largest request body accepted, in bytes; larger gets 413. The default stays under the 6 MB
         * Lambda invocation limit even when API Gateway base64-encodes the body (4/3 larger).
         */
        maxBodyBytes: z.number().int().positive().max(DEFAULT_MAX_BODY_BYTES).default(DEFAULT_MAX_BODY_BYTES),
        /** Import an existing signing-keys secret instead of creating one. */
        signingKeysSecretArn: secretArn.optional(),
        /** How long fetched signing keys are reused before Secrets Manager is asked again. */
        keyCacheSeconds: z.number().int().min(0).max(3600).default(DEFAULT_KEY_CACHE_SECONDS),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        /** Steady-state requests per second API Gateway lets through. */
        throttlingRateLimit: z.number().int().positive().default(50),
        /** Burst above the rate, in requests. */
        throttlingBurstLimit: z.number().int().positive().default(100),
      })
      .strict()
      .prefault({}),
    backends: z
      .object({
        log: backendSchema({ enabled: true, filter: {} }, {}).prefault({}),
        email: backendSchema(
          { enabled: false, filter: {} },
          {
            /**
             * Sender address of the alerts, e.g. `alerts@example.com`, verified in SES as an address
             * or through its domain; the function may send as this address only.
             */
            from: z.email().optional(),
            digest: digestSchema("email"),
          },
        )
          .refine((email) => !email.enabled || email.from !== undefined, {
            message: "backends.email.from is required when the email backend is enabled",
            path: ["from"],
          })
          .prefault({}),
        http: backendSchema(
          { enabled: false, filter: {} },
          {
            /** Per-attempt timeout of one POST. */
            timeoutSeconds: z.number().int().min(1).max(30).default(DEFAULT_HTTP_TIMEOUT_SECONDS),
          },
        ).prefault({}),
        // A text wakes someone up: by default only high and critical alerts (and internal ones).
        sms: backendSchema(
          { enabled: false, filter: { minSeverity: "high" } },
          { digest: digestSchema("sms") },
        ).prefault({}),
        slack: backendSchema({ enabled: false, filter: {} }, { digest: digestSchema("slack") }).prefault({}),
      })
      .strict()
      .prefault({}),
    /** Existing SNS topic that CloudWatch alarms notify; subscribe people to it yourself. */
    alarmTopicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$/, "must be an SNS topic ARN")
      .optional(),
    /** Days CloudWatch keeps function and access logs. */
    logRetentionDays: z.number().int().positive().default(30),
    /**
     * X-Ray active tracing of every function. Off by default: Lambda samples its own fixed rate (1
     * request a second and 5% of the rest, per function; sampling rules do not apply to it), the
     * traces hold only Lambda's segments (the handlers carry no X-Ray SDK), and at 100
     * notifications a second they cost about $2 per million notifications, more than SNS and SQS
     * together. The delivery ledger, the logs and the metrics answer what an operator asks;
     * switch it on to study latency.
     */
    tracing: z.enum(["off", "active"]).default("off"),
    /** The local relay (`npm start`) only; the stack ignores it. */
    local: z
      .object({
        /** Where the database and the outbox go (RELAY_DATA_DIR overrides it). */
        dataDir: nonEmptyName.default(".relay"),
        /** Notifications not yet routed plus deliveries not yet finished; past it ingest answers 503. */
        maxPendingDeliveries: z.number().int().positive().default(50_000),
        /** On SIGTERM or SIGINT, how long work under way may take to finish before the relay exits. */
        drainSeconds: z.number().positive().max(300).default(10),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RelaySettings = z.infer<typeof relaySettingsSchema>;

export class InvalidSettingsError extends ConfigurationError {
  override readonly name = "InvalidSettingsError";
}

/**
 * Validates raw settings (parsed JSON) and applies defaults. Throws an `InvalidSettingsError`
 * whose message names every bad field, e.g. `backends.sms.filter.minSeverity: Invalid option`.
 */
export function parseRelaySettings(raw: unknown, source = "relay settings"): RelaySettings {
  const result = relaySettingsSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  throw new InvalidSettingsError(`Invalid ${source}:\n  ${formatIssues(result.error.issues).join("\n  ")}`);
}

export interface LoadedSettings {
  readonly settings: RelaySettings;
  /** The file the settings came from, or undefined for the built-in defaults. */
  readonly file: string | undefined;
}

/**
 * Reads the relay settings: the file named by `configFile` (relative to `root`), else
 * `relay.config.json` in `root` if it exists, else the schema's defaults. Throws an
 * `InvalidSettingsError` naming the file and every bad field.
 */
export function loadRelaySettings(
  configFile: string | undefined,
  root: string = PROJECT_ROOT,
): LoadedSettings {
  const file = path.resolve(root, configFile ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    if (configFile !== undefined) throw new InvalidSettingsError(`Relay settings file not found: ${file}`);
    return { settings: parseRelaySettings({}, "default relay settings"), file: undefined };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new InvalidSettingsError(`Invalid relay settings in ${file}: not JSON`, { cause: error });
  }
  return { settings: parseRelaySettings(raw, `relay settings in ${file}`), file };
}
