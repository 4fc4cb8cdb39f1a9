/**
 * What differs between the five delivery backends, in one table the stack loops over: what the
 * function does, the secret it reads (what it holds, and why it cannot rotate), and what the
 * function is given beyond the common delivery setup (plain values and IAM grants). Everything
 * they share (function defaults, subscription, filter policy, dead-letter queues, idempotency
 * table) is DeliveryBackend's.
 */
import { Aws, Duration, Stack, Validations } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { ENV } from "../lambdas/contracts/environment-names.js";
import type { Backend } from "../lambdas/contracts/messages.js";
import type { RelayFunction } from "./constructs/relay-function.js";
import { type RelaySecretProps, SECRET_PLACEHOLDERS } from "./constructs/relay-secrets.js";
import type { RelaySettings } from "./settings.js";

/** One row of the table. */
export interface BackendSpec {
  /** Shown in the Lambda console: what the function does. */
  readonly description: string;
  /** The backend's secret (recipients, URLs, signing secrets), created or imported; log has none. */
  readonly secret?: Omit<RelaySecretProps, "importArn">;
  /** Longest one invocation may run, when the DeliveryBackend default does not fit. */
  readonly timeout?: (settings: RelaySettings) => Duration;
  /** Values and grants the function needs besides its secret and the idempotency table. */
  readonly configure?: (handler: RelayFunction, settings: RelaySettings) => void;
}

export const BACKEND_TABLE: Readonly<Record<Backend, BackendSpec>> = {
  log: {
    description: "Writes each Sqreen alert as one structured log line",
  },
  email: {
    description: "Sends each Sqreen alert by e-mail through SES",
    secret: {
      description: 'Recipients of Sqreen alerts by e-mail: {"to": ["..."], "adminTo": ["..."]}',
      placeholder: SECRET_PLACEHOLDERS.email,
      noRotationReason: "Holds recipient addresses, not a credential: there is nothing to rotate.",
    },
    configure: (handler, settings) => {
      const { from } = settings.backends.email;
      // The schema already requires `from` when the backend is enabled; this keeps TypeScript sure.
      if (from === undefined)
        throw new Error("backends.email.from is required when the email backend is enabled");
      handler.setValue(ENV.emailFrom, from).allow(sesSendStatement(Stack.of(handler), from));
      const policy = handler.role.node.findChild("DefaultPolicy");
      Validations.of(policy.node.defaultChild ?? policy).acknowledge({
        id: "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*]",
        reason:
          "SES checks SendEmail against the sender's address or domain identity and, in the SES sandbox, " +
          "each recipient's identity, which the template cannot name (recipients live in the secret); the " +
          "ses:FromAddress condition limits the statement to sending as the configured sender.",
      });
    },
  },
  http: {
    description: "Forwards each Sqreen alert to HTTPS endpoints, signed with Standard Webhooks headers",
    secret: {
      description:
        'HTTPS endpoints Sqreen alerts are forwarded to: {"targets": [{"url": "https://...", "signingSecret": "whsec_..."}]}',
      placeholder: SECRET_PLACEHOLDERS.http,
      noRotationReason:
        "The Standard Webhooks signing secrets are shared with each receiver, which must be updated at " +
        "the same moment: rotation is a coordinated manual change, not a Lambda rotation.",
    },
    // Up to three attempts per target, each bounded by the per-attempt timeout, plus back-off.
    timeout: (settings) => Duration.seconds(Math.max(30, settings.backends.http.timeoutSeconds * 4 + 5)),
    configure: (handler, settings) => {
      handler.setValue(ENV.httpTimeoutSeconds, settings.backends.http.timeoutSeconds);
    },
  },
  sms: {
    description: "Texts each Sqreen alert through SNS SMS",
    secret: {
      description:
        'Phone numbers (E.164) Sqreen alerts are texted to: {"phoneNumbers": ["+..."], "adminPhoneNumbers": ["+..."]}',
      placeholder: SECRET_PLACEHOLDERS.sms,
      noRotationReason: "Holds phone numbers, not a credential: there is nothing to rotate.",
    },
    configure: (handler) => {
      // Publishing an SMS names a phone number, which IAM cannot list as a resource: allow Publish
      // on everything that is not a topic, so the function can text but never publish to a topic.
      handler.allow(
        new PolicyStatement({ actions: ["sns:Publish"], notResources: [`arn:${Aws.PARTITION}:sns:*:*:*`] }),
      );
    },
  },
  slack: {
    description: "Posts each Sqreen alert to Slack through an incoming webhook",
    secret: {
      description:
        'Slack incoming webhooks for Sqreen alerts: {"webhookUrl": "https://hooks.slack.com/...", "adminWebhookUrl": "..."}',
      placeholder: SECRET_PLACEHOLDERS.slack,
      noRotationReason:
        "The incoming-webhook URLs are issued by Slack and can only be regenerated in Slack's app " +
        "settings; no AWS rotation function can do it.",
    },
  },
};

/**
 * What the e-mail function needs to send as `from`, and nothing more.
 *
 * SES authorizes `ses:SendEmail` against every identity the message involves: the identity that
 * verified the sender (the address itself after `verify-email-identity`, or its domain), and,
 * while the account is in the SES sandbox, each recipient's identity too. Which of those exist is
 * decided by how the operator verified them and by the sandbox, not by the template; recipients
 * live in the e-mail secret and must never appear in it. So the statement covers every identity
 * of this account in this region, and the `ses:FromAddress` condition is what keeps it narrow:
 * the function can send only as the configured sender, never as another address of a verified
 * domain, and nothing in another account or region. Only `SendEmail`: the function calls nothing
 * else (lambdas/deliver-email/ses-email.ts).
 */
function sesSendStatement(stack: Stack, from: string): PolicyStatement {
  return new PolicyStatement({
    actions: ["ses:SendEmail"],
    resources: [stack.formatArn({ service: "ses", resource: "identity", resourceName: "*" })],
    conditions: { StringEquals: { "ses:FromAddress": from } },
  });
}
