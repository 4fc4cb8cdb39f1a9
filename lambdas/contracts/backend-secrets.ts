/**
 * The JSON each secret holds. In AWS these are Secrets Manager secret strings (the stack creates
 * them with placeholder values for the user to fill in); locally the local stack builds the same
 * shapes from environment variables. Recipients and URLs are personal or secret data, which is
 * why they live here and not in settings, templates or function environments.
 *
 * A backend secret that names no destination at all (the placeholders lib/constructs/relay-secrets.ts
 * creates: `{"to": [], "adminTo": []}`, `{"phoneNumbers": [], ...}`, `{"targets": []}`,
 * `{"webhookUrl": "REPLACE_ME"}`) fails its schema: an enabled backend with nowhere to deliver is
 * a configuration failure, retried and dead-lettered until the secret is filled in (see
 * lambdas/delivery/secret-source.ts), never a delivery that quietly succeeds.
 */
import * as z from "../runtime/schema.js";

const emailList = z.array(z.email());
/** E.164: `+` then 8 to 15 digits. */
const phoneList = z.array(
  z.string().check(z.regex(/^\+[1-9]\d{7,14}$/, "must be an E.164 phone number like +33612345678")),
);
const httpsUrl = z.url({ protocol: /^https?$/ });

/**
 * Signing keys: `{"keys": ["<secret of app A>", "<new secret of app B>", ...]}`. A request is
 * authentic when it matches any key (one per Sqreen application, two during a rotation). A plain
 * string secret is read as one key, or several separated by commas or newlines.
 */
export const signingKeysSecretSchema = z.strictObject({ keys: z.array(z.string()) });

/**
 * At least one recipient in `to` or `adminTo`. Administrators alone is a valid setup: they get
 * the internal alerts, and the other alerts are skipped (the outcome line says why).
 */
export const emailSecretSchema = z
  .strictObject({
    /** Who receives every routed alert. */
    to: z._default(emailList, []),
    /** Administrators, added for internal security alerts. */
    adminTo: z._default(emailList, []),
  })
  .check(
    z.refine((secret) => secret.to.length + secret.adminTo.length > 0, {
      path: ["to"],
      message: "no recipient: both to and adminTo are empty",
    }),
  );

/** At least one number in `phoneNumbers` or `adminPhoneNumbers`, as for e-mail. */
export const smsSecretSchema = z
  .strictObject({
    phoneNumbers: z._default(phoneList, []),
    /** Administrators' phones, added for internal security alerts. */
    adminPhoneNumbers: z._default(phoneList, []),
  })
  .check(
    z.refine((secret) => secret.phoneNumbers.length + secret.adminPhoneNumbers.length > 0, {
      path: ["phoneNumbers"],
      message: "no phone number: both phoneNumbers and adminPhoneNumbers are empty",
    }),
  );

export const slackSecretSchema = z.strictObject({
  /** Incoming webhook URL of the alerts channel. */
  webhookUrl: z.url({
    protocol: /^https?$/,
    error: "not the http(s) URL of a Slack incoming webhook",
  }),
  /** Incoming webhook of the administrators' channel, which internal alerts also reach. */
  adminWebhookUrl: z.optional(httpsUrl),
});

export const httpSecretSchema = z.strictObject({
  targets: z
    .array(
      z.strictObject({
        url: httpsUrl,
        /** Standard Webhooks secret (`whsec_` + base64) the receiver verifies us with. */
        signingSecret: z.string().check(z.minLength(1)),
      }),
    )
    .check(z.minLength(1, "no target: add at least one {url, signingSecret}")),
});

export type SigningKeysSecret = z.infer<typeof signingKeysSecretSchema>;
export type EmailSecret = z.infer<typeof emailSecretSchema>;
export type SmsSecret = z.infer<typeof smsSecretSchema>;
export type SlackSecret = z.infer<typeof slackSecretSchema>;
export type HttpSecret = z.infer<typeof httpSecretSchema>;
