/**
 * The whole relay in one process, through the same handler factories that run on Lambda:
 * HTTP → ingest → embedded queue → route → embedded topic (the stack's filter policies) → the
 * enabled backends. Used by `npm start`, the end-to-end tests and the benchmark.
 */
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SNSEvent } from "aws-lambda";
import type { Alert } from "../../lambdas/contracts/alert.js";
import { publishableAlertMessage } from "../../lambdas/contracts/alert-message.js";
import {
  type EmailSecret,
  emailSecretSchema,
  type HttpSecret,
  httpSecretSchema,
  type SlackSecret,
  type SmsSecret,
  slackSecretSchema,
  smsSecretSchema,
} from "../../lambdas/contracts/backend-secrets.js";
import type { Backend } from "../../lambdas/contracts/messages.js";
import { createDeliverEmailHandler } from "../../lambdas/deliver-email/core.js";
import type { EmailSender } from "../../lambdas/deliver-email/ses-email.js";
import { createDeliverHttpHandler } from "../../lambdas/deliver-http/core.js";
import { createDeliverLogHandler } from "../../lambdas/deliver-log/core.js";
import { createDeliverSlackHandler } from "../../lambdas/deliver-slack/core.js";
import { createDeliverSmsHandler } from "../../lambdas/deliver-sms/core.js";
import type { SmsSender } from "../../lambdas/deliver-sms/sns-sms.js";
import { inMemoryDeliveryGuard } from "../../lambdas/delivery/idempotency.js";
import type { DeliveryGuard } from "../../lambdas/delivery/outcome.js";
import { staticSecretSource } from "../../lambdas/delivery/secret-source.js";
import { createIngestHandler } from "../../lambdas/ingest/chain.js";
import { type SigningKeyStore, StaticSigningKeyStore } from "../../lambdas/ingest/signing-keys.js";
import {
  type NotificationQueue,
  type QueuedNotification,
  queueAttributeValues,
} from "../../lambdas/ingest/sqs-queue.js";
import { createRouteHandler } from "../../lambdas/route/chain.js";
import type { AlertPublisher } from "../../lambdas/route/sns-topic.js";
import { createLogger } from "../../lambdas/runtime/logger.js";
import { matchesFilterPolicy } from "../../lib/filter-policy.js";
import { filterPolicyFor } from "../../lib/routing.js";
import type { RelaySettings } from "../../lib/settings.js";
import { type DeadLetterSink, FileDeadLetterSink } from "./dead-letters.js";
import { EmbeddedQueue, type QueueStats } from "./embedded-queue.js";
import { EmbeddedTopic, type SubscriptionStats, type TopicSubscription } from "./embedded-topic.js";
import { LOCAL_SECRET_VARIABLES } from "./environment.js";
import { createHttpGateway } from "./http-gateway.js";
import type { LambdaHandler } from "./lambda-context.js";
import { OutboxEmailSender, OutboxSmsSender } from "./outbox.js";

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

export interface LocalRelayOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  signingKeys: readonly string[];
  settings: RelaySettings;
  secrets: LocalBackendSecrets;
  /** Outbox (`outbox/`) and dead letters (`dead-letters/`) go below it; nothing is written when absent. */
  dataDir?: string;
  /** Replace a backend's delivery handler, e.g. to inject faults in tests. */
  wrapBackend?: (backend: Backend, handler: SnsHandler) => SnsHandler;
  /** Replace the queue the ingest function writes to, e.g. to make it fail in tests. */
  wrapQueue?: (queue: NotificationQueue) => NotificationQueue;
  /** Replace the topic the route function publishes to, e.g. to make it fail in tests. */
  wrapPublisher?: (publisher: AlertPublisher) => AlertPublisher;
  /** Where ingest reads signing keys; a static store of `signingKeys` by default. */
  keyStore?: SigningKeyStore;
  /**
   * Idempotency guard for the delivery functions: by default a fresh in-process store (Powertools
   * idempotency in memory, the same rules as the DynamoDB table in AWS), so a resent request sends
   * nothing twice; `false` delivers every arrival.
   */
  guard?: DeliveryGuard | false;
  /** Retry delays of the topic's asynchronous invocations (ms); short by default, minutes on AWS. */
  retryDelayMs?: (retry: number) => number;
  /** Delivery function timeout (ms). */
  deliveryTimeoutMs?: number;
  emailSender?: EmailSender;
  smsSender?: SmsSender;
}

export type SnsHandler = LambdaHandler<SNSEvent, unknown>;

export interface LocalRelayStats {
  queue: QueueStats;
  backends: Readonly<Record<string, SubscriptionStats>>;
  deadLetters: Readonly<Record<string, number>>;
}

export interface LocalRelay {
  /** `http://host:port` */
  url: string;
  /** `http://host:port/v1/webhook` */
  webhookUrl: string;
  /** Backends subscribed to the topic. */
  backends: readonly Backend[];
  deadLetters: DeadLetterSink;
  stats(): LocalRelayStats;
  /** Resolves once everything accepted so far is delivered or dead-lettered. */
  drained(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Which backends run: log as the settings say; the others when given their secrets (locally the
 * environment variables are the switch: a backend without settings is off).
 */
export function enabledBackends(settings: RelaySettings, secrets: LocalBackendSecrets): Backend[] {
  const enabled: Backend[] = [];
  if (settings.backends.log.enabled) enabled.push("log");
  if (secrets.email) enabled.push("email");
  if (secrets.http) enabled.push("http");
  if (secrets.sms) enabled.push("sms");
  if (secrets.slack) enabled.push("slack");
  return enabled;
}

/** What one backend's local handler is built from. */
export interface LocalBackendOptions {
  settings: RelaySettings;
  secrets: LocalBackendSecrets;
  /** Where the e-mail and SMS outboxes are written, when no sender is given. */
  outboxDir?: string | undefined;
  guard?: DeliveryGuard | undefined;
  emailSender?: EmailSender | undefined;
  smsSender?: SmsSender | undefined;
}

/**
 * The delivery handler of `backend` as the local stack runs it (the AWS factory with local
 * secrets and outboxes); also what `npm run redrive -- --local` replays dead letters through.
 */
export function createLocalBackendHandler(backend: Backend, options: LocalBackendOptions): SnsHandler {
  const { settings, secrets, outboxDir, guard } = options;
  const handlers: Record<Backend, () => SnsHandler> = {
    log: () => createDeliverLogHandler({ logger: createLogger("deliver-log"), guard }),
    email: () =>
      createDeliverEmailHandler({
        secrets: staticSecretSource(
          emailSecretSchema,
          { to: secrets.email?.to ?? [], adminTo: secrets.email?.adminTo ?? [] },
          LOCAL_SECRET_VARIABLES.email,
        ),
        sender: options.emailSender ?? new OutboxEmailSender(requireDir(outboxDir, "email")),
        from: secrets.email?.from ?? "",
        logger: createLogger("deliver-email"),
        guard,
      }),
    http: () =>
      createDeliverHttpHandler({
        secrets: staticSecretSource(
          httpSecretSchema,
          secrets.http ?? { targets: [] },
          LOCAL_SECRET_VARIABLES.http,
        ),
        logger: createLogger("deliver-http"),
        timeoutMs: settings.backends.http.timeoutSeconds * 1000,
        guard,
      }),
    sms: () =>
      createDeliverSmsHandler({
        secrets: staticSecretSource(smsSecretSchema, secrets.sms ?? {}, LOCAL_SECRET_VARIABLES.sms),
        sender: options.smsSender ?? new OutboxSmsSender(requireDir(outboxDir, "sms")),
        logger: createLogger("deliver-sms"),
        guard,
      }),
    slack: () =>
      createDeliverSlackHandler({
        secrets: staticSecretSource(
          slackSecretSchema,
          secrets.slack ?? { webhookUrl: "" },
          LOCAL_SECRET_VARIABLES.slack,
        ),
        logger: createLogger("deliver-slack"),
        guard,
      }),
  };
  return handlers[backend]();
}

/** Starts the local relay; resolves once it listens. */
export async function startLocalRelay(options: LocalRelayOptions): Promise<LocalRelay> {
  const { settings, secrets } = options;
  const deadLetters = new FileDeadLetterSink(
    options.dataDir ? join(options.dataDir, "dead-letters") : undefined,
  );
  const outboxDir = options.dataDir ? join(options.dataDir, "outbox") : undefined;
  const backends = enabledBackends(settings, secrets);
  const guard = options.guard === false ? undefined : (options.guard ?? inMemoryDeliveryGuard());

  const subscriptions: TopicSubscription[] = backends.map((backend) => {
    const handler = createLocalBackendHandler(backend, {
      settings,
      secrets,
      outboxDir,
      guard,
      emailSender: options.emailSender,
      smsSender: options.smsSender,
    });
    return {
      name: backend,
      functionName: `deliver-${backend}`,
      filterPolicy: filterPolicyFor(settings.backends[backend].filter),
      handler: options.wrapBackend ? options.wrapBackend(backend, handler) : handler,
      retryAttempts: 2,
      retryDelayMs: options.retryDelayMs ?? ((retry) => 50 * 4 ** (retry - 1)),
      timeoutMs: options.deliveryTimeoutMs ?? 30_000,
    };
  });
  const topic = new EmbeddedTopic({
    name: "alerts",
    subscriptions,
    deadLetters,
    matches: matchesFilterPolicy,
  });

  const topicPublisher: AlertPublisher = {
    async publish(alert: Alert): Promise<void> {
      // The message SnsAlertPublisher sends, refused as SNS would when it is too large.
      const message = publishableAlertMessage(alert);
      topic.publish(message.body, message.attributes);
    },
  };
  const route = createRouteHandler({
    publisher: options.wrapPublisher ? options.wrapPublisher(topicPublisher) : topicPublisher,
    ownApplicationIds: settings.ownApplicationIds,
    logger: createLogger("route"),
  });
  const queue = new EmbeddedQueue({
    name: "ingest",
    consumerName: "route",
    consumer: route,
    deadLetters,
    batchSize: 10,
  });

  const embeddedQueue: NotificationQueue = {
    async enqueue(notifications: readonly QueuedNotification[]): Promise<void> {
      queue.send(
        notifications.map((notification) => ({
          body: notification.body,
          // The same attributes the SQS adapter sets, as the plain strings an SQS event carries.
          attributes: queueAttributeValues(notification),
        })),
      );
    },
  };
  const ingest = createIngestHandler({
    keys: options.keyStore ?? new StaticSigningKeyStore(options.signingKeys),
    queue: options.wrapQueue ? options.wrapQueue(embeddedQueue) : embeddedQueue,
    maxBodyBytes: settings.ingest.maxBodyBytes,
    logger: createLogger("ingest"),
  });

  const server = createHttpGateway({
    handler: ingest as LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>,
    maxBodyBytes: settings.ingest.maxBodyBytes,
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;

  // Settled when a pass sees nothing under way anywhere: a queue drain can publish new deliveries.
  const drained = async (): Promise<void> => {
    for (;;) {
      await queue.drained();
      await topic.drained();
      const { sent, consumed, deadLettered } = queue.stats();
      if (sent === consumed + deadLettered) return;
    }
  };

  return {
    url,
    webhookUrl: `${url}/v1/webhook`,
    backends,
    deadLetters,
    stats: () => ({
      queue: queue.stats(),
      backends: topic.subscriptionStats(),
      deadLetters: deadLetters.counts(),
    }),
    drained,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function requireDir(dir: string | undefined, backend: string): string {
  if (!dir) throw new Error(`the local ${backend} backend needs a data directory for its outbox`);
  return dir;
}
