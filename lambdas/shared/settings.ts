/**
 * The relay's settings: one zod schema read by the CDK app at synth time (from `relay.config.json`
 * or the `relayConfig` context) and by the local stack. It holds no secret and no personal data:
 * signing keys, webhook URLs, e-mail recipients and phone numbers live in each backend's secret
 * (Secrets Manager in AWS, environment variables locally), never in a template.
 */
import * as z from "zod";
import { SEVERITIES } from "./alert.js";

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
  defaults: { enabled: boolean; filter: RouteFilter },
  extra: Extra,
) {
  return z
    .object({
      enabled: z.boolean().default(defaults.enabled),
      filter: routeFilterSchema.default(defaults.filter),
      /** Import this secret for the backend's sensitive settings instead of creating one. */
      secretArn: secretArn.optional(),
      ...extra,
    })
    .strict();
}

const everything: RouteFilter = { minSeverity: "info" };

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
        maxBodyBytes: z.number().int().positive().max(4_500_000).default(4_500_000),
        /** Import an existing signing-keys secret instead of creating one. */
        signingKeysSecretArn: secretArn.optional(),
        /** How long fetched signing keys are reused before Secrets Manager is asked again. */
        keyCacheSeconds: z.number().int().min(0).max(3600).default(300),
      })
      .strict()
      .default({ maxBodyBytes: 4_500_000, keyCacheSeconds: 300 }),
    api: z
      .object({
        /** Steady-state requests per second API Gateway lets through. */
        throttlingRateLimit: z.number().int().positive().default(50),
        /** Burst above the rate, in requests. */
        throttlingBurstLimit: z.number().int().positive().default(100),
      })
      .strict()
      .default({ throttlingRateLimit: 50, throttlingBurstLimit: 100 }),
    backends: z
      .object({
        log: backendSchema({ enabled: true, filter: everything }, {}).default({
          enabled: true,
          filter: everything,
        }),
        email: backendSchema(
          { enabled: false, filter: everything },
          {
            /** Verified SES identity the alerts are sent from, e.g. `alerts@example.com`. */
            from: z.email().optional(),
            /**
             * SES identity (domain or address) `ses:SendEmail` is scoped to; defaults to the
             * domain of `from`.
             */
            sesIdentity: nonEmptyName.optional(),
          },
        )
          .refine((email) => !email.enabled || email.from !== undefined, {
            message: "backends.email.from is required when the email backend is enabled",
            path: ["from"],
          })
          .default({ enabled: false, filter: everything }),
        http: backendSchema(
          { enabled: false, filter: everything },
          {
            /** Per-attempt timeout of one POST. */
            timeoutSeconds: z.number().int().min(1).max(30).default(10),
          },
        ).default({ enabled: false, filter: everything, timeoutSeconds: 10 }),
        sms: backendSchema({ enabled: false, filter: { minSeverity: "high" } }, {}).default({
          enabled: false,
          filter: { minSeverity: "high" },
        }),
        slack: backendSchema({ enabled: false, filter: everything }, {}).default({
          enabled: false,
          filter: everything,
        }),
      })
      .strict()
      .default({
        log: { enabled: true, filter: everything },
        email: { enabled: false, filter: everything },
        http: { enabled: false, filter: everything, timeoutSeconds: 10 },
        sms: { enabled: false, filter: { minSeverity: "high" } },
        slack: { enabled: false, filter: everything },
      }),
    /** Existing SNS topic that CloudWatch alarms notify; subscribe people to it yourself. */
    alarmTopicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:.+$/, "must be an SNS topic ARN")
      .optional(),
    /** Days CloudWatch keeps function and access logs. */
    logRetentionDays: z.number().int().positive().default(30),
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
      .default({ dataDir: ".relay", maxPendingDeliveries: 50_000, drainSeconds: 10 }),
  })
  .strict();

export type RelaySettings = z.infer<typeof relaySettingsSchema>;
export type RelaySettingsInput = z.input<typeof relaySettingsSchema>;

export class InvalidSettingsError extends Error {
  override readonly name = "InvalidSettingsError";
}

/**
 * Validates raw settings (parsed JSON) and applies defaults. Throws an `InvalidSettingsError`
 * whose message names every bad field, e.g. `backends.sms.filter.minSeverity: Invalid option`.
 */
export function parseRelaySettings(raw: unknown, source = "relay settings"): RelaySettings {
  const result = relaySettingsSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
  );
  throw new InvalidSettingsError(`Invalid ${source}:\n  ${problems.join("\n  ")}`);
}
