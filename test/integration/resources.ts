/**
 * The relay's AWS resources, created in moto from the same settings and the same shared
 * definitions the CDK app uses: the signing-keys secret, the ingest queue and its dead-letter
 * queue, the alerts topic, and per enabled backend a subscription whose filter policy is
 * `filterPolicyFor(filter)`, the backend's secret and (email) a verified SES identity, and the
 * DynamoDB idempotency table every deliver function records its deliveries in; for each human
 * backend with digests, its own queue and, once, the digest table, as the stack creates them.
 *
 * Each backend's subscription delivers to an SQS queue instead of a Lambda function, with raw
 * delivery off: the queue then receives the SNS envelope, the very JSON an SNS→Lambda event
 * carries in `Records[].Sns`, so tests can build the deliver functions' events from it.
 *
 * Call it after `useMotoEnvironment`: the SDK clients are created here, from the environment.
 */
import { randomBytes } from "node:crypto";
import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESClient, VerifyEmailIdentityCommand } from "@aws-sdk/client-ses";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import {
  type EmailSecret,
  emailSecretSchema,
  type HttpSecret,
  httpSecretSchema,
  type SigningKeysSecret,
  type SlackSecret,
  type SmsSecret,
  slackSecretSchema,
  smsSecretSchema,
} from "../../lambdas/contracts/backend-secrets.js";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import { DIGEST_TABLE } from "../../lambdas/digest/dynamodb-window-store.js";
import type { DigestPolicy } from "../../lambdas/digest/seams.js";
import { LEDGER_TABLE_KEYS } from "../../lambdas/ledger/dynamodb-ledger.js";
import { digestPoliciesOf } from "../../lib/relay-stack.js";
import { type FilterPolicy, filterPolicyFor } from "../../lib/routing.js";
import type { RelaySettings } from "../../lib/settings.js";

/** Receives an ingest message this many times before it moves to the dead-letter queue. */
export const INGEST_MAX_RECEIVE_COUNT = 3;
/** Six times a 30-second route function timeout (AWS's advice for SQS event sources). */
export const INGEST_VISIBILITY_TIMEOUT_SECONDS = 180;

export interface QueueRef {
  name: string;
  url: string;
  arn: string;
}

export interface SecretRef {
  name: string;
  arn: string;
}

export interface BackendResources {
  /** The queue standing in for the backend's function: it receives the SNS envelopes. */
  queue: QueueRef;
  /** The backend's own queue (digest closes, deliveries that wait), when it has digests. */
  digestQueue?: QueueRef;
  subscriptionArn: string;
  /** The policy put on the subscription, as an object (the subscription holds its JSON). */
  filterPolicy: FilterPolicy;
  /** The backend's secret; the log backend has none. */
  secret?: SecretRef;
}

export interface RelayResources {
  /** Prefix of every name, unique per call so several sets can live in one moto. */
  prefix: string;
  signingKeysSecret: SecretRef;
  ingestQueue: QueueRef;
  ingestDeadLetterQueue: QueueRef;
  alertsTopicArn: string;
  /** The Powertools idempotency table: partition key `id`, TTL attribute `expiration`, as in the stack. */
  idempotencyTable: { name: string; arn: string };
  /** The digest windows' table, when a human backend has digests (as in the stack). */
  digestTable?: { name: string; arn: string };
  /** The delivery ledger table, with its indexes (LEDGER_TABLE_KEYS), as in the stack. */
  ledgerTable: { name: string; arn: string };
  /** One entry per enabled backend. */
  backends: Partial<Record<Backend, BackendResources>>;
  /** The sender address verified in SES for the email backend, when email is enabled. */
  emailIdentity?: string;
  /**
   * The environment each function would get from the stack (names from environment-names.ts),
   * keyed `ingest`, `route`, `deliver-<backend>`; values are identifiers only, never secrets.
   */
  functionEnvironments: Record<string, Record<string, string>>;
}

/** Values of the secrets the stack would leave for the user to fill in. */
export interface RelaySecretValues {
  signingKeys: SigningKeysSecret;
  email?: EmailSecret;
  sms?: SmsSecret;
  slack?: SlackSecret;
  http?: HttpSecret;
}

/** Placeholder recipients (reserved example domains and a fictitious French number). */
export const DEFAULT_BACKEND_SECRETS = {
  email: emailSecretSchema.parse({ to: ["alerts@example.com"], adminTo: ["admin@example.com"] }),
  sms: smsSecretSchema.parse({ phoneNumbers: ["+33612345678"], adminPhoneNumbers: ["+33698765432"] }),
  slack: slackSecretSchema.parse({ webhookUrl: "https://hooks.slack.example/services/T0/B0/alerts" }),
  http: httpSecretSchema.parse({
    targets: [
      { url: "https://receiver.example/sqreen", signingSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
    ],
  }),
} as const;

export interface CreateRelayResourcesOptions {
  secrets: RelaySecretValues;
  /** Name prefix; a random one by default. */
  prefix?: string;
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<QueueRef> {
  const { QueueUrl: url } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  if (!url) throw new Error(`CreateQueue ${name} returned no URL`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`Queue ${name} has no ARN`);
  return { name, url, arn };
}

async function createSecret(secrets: SecretsManagerClient, name: string, value: unknown): Promise<SecretRef> {
  const { ARN: arn } = await secrets.send(
    new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }),
  );
  if (!arn) throw new Error(`CreateSecret ${name} returned no ARN`);
  return { name, arn };
}

/** The idempotency table as lib/relay-stack.ts defines it (on-demand, TTL on `expiration`). */
async function createIdempotencyTable(
  dynamoDb: DynamoDBClient,
  name: string,
): Promise<{ name: string; arn: string }> {
  const { TableDescription } = await dynamoDb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await waitUntilTableExists({ client: dynamoDb, maxWaitTime: 30 }, { TableName: name });
  await dynamoDb.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
    }),
  );
  const arn = TableDescription?.TableArn;
  if (!arn) throw new Error(`CreateTable ${name} returned no ARN`);
  return { name, arn };
}

/**
 * The digest table as lib/relay-stack.ts defines it (on-demand, partition and sort keys and TTL as
 * DIGEST_TABLE names them).
 */
export async function createDigestTable(
  dynamoDb: DynamoDBClient,
  name: string,
): Promise<{ name: string; arn: string }> {
  const { partitionKey, sortKey, timeToLiveAttribute } = DIGEST_TABLE;
  const { TableDescription } = await dynamoDb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: partitionKey, AttributeType: "S" },
        { AttributeName: sortKey, AttributeType: "S" },
      ],
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: sortKey, KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await waitUntilTableExists({ client: dynamoDb, maxWaitTime: 30 }, { TableName: name });
  await dynamoDb.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: timeToLiveAttribute, Enabled: true },
    }),
  );
  const arn = TableDescription?.TableArn;
  if (!arn) throw new Error(`CreateTable ${name} returned no ARN`);
  return { name, arn };
}

/** The ledger table as lib/relay-stack.ts defines it, from the same LEDGER_TABLE_KEYS. */
async function createLedgerTable(
  dynamoDb: DynamoDBClient,
  name: string,
): Promise<{ name: string; arn: string }> {
  const keys = LEDGER_TABLE_KEYS;
  const indexKeys = Object.values(keys.indexPartitionKeys);
  const { TableDescription } = await dynamoDb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [keys.partitionKey, keys.sortKey, keys.indexSortKey, ...indexKeys].map(
        (attribute) => ({
          AttributeName: attribute,
          AttributeType: "S",
        }),
      ),
      KeySchema: [
        { AttributeName: keys.partitionKey, KeyType: "HASH" },
        { AttributeName: keys.sortKey, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: Object.entries(keys.indexPartitionKeys).map(([IndexName, attribute]) => ({
        IndexName,
        KeySchema: [
          { AttributeName: attribute, KeyType: "HASH" },
          { AttributeName: keys.indexSortKey, KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      })),
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  await waitUntilTableExists({ client: dynamoDb, maxWaitTime: 30 }, { TableName: name });
  await dynamoDb.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: keys.timeToLive, Enabled: true },
    }),
  );
  const arn = TableDescription?.TableArn;
  if (!arn) throw new Error(`CreateTable ${name} returned no ARN`);
  return { name, arn };
}

/** The policy that lets the topic (and only it) send to a subscribed queue, as AWS requires. */
function queuePolicyFor(queueArn: string, topicArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
      },
    ],
  });
}

function backendSecretValue(backend: Backend, secrets: RelaySecretValues): unknown {
  switch (backend) {
    case "log":
      return undefined;
    case "email":
      return secrets.email ?? DEFAULT_BACKEND_SECRETS.email;
    case "sms":
      return secrets.sms ?? DEFAULT_BACKEND_SECRETS.sms;
    case "slack":
      return secrets.slack ?? DEFAULT_BACKEND_SECRETS.slack;
    case "http":
      return secrets.http ?? DEFAULT_BACKEND_SECRETS.http;
  }
}

/**
 * Creates the relay's resources for `settings` in the AWS the environment points at (moto), and
 * returns their names, URLs and ARNs.
 */
export async function createRelayResources(
  settings: RelaySettings,
  options: CreateRelayResourcesOptions,
): Promise<RelayResources> {
  const prefix = options.prefix ?? `relay-${randomBytes(3).toString("hex")}`;
  const sqs = new SQSClient({});
  const sns = new SNSClient({});
  const secretsManager = new SecretsManagerClient({});
  const ses = new SESClient({});
  const dynamoDb = new DynamoDBClient({});
  try {
    const signingKeysSecret = await createSecret(
      secretsManager,
      `${prefix}/signing-keys`,
      options.secrets.signingKeys,
    );
    const ingestDeadLetterQueue = await createQueue(sqs, `${prefix}-ingest-dlq`, {
      MessageRetentionPeriod: String(14 * 24 * 3600),
    });
    const ingestQueue = await createQueue(sqs, `${prefix}-ingest`, {
      VisibilityTimeout: String(INGEST_VISIBILITY_TIMEOUT_SECONDS),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: ingestDeadLetterQueue.arn,
        maxReceiveCount: INGEST_MAX_RECEIVE_COUNT,
      }),
    });
    const { TopicArn: alertsTopicArn } = await sns.send(new CreateTopicCommand({ Name: `${prefix}-alerts` }));
    if (!alertsTopicArn) throw new Error("CreateTopic returned no ARN");
    const idempotencyTable = await createIdempotencyTable(dynamoDb, `${prefix}-idempotency`);
    const digestPolicies = digestPoliciesOf(settings);
    const digestTable =
      Object.keys(digestPolicies).length > 0
        ? await createDigestTable(dynamoDb, `${prefix}-digests`)
        : undefined;
    const ledgerTable = await createLedgerTable(dynamoDb, `${prefix}-ledger`);

    const backends: Partial<Record<Backend, BackendResources>> = {};
    const functionEnvironments: Record<string, Record<string, string>> = {
      ingest: {
        [ENV.signingKeysSecretId]: signingKeysSecret.arn,
        [ENV.keyCacheSeconds]: String(settings.ingest.keyCacheSeconds),
        [ENV.ingestQueueUrl]: ingestQueue.url,
        [ENV.maxBodyBytes]: String(settings.ingest.maxBodyBytes),
      },
      route: {
        [ENV.alertsTopicArn]: alertsTopicArn,
        [ENV.ownApplicationIds]: settings.ownApplicationIds.join(","),
      },
    };
    let emailIdentity: string | undefined;

    for (const backend of BACKENDS) {
      const backendSettings = settings.backends[backend];
      if (!backendSettings.enabled) continue;
      const filterPolicy = filterPolicyFor(backendSettings.filter);
      const queueName = `${prefix}-deliver-${backend}`;
      const queue = await createQueue(sqs, queueName, {});
      await sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queue.url,
          Attributes: { Policy: queuePolicyFor(queue.arn, alertsTopicArn) },
        }),
      );
      const { SubscriptionArn: subscriptionArn } = await sns.send(
        new SubscribeCommand({
          TopicArn: alertsTopicArn,
          Protocol: "sqs",
          Endpoint: queue.arn,
          ReturnSubscriptionArn: true,
          Attributes: {
            FilterPolicy: JSON.stringify(filterPolicy),
            FilterPolicyScope: "MessageAttributes",
            RawMessageDelivery: "false",
          },
        }),
      );
      if (!subscriptionArn) throw new Error(`Subscribe ${backend} returned no ARN`);
      const secretValue = backendSecretValue(backend, options.secrets);
      const secret =
        secretValue === undefined
          ? undefined
          : await createSecret(secretsManager, `${prefix}/${backend}`, secretValue);
      backends[backend] = { queue: queue, subscriptionArn, filterPolicy, ...(secret ? { secret } : {}) };

      const environment: Record<string, string> = {
        [ENV.idempotencyTableName]: idempotencyTable.name,
        [ENV.ledgerTableName]: ledgerTable.name,
        [ENV.metricsNamespace]: prefix,
      };
      if (secret) environment[ENV.backendSecretId] = secret.arn;
      if (backend === "email" && settings.backends.email.from) {
        emailIdentity = settings.backends.email.from;
        await ses.send(new VerifyEmailIdentityCommand({ EmailAddress: settings.backends.email.from }));
        environment[ENV.emailFrom] = settings.backends.email.from;
      }
      if (backend === "http")
        environment[ENV.httpTimeoutSeconds] = String(settings.backends.http.timeoutSeconds);
      const digestPolicy = (digestPolicies as Partial<Record<Backend, DigestPolicy>>)[backend];
      if (digestPolicy && digestTable) {
        const digestQueue = await createQueue(sqs, `${prefix}-deliver-${backend}-digests`, {});
        (backends[backend] as BackendResources).digestQueue = digestQueue;
        Object.assign(environment, {
          [ENV.digestTableName]: digestTable.name,
          [ENV.digestQueueUrl]: digestQueue.url,
          [ENV.digestImmediate]: String(digestPolicy.immediate),
          [ENV.digestWindowSeconds]: String(digestPolicy.windowSeconds),
        });
      }
      functionEnvironments[`deliver-${backend}`] = environment;
    }

    return {
      prefix,
      signingKeysSecret,
      ingestQueue,
      ingestDeadLetterQueue,
      alertsTopicArn,
      idempotencyTable,
      ...(digestTable ? { digestTable } : {}),
      ledgerTable,
      backends,
      ...(emailIdentity ? { emailIdentity } : {}),
      functionEnvironments,
    };
  } finally {
    for (const client of [sqs, sns, secretsManager, ses, dynamoDb]) client.destroy();
  }
}
