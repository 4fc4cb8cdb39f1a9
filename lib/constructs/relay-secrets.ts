/**
 * The secrets of the relay: created with a placeholder of the exact shape the functions parse
 * (lambdas/contracts/backend-secrets.ts), for the operator to fill in after the first deploy, or
 * imported when the settings name an existing one.
 */
import { RemovalPolicy, SecretValue, Validations } from "aws-cdk-lib";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import type {
  EmailSecret,
  HttpSecret,
  SigningKeysSecret,
  SlackSecret,
  SmsSecret,
} from "../../lambdas/contracts/backend-secrets.js";

/**
 * What each created secret holds until the operator replaces it. Empty lists and `REPLACE_ME` mean
 * "not configured yet": ingest answers 503 on `{"keys": []}`, so Sqreen retries instead of losing
 * alerts. Changing a placeholder here would make CloudFormation overwrite the real value on the
 * next deploy: leave them as they are.
 */
export const SECRET_PLACEHOLDERS = {
  signingKeys: { keys: [] } satisfies SigningKeysSecret,
  email: { to: [], adminTo: [] } satisfies EmailSecret,
  http: { targets: [] } satisfies HttpSecret,
  sms: { phoneNumbers: [], adminPhoneNumbers: [] } satisfies SmsSecret,
  slack: { webhookUrl: "REPLACE_ME" } satisfies SlackSecret,
} as const;

export interface RelaySecretProps {
  /** Shown in the Secrets Manager console: what to put in it. */
  readonly description: string;
  /** JSON the created secret starts with. */
  readonly placeholder: object;
  /** Full ARN of an existing secret to use instead of creating one. */
  readonly importArn?: string | undefined;
  /** Why this secret cannot rotate automatically (acknowledges AwsSolutions-SMG4). */
  readonly noRotationReason: string;
}

/** Creates (retained on stack deletion) or imports one secret. */
export function relaySecret(scope: Construct, id: string, props: RelaySecretProps): ISecret {
  if (props.importArn !== undefined) return Secret.fromSecretCompleteArn(scope, id, props.importArn);
  const secret = new Secret(scope, id, {
    description: props.description,
    // A placeholder, not a secret: the real value is set by the operator outside CloudFormation.
    secretStringValue: SecretValue.unsafePlainText(JSON.stringify(props.placeholder)),
    // The value is typed in by hand after deployment; deleting the stack must not lose it.
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({ id: "AwsSolutions-SMG4", reason: props.noRotationReason });
  return secret;
}
