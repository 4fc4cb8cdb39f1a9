/**
 * The whole relay in one stack: HTTP API → ingest → SQS → route → SNS → one delivery function per
 * enabled backend. Environment-agnostic (no account, region or lookup), so `cdk synth` runs
 * offline without credentials.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Topic } from "aws-cdk-lib/aws-sns";
import { Queue } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { ENV } from "../lambdas/contracts/environment-names.js";
import { BACKENDS, type Backend } from "../lambdas/contracts/messages.js";
import { DIGEST_TABLE } from "../lambdas/digest/dynamodb-window-store.js";
import { type DigestPolicy, HUMAN_BACKENDS, type HumanBackend } from "../lambdas/digest/seams.js";
import { WEBHOOK_PATH } from "../lambdas/ingest/core.js";
import { LEDGER_TABLE_KEYS, LEDGER_TABLE_OUTPUT } from "../lambdas/ledger/dynamodb-ledger.js";
import { BACKEND_TABLE } from "./backends.js";
import { DeliveryBackend, type DigestProps } from "./constructs/delivery-backend.js";
import { createDeadLetterQueue, QUEUE_DEFAULTS } from "./constructs/queues.js";
import { RelayFunction, type RelayLogLevel } from "./constructs/relay-function.js";
import {
  type AgingQueue,
  type MonitoredDelivery,
  type MonitoredQueue,
  RelayMonitoring,
} from "./constructs/relay-monitoring.js";
import { relaySecret, SECRET_PLACEHOLDERS } from "./constructs/relay-secrets.js";
import type { RelaySettings } from "./settings.js";

/** Longest the route function may run on one batch; the ingest queue's visibility timeout derives from it. */
export const ROUTE_TIMEOUT = Duration.seconds(30);
/** A message stays invisible six times the consumer's timeout, so retries never overlap. */
export const INGEST_VISIBILITY_TIMEOUT = Duration.seconds(ROUTE_TIMEOUT.toSeconds() * 6);
/** Receives before a notification that route keeps failing on is set aside in the ingest DLQ. */
export const INGEST_MAX_RECEIVE_COUNT = 5;
/** Notifications route handles per invocation. */
export const ROUTE_BATCH_SIZE = 25;
/** Longest the event source waits to fill a batch: alerts should not wait long. */
export const ROUTE_MAX_BATCHING_WINDOW = Duration.seconds(1);
/** Concurrent route invocations at most: caps the publish rate on the alerts topic during a burst. */
export const ROUTE_MAX_CONCURRENCY = 5;

/** The PascalCase form of a backend name, for construct ids and output names. */
export function pascal(backend: Backend): string {
  return backend.charAt(0).toUpperCase() + backend.slice(1);
}

export interface RelayStackProps extends StackProps {
  /** Parsed relay settings (parseRelaySettings). */
  readonly settings: RelaySettings;
  /** @default "INFO" */
  readonly logLevel?: RelayLogLevel;
  /**
   * What deleting the stack does to the idempotency table. Its items expire within hours, so
   * DESTROY is harmless for a test deployment.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
}

/** The Sqreen relay. */
export class RelayStack extends Stack {
  readonly api: HttpApi;
  readonly webhookUrl: string;
  readonly ingest: RelayFunction;
  readonly route: RelayFunction;
  readonly ingestQueue: Queue;
  readonly ingestDeadLetterQueue: Queue;
  readonly alertsTopic: Topic;
  readonly idempotencyTable: Table;
  /** The digest windows of every human backend with digests; absent when none has them. */
  readonly digestTable: Table | undefined;
  /** The delivery ledger (lambdas/ledger/dynamodb-ledger.ts): every outcome of every alert. */
  readonly ledgerTable: Table;
  readonly signingKeysSecret: ISecret;
  /** One entry per enabled backend. */
  readonly backends: DeliveryBackend[] = [];
  /** The secret of each enabled backend that has one (created or imported). */
  readonly backendSecrets: Partial<Record<Backend, ISecret>> = {};
  readonly monitoring: RelayMonitoring;

  constructor(scope: Construct, id: string, props: RelayStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const logRetention = retentionDays(settings.logRetentionDays);
    const logLevel = props.logLevel;
    const tracing = settings.tracing === "active";

    // --- ingest: HTTP API → function → queue -------------------------------------------------
    this.signingKeysSecret = relaySecret(this, "SigningKeysSecret", {
      description:
        'Sqreen webhook signing keys, one per Sqreen application (two during a rotation): {"keys": ["<secret>", ...]}',
      placeholder: SECRET_PLACEHOLDERS.signingKeys,
      importArn: settings.ingest.signingKeysSecretArn,
      noRotationReason:
        "The signing keys are issued by Sqreen and must be copied from its console; no AWS rotation " +
        "function can change them. Rotation is done by hand, with two keys valid during the overlap.",
    });

    this.ingestDeadLetterQueue = createDeadLetterQueue(this, "IngestDeadLetterQueue");
    this.ingestQueue = new Queue(this, "IngestQueue", {
      ...QUEUE_DEFAULTS,
      visibilityTimeout: INGEST_VISIBILITY_TIMEOUT,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.ingestDeadLetterQueue, maxReceiveCount: INGEST_MAX_RECEIVE_COUNT },
    });

    this.ingest = new RelayFunction(this, "Ingest", {
      name: "ingest",
      description: "Verifies Sqreen webhook signatures and enqueues each notification",
      // Hashing and parsing a body of several megabytes is CPU-bound: more memory is more CPU.
      memorySize: 512,
      timeout: Duration.seconds(15),
      logRetention,
      logLevel,
      tracing,
    })
      .useSecret(ENV.signingKeysSecretId, this.signingKeysSecret)
      .useQueue(ENV.ingestQueueUrl, this.ingestQueue)
      .setValue(ENV.maxBodyBytes, settings.ingest.maxBodyBytes)
      .setValue(ENV.keyCacheSeconds, settings.ingest.keyCacheSeconds);

    this.api = new HttpApi(this, "Api", {
      description: "Receives Sqreen security webhooks",
      // The stage is declared below, with throttling and access logs.
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, "ApiAccessLogs", {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stage = new HttpStage(this, "ApiStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: {
        rateLimit: settings.api.throttlingRateLimit,
        burstLimit: settings.api.throttlingBurstLimit,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // Identifiers and numbers only: never the body or headers, which carry the signature.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            requestTime: "$context.requestTime",
            routeKey: "$context.routeKey",
            status: "$context.status",
            responseLength: "$context.responseLength",
            latency: "$context.responseLatency",
            integrationLatency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
          }),
        ),
      },
    });
    // Every request reaches ingest, which answers the README's contract (404 on another path, 405
    // with `Allow: POST` on another method): a request no route matched would get API Gateway's
    // own `{"message":"Not Found"}` instead. The stage's throttling covers both routes.
    const ingestIntegration = new HttpLambdaIntegration("IngestIntegration", this.ingest.function);
    const routes = [
      ...this.api.addRoutes({
        path: WEBHOOK_PATH,
        methods: [HttpMethod.ANY],
        integration: ingestIntegration,
      }),
      new HttpRoute(this, "CatchAllRoute", {
        httpApi: this.api,
        routeKey: HttpRouteKey.DEFAULT,
        integration: ingestIntegration,
      }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: "AwsSolutions-APIG4",
        reason:
          "Sqreen cannot send credentials or tokens, only the X-Sqreen-Integrity HMAC of the body; the " +
          "ingest function verifies it on the raw bytes before anything else and answers 401 otherwise.",
      });
    }
    this.webhookUrl = `${stage.url}${WEBHOOK_PATH.slice(1)}`;

    // --- route: queue → function → topic -------------------------------------------------------
    const topicKey = new Key(this, "AlertsTopicKey", {
      description: "Encrypts the Sqreen relay alerts topic",
      enableKeyRotation: true,
    });
    // SNS encrypts and decrypts messages of this account's topics with the key on the service's own
    // behalf; limited to this account so no other account's topic can use it.
    topicKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal("sns.amazonaws.com")],
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: ["*"],
        conditions: {
          StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID },
          ArnLike: { "aws:SourceArn": `arn:${Aws.PARTITION}:sns:${Aws.REGION}:${Aws.ACCOUNT_ID}:*` },
        },
      }),
    );
    this.alertsTopic = new Topic(this, "AlertsTopic", {
      displayName: "Sqreen relay alerts",
      masterKey: topicKey,
      enforceSSL: true,
    });

    this.route = new RelayFunction(this, "Route", {
      name: "route",
      description: "Normalizes queued Sqreen notifications into alerts and publishes them",
      memorySize: 512,
      timeout: ROUTE_TIMEOUT,
      logRetention,
      logLevel,
      tracing,
    })
      .useTopic(ENV.alertsTopicArn, this.alertsTopic)
      .setValue(ENV.ownApplicationIds, settings.ownApplicationIds.join(","));
    this.route.function.addEventSource(
      new SqsEventSource(this.ingestQueue, {
        batchSize: ROUTE_BATCH_SIZE,
        maxBatchingWindow: ROUTE_MAX_BATCHING_WINDOW,
        reportBatchItemFailures: true,
        maxConcurrency: ROUTE_MAX_CONCURRENCY,
      }),
    );

    // --- deliveries: one function per enabled backend ------------------------------------------
    // Every table of the relay: on demand, expiring by TTL, encrypted, recoverable, kept on delete.
    const relayTable = (id: string, keys: { partitionKey: string; sortKey?: string; timeToLive: string }) =>
      new Table(this, id, {
        partitionKey: { name: keys.partitionKey, type: AttributeType.STRING },
        ...(keys.sortKey ? { sortKey: { name: keys.sortKey, type: AttributeType.STRING } } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: keys.timeToLive,
        encryption: TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
      });
    this.idempotencyTable = relayTable("IdempotencyTable", { partitionKey: "id", timeToLive: "expiration" });

    // One table for the digest windows of every human backend that groups bursts (keys name the
    // backend, see lambdas/digest/dynamodb-window-store.ts); none when no backend does.
    const digestPolicies = digestPoliciesOf(settings);
    this.digestTable =
      Object.keys(digestPolicies).length === 0
        ? undefined
        : relayTable("DigestTable", {
            partitionKey: DIGEST_TABLE.partitionKey,
            sortKey: DIGEST_TABLE.sortKey,
            timeToLive: DIGEST_TABLE.timeToLiveAttribute,
          });
    // The delivery ledger: kept as long as the dead letters it explains (the TTL its writer sets);
    // each deliver function writes only its own backend's partition.
    this.ledgerTable = relayTable("LedgerTable", LEDGER_TABLE_KEYS);
    for (const [indexName, partitionKey] of Object.entries(LEDGER_TABLE_KEYS.indexPartitionKeys)) {
      this.ledgerTable.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partitionKey, type: AttributeType.STRING },
        sortKey: { name: LEDGER_TABLE_KEYS.indexSortKey, type: AttributeType.STRING },
      });
    }

    // One function, subscription and pair of dead-letter queues per enabled backend; what differs
    // between them is BACKEND_TABLE's.
    for (const backend of BACKENDS) {
      const backendSettings = settings.backends[backend];
      if (!backendSettings.enabled) continue;
      const spec = BACKEND_TABLE[backend];
      const secret =
        spec.secret === undefined
          ? undefined
          : relaySecret(this, `${pascal(backend)}Secret`, {
              ...spec.secret,
              importArn: backendSettings.secretArn,
            });
      if (secret !== undefined) this.backendSecrets[backend] = secret;
      const delivery = new DeliveryBackend(this, pascal(backend), {
        backend,
        filter: backendSettings.filter,
        topic: this.alertsTopic,
        idempotencyTable: this.idempotencyTable,
        ledgerTable: this.ledgerTable,
        secret,
        description: spec.description,
        timeout: spec.timeout?.(settings),
        logRetention,
        logLevel,
        tracing,
        digest: digestOf(backend, digestPolicies, this.digestTable),
      });
      spec.configure?.(delivery.handler, settings);
      this.backends.push(delivery);
    }

    // --- monitoring and outputs -----------------------------------------------------------------
    const deadLetterQueues: MonitoredQueue[] = [
      { id: "Ingest", label: "ingest dead-letter queue", queue: this.ingestDeadLetterQueue },
    ];
    const deliveries: MonitoredDelivery[] = [];
    const digestQueues: AgingQueue[] = [];
    for (const delivery of this.backends) {
      const name = pascal(delivery.backend);
      deliveries.push({
        id: `Deliver${name}`,
        label: `deliver-${delivery.backend}`,
        fn: delivery.handler.function,
        backend: delivery.backend,
        logGroup: delivery.handler.logGroup,
      });
      deadLetterQueues.push(
        {
          id: `${name}Delivery`,
          label: `${delivery.backend} delivery dead-letter queue`,
          queue: delivery.deliveryDeadLetterQueue,
        },
        {
          id: `${name}Subscription`,
          label: `${delivery.backend} subscription dead-letter queue`,
          queue: delivery.subscriptionDeadLetterQueue,
        },
      );
      if (delivery.digestQueue && delivery.digestDeadLetterQueue && delivery.digestQueueMaxAge) {
        deadLetterQueues.push({
          id: `${name}Digest`,
          label: `${delivery.backend} digest dead-letter queue`,
          queue: delivery.digestDeadLetterQueue,
        });
        digestQueues.push({
          id: `${name}Digest`,
          label: `${delivery.backend} digest queue`,
          queue: delivery.digestQueue,
          maxAge: delivery.digestQueueMaxAge,
        });
      }
    }
    this.monitoring = new RelayMonitoring(this, "Monitoring", {
      api: this.api,
      ingestQueue: this.ingestQueue,
      ingestVisibilityTimeout: INGEST_VISIBILITY_TIMEOUT,
      ingest: { id: "Ingest", label: "ingest", fn: this.ingest.function },
      route: { id: "Route", label: "route", fn: this.route.function, logGroup: this.route.logGroup },
      deliveries,
      deadLetterQueues,
      digestQueues,
      alarmTopicArn: settings.alarmTopicArn,
    });

    new CfnOutput(this, "WebhookUrl", {
      description: "Paste this URL into Sqreen's webhook integration",
      value: this.webhookUrl,
    });
    new CfnOutput(this, "SigningKeysSecretArn", {
      description: 'Fill in with the Sqreen webhook secret(s): {"keys": ["..."]}',
      value: this.signingKeysSecret.secretArn,
    });
    for (const backend of BACKENDS) {
      const secret = this.backendSecrets[backend];
      if (secret === undefined) continue;
      new CfnOutput(this, `${pascal(backend)}SecretArn`, {
        description: `Fill in with the ${backend} backend's recipients or endpoints`,
        value: secret.secretArn,
      });
    }
    new CfnOutput(this, "IngestDeadLetterQueueName", {
      description: "Notifications route could not handle after several attempts",
      value: this.ingestDeadLetterQueue.queueName,
    });
    for (const delivery of this.backends) {
      const name = pascal(delivery.backend);
      if (delivery.digestDeadLetterQueue) {
        new CfnOutput(this, `${name}DigestDeadLetterQueueName`, {
          description: `Digest closes and waiting deliveries the ${delivery.backend} function kept failing on`,
          value: delivery.digestDeadLetterQueue.queueName,
        });
      }
      new CfnOutput(this, `${name}DeliveryDeadLetterQueueName`, {
        description: `Alerts the ${delivery.backend} backend failed to deliver after its retries`,
        value: delivery.deliveryDeadLetterQueue.queueName,
      });
      new CfnOutput(this, `${name}SubscriptionDeadLetterQueueName`, {
        description: `Alerts SNS could not hand to the ${delivery.backend} function`,
        value: delivery.subscriptionDeadLetterQueue.queueName,
      });
      new CfnOutput(this, `${name}FunctionName`, {
        description: `The ${delivery.backend} delivery function (npm run redrive replays its dead letters through it)`,
        value: delivery.handler.function.functionName,
      });
    }
    new CfnOutput(this, LEDGER_TABLE_OUTPUT, {
      description: "The delivery ledger: npm run relay -- --stack <name> trace|recent|drill reads it",
      value: this.ledgerTable.tableName,
    });
    new CfnOutput(this, "AlarmTopicArn", {
      description: "Every alarm of the relay notifies this topic: subscribe on-call to it",
      value: this.monitoring.alarmTopic.topicArn,
    });
    new CfnOutput(this, "AlarmTopicSubscribeCommand", {
      description: "Run with on-call's address, then confirm the e-mail AWS sends",
      value: this.monitoring.subscribeCommand,
    });
    new CfnOutput(this, "DashboardUrl", {
      description: "CloudWatch dashboard of the relay",
      value: this.monitoring.dashboardUrl,
    });
  }
}

/** The digest policy of each enabled human backend whose digest setting is not `false`. */
export function digestPoliciesOf(settings: RelaySettings): Partial<Record<HumanBackend, DigestPolicy>> {
  const policies: Partial<Record<HumanBackend, DigestPolicy>> = {};
  for (const backend of HUMAN_BACKENDS) {
    const { enabled, digest } = settings.backends[backend];
    if (enabled && digest !== false) policies[backend] = digest;
  }
  return policies;
}

function digestOf(
  backend: Backend,
  policies: Partial<Record<HumanBackend, DigestPolicy>>,
  table: Table | undefined,
): DigestProps | undefined {
  const policy = (policies as Partial<Record<Backend, DigestPolicy>>)[backend];
  return policy !== undefined && table !== undefined ? { table, policy } : undefined;
}

/**
 * The CloudWatch retention closest to (and not shorter than) the requested number of days:
 * CloudWatch accepts only a fixed list of values.
 */
export function retentionDays(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays)
    .filter((value): value is RetentionDays => typeof value === "number" && value > 0)
    .sort((a, b) => a - b);
  return allowed.find((value) => value >= days) ?? RetentionDays.TEN_YEARS;
}
