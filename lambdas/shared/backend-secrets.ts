/**
 * The JSON each secret holds. In AWS these are Secrets Manager secret strings (the stack creates
 * them with placeholder values for the user to fill in); locally the local stack builds the same
 * shapes from environment variables. Recipients and URLs are personal or secret data, which is
 * why they live here and not in settings, templates or function environments.
 */
import * as z from "zod";

const emailList = z.array(z.email());
/** E.164: `+` then 8 to 15 digits. */
const phoneList = z.array(
  z.string().regex(/^\+[1-9]\d{7,14}$/, "must be an E.164 phone number like +33612345678"),
);
const httpsUrl = z.url({ protocol: /^https?$/ });

/**
 * Signing keys: `{"keys": ["<secret of app A>", "<new secret of app B>", ...]}`. A request is
 * authentic when it matches any key (one per Sqreen application, two during a rotation). A plain
 * string secret is read as one key, or several separated by commas or newlines.
 */
export const signingKeysSecretSchema = z.object({ keys: z.array(z.string()) }).strict();

export const emailSecretSchema = z
  .object({
    /** Who receives every routed alert. */
    to: emailList.default([]),
    /** Administrators, added for internal security alerts. */
    adminTo: emailList.default([]),
  })
  .strict();

export const smsSecretSchema = z
  .object({
    phoneNumbers: phoneList.default([]),
    /** Administrators' phones, added for internal security alerts. */
    adminPhoneNumbers: phoneList.default([]),
  })
  .strict();

export const slackSecretSchema = z
  .object({
    /** Incoming webhook URL of the alerts channel. */
    webhookUrl: httpsUrl,
    /** Incoming webhook of the administrators' channel, which internal alerts also reach. */
    adminWebhookUrl: httpsUrl.optional(),
  })
  .strict();

export const httpSecretSchema = z
  .object({
    targets: z
      .array(
        z
          .object({
            url: httpsUrl,
            /** Standard Webhooks secret (`whsec_` + base64) the receiver verifies us with. */
            signingSecret: z.string().min(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export type SigningKeysSecret = z.infer<typeof signingKeysSecretSchema>;
export type EmailSecret = z.infer<typeof emailSecretSchema>;
export type SmsSecret = z.infer<typeof smsSecretSchema>;
export type SlackSecret = z.infer<typeof slackSecretSchema>;
export type HttpSecret = z.infer<typeof httpSecretSchema>;
