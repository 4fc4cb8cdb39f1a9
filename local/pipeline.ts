/**
 * The whole relay in one process, through the same handler factories that run on Lambda:
 * HTTP → ingest → embedded queue → route → embedded topic (the stack's filter policies) → the
 * enabled backends. Ingest is its core behind the HTTP front door (the Lambda handler's API
 * Gateway adapter has nothing to adapt here). Used by `npm start`, the end-to-end tests and the
 * benchmark.
 */

import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { SNSEvent, SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { Alert } from "../lambdas/contracts/alert.js";
import { publishableAlertMessage } from "../lambdas/contracts/alert-message.js";
import {
  emailSecretSchema,
  httpSecretSchema,
  slackSecretSchema,
  smsSecretSchema,
} from "../lambdas/contracts/backend-secrets.js";
import type { Backend } from "../lambdas/contracts/messages.js";
import { createDeliverEmailHandler } from "../lambdas/deliver-email/core.js";
import type { EmailSender } from "../lambdas/deliver-email/ses-email.js";
import { createDeliverHttpHandler } from "../lambdas/deliver-http/core.js";
import { createDeliverLogHandler } from "../lambdas/deliver-log/core.js";
import { createDeliverSlackHandler } from "../lambdas/deliver-slack/core.js";
import { createDeliverSmsHandler } from "../lambdas/deliver-sms/core.js";
import type { SmsSender } from "../lambdas/deliver-sms/sns-sms.js";
import type { DeliveryRecording } from "../lambdas/delivery/chain.js";
import type { DeliveryGuard } from "../lambdas/delivery/outcome.js";
import { staticSecretSource } from "../lambdas/delivery/secret-source.js";
import type { DigestDeps } from "../lambdas/digest/admission.js";
import { HUMAN_BACKENDS, type HumanBackend } from "../lambdas/digest/seams.js";
import { ingestVerifiedRequest, WEBHOOK_PATH } from "../lambdas/ingest/core.js";
import { type SigningKeyStore, StaticSigningKeyStore } from "../lambdas/ingest/signing-keys.js";
import {
  type NotificationQueue,
  type QueuedNotification,
  queueAttributeValues,
} from "../lambdas/ingest/sqs-queue.js";
import { createRouteHandler } from "../lambdas/route/chain.js";
import type { AlertPublisher } from "../lambdas/route/sns-topic.js";
import { sleep } from "../lambdas/runtime/backoff.js";
import { HttpError } from "../lambdas/runtime/errors.js";
import { matchesFilterPolicy } from "../lib/filter-policy.js";
import { filterPolicyFor } from "../lib/routing.js";
import type { RelaySettings } from "../lib/settings.js";
import { digestQueueName, EmbeddedDigestQueue } from "./aws/embedded-digest-queue.js";
import { EmbeddedQueue, type QueueStats } from "./aws/embedded-queue.js";
import { EmbeddedTopic, type SubscriptionStats, type TopicSubscription } from "./aws/embedded-topic.js";
import { createHttpGateway, type FrontDoorLimits } from "./aws/http-gateway.js";
import type { LambdaHandler } from "./aws/lambda-context.js";
import { OutboxEmailSender, OutboxSmsSender } from "./aws/outbox.js";
import { LOCAL_SECRET_VARIABLES, type LocalBackendSecrets } from "./environment.js";
import { createLocalLogger } from "./logger.js";
import { DeadLetterStore } from "./store/dead-letters.js";
import { SqliteDigestWindowStore } from "./store/digest-windows.js";
import { sqliteDeliveryGuard } from "./store/idempotency-store.js";
import { SqliteLedger } from "./store/ledger-store.js";
import { privateDirectory, RelayStore } from "./store/relay-store.js";
import { removeRunFile, writeRunFile } from "./store/run-file.js";

export interface LocalRelayOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Loopback (127.0.0.1) by default. */
  host?: string | undefined;
  signingKeys: readonly string[];
  settings: RelaySettings;
  secrets: LocalBackendSecrets;
  /**
   * The database (`relay.db`: queue, pending deliveries, idempotency records, dead letters) and
   * the outbox (`outbox/`) go in it; absent, the database is in memory and nothing is written.
   */
  dataDir?: string;
  /**
   * Replace a backend's delivery handler on the topic, e.g. to inject faults in tests. A human
   * backend's own queue (digest closes, deliveries waiting for a rate limit) calls the handler
   * as built, not the replacement.
   */
  wrapBackend?: (backend: Backend, handler: SnsHandler) => SnsHandler;
  /** Replace the queue the ingest function writes to, e.g. to make it fail in tests. */
  wrapQueue?: (queue: NotificationQueue) => NotificationQueue;
  /** Replace the topic the route function publishes to, e.g. to make it fail in tests. */
  wrapPublisher?: (publisher: AlertPublisher) => AlertPublisher;
  /** Where ingest reads signing keys; a static store of `signingKeys` by default. */
  keyStore?: SigningKeyStore;
  /**
   * Idempotency guard for the delivery functions: by default Powertools idempotency on the relay's
   * database (the same rules and retention as the DynamoDB table in AWS), so a resent request
   * sends nothing twice, even after a restart; `false` delivers every arrival.
   */
  guard?: DeliveryGuard | false;
  /** Retry delays of the topic's asynchronous invocations (ms); short by default, minutes on AWS. */
  retryDelayMs?: (retry: number) => number;
  /** Delivery function timeout (ms); the topic's default (local/aws/embedded-topic.ts) by default. */
  deliveryTimeoutMs?: number;
  emailSender?: EmailSender;
  smsSender?: SmsSender;
  /** Past this many pending notifications and deliveries ingest answers 503 (settings' `local`). */
  maxPendingDeliveries?: number;
  /** How long `close()` lets work under way finish (settings' `local.drainSeconds`). */
  drainMs?: number;
  /** The front door's connection, time and memory limits (FRONT_DOOR_LIMITS by default). */
  frontDoor?: Partial<FrontDoorLimits>;
  /** The logger of each function; readable lines on a terminal, JSON otherwise, by default. */
  logger?: (service: string) => Logger;
}

export type SnsHandler = LambdaHandler<SNSEvent, unknown>;
/** A delivery handler as built: the topic's SNS events, and a human backend's own queue's SQS events. */
export type BackendHandler = LambdaHandler<SNSEvent | SQSEvent, unknown>;

export interface LocalRelayStats {
  queue: QueueStats;
  backends: Readonly<Record<string, SubscriptionStats>>;
  /** Dead letters kept, per source (from earlier runs too). */
  deadLetters: Readonly<Record<string, number>>;
  /** Notifications not yet routed plus deliveries not yet finished: what the bound counts. */
  pending: number;
  /** Each human backend's own queue: digest closes and deliveries waiting for a rate limit. */
  backendQueues: Readonly<Record<string, QueueStats>>;
}

/** What a stop left for the next start. */
export interface StopReport {
  /** Route batches and deliveries still running when the drain time was up (they run again). */
  interrupted: number;
  /** Notifications and deliveries left pending in the database. */
  pending: number;
}

export interface LocalRelay {
  /** `http://host:port` */
  url: string;
  /** `http://host:port` and WEBHOOK_PATH */
  webhookUrl: string;
  /** Backends subscribed to the topic. */
  backends: readonly Backend[];
  deadLetters: DeadLetterStore;
  /** The delivery ledger (`npm run relay -- trace --local` reads it). */
  ledger: SqliteLedger;
  /** The database, for tools and tests that look inside. */
  store: RelayStore;
  stats(): LocalRelayStats;
  /**
   * Resolves once everything accepted so far is delivered, dead-lettered or held in a digest
   * window (whose close waits on the backend's queue; `digestsSent` waits for those too).
   */
  drained(): Promise<void>;
  /** Resolves once the backends' own queues are empty too: every digest window closed and sent. */
  digestsSent(): Promise<void>;
  /**
   * Stops gracefully: new requests are answered 503 and the server stops listening; requests,
   * route batches and deliveries under way get the drain time to finish; what is left stays in the
   * database for the next start. Safe to call more than once.
   */
  close(): Promise<StopReport>;
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
  /** Digest windows and the backend's own queue, for the human backends; every alert alone when absent. */
  digests?: DigestDeps | undefined;
  /** The ledger the handler records its outcomes in. */
  recording?: DeliveryRecording | undefined;
  emailSender?: EmailSender | undefined;
  smsSender?: SmsSender | undefined;
  logger?: ((service: string) => Logger) | undefined;
}

/**
 * The delivery handler of `backend` as the local stack runs it (the AWS factory with local
 * secrets and outboxes); also what `npm run redrive -- --local` replays dead letters through.
 */
export function createLocalBackendHandler(backend: Backend, options: LocalBackendOptions): BackendHandler {
  const { settings, secrets, outboxDir, guard, digests, recording } = options;
  const createLogger = options.logger ?? createLocalLogger;
  const handlers: Record<Backend, () => BackendHandler> = {
    log: () => createDeliverLogHandler({ logger: createLogger("deliver-log"), recording }),
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
        ...(digests ? { digests } : {}),
        recording,
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
        recording,
      }),
    sms: () =>
      createDeliverSmsHandler({
        secrets: staticSecretSource(smsSecretSchema, secrets.sms ?? {}, LOCAL_SECRET_VARIABLES.sms),
        sender: options.smsSender ?? new OutboxSmsSender(requireDir(outboxDir, "sms")),
        logger: createLogger("deliver-sms"),
        guard,
        ...(digests ? { digests } : {}),
        recording,
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
        ...(digests ? { digests } : {}),
        recording,
      }),
  };
  return handlers[backend]();
}

/** Starts the local relay; resolves once it listens and has resumed what earlier runs left. */
export async function startLocalRelay(options: LocalRelayOptions): Promise<LocalRelay> {
  const { settings, secrets } = options;
  const createLogger = options.logger ?? createLocalLogger;
  const store = new RelayStore({ dataDir: options.dataDir });
  try {
    return await assemble(options, store, createLogger);
  } catch (error) {
    store.close();
    throw error;
  }

  async function assemble(
    options: LocalRelayOptions,
    store: RelayStore,
    createLogger: (service: string) => Logger,
  ): Promise<LocalRelay> {
    const relayLogger = createLogger("relay");
    const deadLetters = new DeadLetterStore(store, relayLogger);
    const ledger = new SqliteLedger(store);
    ledger.prune();
    const outboxDir = options.dataDir ? privateDirectory(join(options.dataDir, "outbox")) : undefined;
    const backends = enabledBackends(settings, secrets);
    const guard = options.guard === false ? undefined : (options.guard ?? sqliteDeliveryGuard(store));
    const maxPending = options.maxPendingDeliveries ?? settings.local.maxPendingDeliveries;
    const drainMs = options.drainMs ?? settings.local.drainSeconds * 1000;

    const windows = new SqliteDigestWindowStore(store);
    const backendQueues: EmbeddedQueue[] = [];
    const subscriptions: TopicSubscription[] = backends.map((backend) => {
      // A human backend's own queue, consumed by the same handler (as on AWS). Built even with
      // `"digest": false`, so closes a run with digests on left behind are still sent.
      let consumer: BackendHandler | undefined;
      const backendQueue = isHuman(backend)
        ? new EmbeddedQueue({
            name: digestQueueName(backend),
            consumerName: `deliver-${backend}`,
            consumer: async (event, context) =>
              (await consumer?.(event, context)) as SQSBatchResponse | undefined,
            store,
            deadLetters,
            // One record at a time: sends to one destination stay within its rate.
            batchSize: 1,
            concurrency: 1,
            visibilityTimeoutMs: options.retryDelayMs?.(1) ?? DEFAULT_BACKEND_QUEUE_RETRY_MS,
          })
        : undefined;
      if (backendQueue) backendQueues.push(backendQueue);
      const handler = createLocalBackendHandler(backend, {
        settings,
        secrets,
        outboxDir,
        guard,
        digests:
          backendQueue && isHuman(backend)
            ? {
                store: windows,
                queue: new EmbeddedDigestQueue(backendQueue),
                policy: settings.backends[backend].digest,
              }
            : undefined,
        recording: { ledger },
        emailSender: options.emailSender,
        smsSender: options.smsSender,
        logger: createLogger,
      });
      consumer = handler;
      return {
        name: backend,
        functionName: `deliver-${backend}`,
        filterPolicy: filterPolicyFor(settings.backends[backend].filter),
        handler: options.wrapBackend ? options.wrapBackend(backend, handler) : handler,
        retryDelayMs: options.retryDelayMs,
        timeoutMs: options.deliveryTimeoutMs,
      };
    });
    const topic = new EmbeddedTopic({
      name: "alerts",
      subscriptions,
      store,
      deadLetters,
      matches: matchesFilterPolicy,
    });

    const topicPublisher: AlertPublisher = {
      async publish(alert: Alert): Promise<void> {
        // The message SnsAlertPublisher sends, refused as SNS would when it is too large.
        const message = publishableAlertMessage(alert);
        await topic.publish(message.body, message.attributes);
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
      store,
      deadLetters,
    });

    const pending = () => queue.depth + topic.pending;
    const backlogFull = () =>
      new HttpError(503, "queue_full", "The relay has too many deliveries pending; retry later");
    let stopping = false;
    const embeddedQueue: NotificationQueue = {
      async enqueue(notifications: readonly QueuedNotification[]): Promise<void> {
        await queue.send(
          notifications.map((notification) => ({
            body: notification.body,
            // The same attributes the SQS adapter sets, as the plain strings an SQS event carries.
            attributes: queueAttributeValues(notification),
          })),
          // Asked inside the commit, so concurrent requests cannot together overshoot the bound.
          (count) => {
            if (pending() + count > maxPending) throw backlogFull();
          },
        );
      },
    };
    const ingestLogger = createLogger("ingest");
    const keyStore = options.keyStore ?? new StaticSigningKeyStore(options.signingKeys);
    const ingestQueue = options.wrapQueue ? options.wrapQueue(embeddedQueue) : embeddedQueue;

    // The ingest core called directly with the bytes the gateway verified while they streamed in,
    // as the ingest function's handler calls it on AWS after API Gateway (lambdas/ingest/chain.ts).
    const gateway = createHttpGateway({
      accept: (request) => ingestVerifiedRequest(request, { queue: ingestQueue, logger: ingestLogger }),
      maxBodyBytes: settings.ingest.maxBodyBytes,
      keys: keyStore,
      logger: ingestLogger,
      limits: options.frontDoor,
      admit: () => {
        if (stopping) return new HttpError(503, "relay_stopping", "The relay is stopping; retry later");
        return pending() >= maxPending ? backlogFull() : undefined;
      },
    });
    const { server } = gateway;
    const host = options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${host}:${port}`;
    const webhookUrl = `${url}${WEBHOOK_PATH}`;
    // How `npm run relay -- drill` finds this relay with no flags (owner-only: it holds the secret).
    if (options.dataDir) {
      writeRunFile(options.dataDir, {
        pid: process.pid,
        webhookUrl,
        secret: options.signingKeys[0] ?? "",
        backends,
      });
    }
    queue.start();
    topic.start();
    for (const backendQueue of backendQueues) backendQueue.start();
    // Rows the redrive tool hands back from another process are counted once a second.
    const resync = setInterval(() => {
      if (!store.closed) {
        queue.resync();
        topic.resync();
        for (const backendQueue of backendQueues) backendQueue.resync();
      }
    }, 1_000);
    resync.unref();

    const idle = () =>
      queue.depth === 0 &&
      topic.pending === 0 &&
      queue.active === 0 &&
      topic.active === 0 &&
      backendQueues.every((backendQueue) => backendQueue.dueDepth() === 0 && backendQueue.active === 0);
    const digestsIdle = () => idle() && backendQueues.every((backendQueue) => backendQueue.depth === 0);
    let stopped: Promise<StopReport> | undefined;
    const stop = async (): Promise<StopReport> => {
      stopping = true;
      const deadline = Date.now() + drainMs;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      gateway.closeIdle();
      // Requests under way finish first: a 200 is only ever answered after its commit.
      while (gateway.inFlight > 0 && Date.now() < deadline) await sleep(10);
      const left = Math.max(0, deadline - Date.now());
      const [batches, deliveries, ...own] = await Promise.all([
        queue.stop(left),
        topic.stop(left),
        ...backendQueues.map((backendQueue) => backendQueue.stop(left)),
      ]);
      server.closeAllConnections();
      await closed;
      clearInterval(resync);
      if (options.dataDir) removeRunFile(options.dataDir);
      const report = {
        interrupted: batches + deliveries + own.reduce((sum, count) => sum + count, 0),
        pending: pending(),
      };
      store.close();
      return report;
    };

    return {
      url,
      webhookUrl,
      backends,
      deadLetters,
      ledger,
      store,
      stats: () => ({
        queue: queue.stats(),
        backends: topic.subscriptionStats(),
        deadLetters: store.closed ? {} : deadLetters.counts(),
        pending: pending(),
        backendQueues: Object.fromEntries(
          backendQueues.map((backendQueue) => [backendQueue.name, backendQueue.stats()]),
        ),
      }),
      drained: async () => {
        while (!idle()) await sleep(10);
      },
      digestsSent: async () => {
        while (!digestsIdle()) await sleep(10);
      },
      close: () => {
        stopped ??= stop();
        return stopped;
      },
    };
  }
}

/** How long a failed message of a backend's own queue waits before it is received again. */
const DEFAULT_BACKEND_QUEUE_RETRY_MS = 1_000;

function isHuman(backend: Backend): backend is HumanBackend {
  return (HUMAN_BACKENDS as readonly Backend[]).includes(backend);
}

function requireDir(dir: string | undefined, backend: string): string {
  if (!dir) throw new Error(`the local ${backend} backend needs a data directory for its outbox`);
  return dir;
}
