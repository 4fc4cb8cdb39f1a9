/**
 * One delivery backend: its function, its subscription to the alerts topic with the backend's
 * filter policy, and its two dead-letter queues (alerts SNS could not hand to the function, and
 * alerts the function failed to deliver after Lambda's retries). A human backend with digests
 * also has its own queue, which the same function consumes: the delayed close of each digest
 * window and the deliveries that wait for their destination's rate limit, with a dead-letter
 * queue of its own, and the digest table the windows live in.
 */
import { Duration, Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { CfnSubscription, ITopic, Subscription } from "aws-cdk-lib/aws-sns";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { type Backend, GUARDED_BACKENDS } from "../../lambdas/contracts/messages.js";
import { DELIVERY_RETRY_ATTEMPTS } from "../../lambdas/delivery/outcome.js";
import { type DigestPolicy, MAX_QUEUE_DELAY_SECONDS } from "../../lambdas/digest/seams.js";
import { filterPolicyFor } from "../routing.js";
import type { RouteFilter } from "../settings.js";
import { createDeadLetterQueue, QUEUE_DEFAULTS } from "./queues.js";
import { RelayFunction, type RelayLogLevel } from "./relay-function.js";

/** Lambda's own retries of a failed asynchronous (SNS) invocation before the on-failure destination. */
export { DELIVERY_RETRY_ATTEMPTS };
/** An alert still undelivered after this long goes to the dead-letter queue instead of arriving late. */
export const DELIVERY_MAX_EVENT_AGE = Duration.hours(6);

/**
 * Receives of a digest queue message (a window's close, a delivery that waited) before it is set
 * aside in the digest dead-letter queue: as many attempts as an alert's delivery gets.
 */
export const DIGEST_MAX_RECEIVE_COUNT = DELIVERY_RETRY_ATTEMPTS + 1;
/**
 * Digest queue messages per invocation: each one sends a digest or an alert, one after the other
 * within the function's timeout, so a batch stays small.
 */
export const DIGEST_BATCH_SIZE = 5;
/**
 * What the digest window store (lambdas/digest/dynamodb-window-store.ts) does to its table: reads
 * single items, writes them alone or in transactions (IAM authorizes each Put and Update of a
 * TransactWriteItems as PutItem and UpdateItem), queries a window's members and reads their
 * admissions in batches. No delete, no scan.
 */
export const DIGEST_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:Query",
] as const;

/** A message stays invisible six times the consumer's timeout, so retries never overlap. */
export function digestVisibilityTimeout(functionTimeout: Duration): Duration {
  return Duration.seconds(functionTimeout.toSeconds() * 6);
}

/** What a human backend with digests is given (settings.backends.X.digest is not `false`). */
export interface DigestProps {
  /** Where the windows live (one table for every backend: a group's key names its backend). */
  readonly table: ITable;
  /** settings.backends.X.digest, defaults applied. */
  readonly policy: DigestPolicy;
}

export interface DeliveryBackendProps {
  readonly backend: Backend;
  /** Which alerts this backend receives (settings.backends.X.filter). */
  readonly filter: RouteFilter;
  readonly topic: ITopic;
  /** Powertools idempotency table, so an alert SNS delivers twice is sent once. */
  readonly idempotencyTable: ITable;
  /** The delivery ledger, where the function may write only its own backend's entries. */
  readonly ledgerTable: ITable;
  /** The backend's secret (recipients, URLs, signing secrets); the log backend has none. */
  readonly secret?: ISecret | undefined;
  readonly description: string;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  readonly logRetention: RetentionDays;
  readonly logLevel?: RelayLogLevel | undefined;
  /** X-Ray active tracing (RelayFunctionProps.tracing). */
  readonly tracing: boolean;
  /** Digests (human backends whose digest setting is not `false`). */
  readonly digest?: DigestProps | undefined;
}

function isGuarded(backend: Backend): boolean {
  return (GUARDED_BACKENDS as readonly Backend[]).includes(backend);
}

/** The function, subscription and dead-letter queues of one backend. */
export class DeliveryBackend extends Construct {
  readonly backend: Backend;
  readonly handler: RelayFunction;
  /** On-failure destination of the function's asynchronous invocations. */
  readonly deliveryDeadLetterQueue: Queue;
  /** Redrive target of the SNS subscription (SNS could not invoke the function at all). */
  readonly subscriptionDeadLetterQueue: Queue;
  readonly subscription: Subscription;
  /** The backend's own queue (window closes, deliveries that wait), when it has digests. */
  readonly digestQueue: Queue | undefined;
  /** Where digest queue messages that kept failing are set aside. */
  readonly digestDeadLetterQueue: Queue | undefined;
  /**
   * Oldest a digest queue message may get: delayed at most MAX_QUEUE_DELAY_SECONDS, then consumed
   * at once, or one visibility timeout later after a failed receive. Older means the function is
   * failing on it or not consuming the queue.
   */
  readonly digestQueueMaxAge: Duration | undefined;

  constructor(scope: Construct, id: string, props: DeliveryBackendProps) {
    super(scope, id);
    this.backend = props.backend;

    this.handler = new RelayFunction(this, "Handler", {
      name: `deliver-${props.backend}`,
      description: props.description,
      timeout: props.timeout ?? Duration.seconds(30),
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      tracing: props.tracing,
    });
    // Only the backends whose sends are recorded reach the table (GUARDED_BACKENDS says why).
    if (isGuarded(props.backend)) this.handler.useTable(ENV.idempotencyTableName, props.idempotencyTable);
    this.handler
      .useLedger(ENV.ledgerTableName, props.ledgerTable, props.backend)
      .setValue(ENV.metricsNamespace, Stack.of(this).stackName);
    if (props.secret !== undefined) this.handler.useSecret(ENV.backendSecretId, props.secret);
    const timeout = props.timeout ?? Duration.seconds(30);
    if (props.digest !== undefined) {
      const { queue, deadLetterQueue } = this.addDigests(props.digest, timeout);
      this.digestQueue = queue;
      this.digestDeadLetterQueue = deadLetterQueue;
      this.digestQueueMaxAge = Duration.seconds(
        MAX_QUEUE_DELAY_SECONDS + digestVisibilityTimeout(timeout).toSeconds(),
      );
    } else {
      this.digestQueue = undefined;
      this.digestDeadLetterQueue = undefined;
      this.digestQueueMaxAge = undefined;
    }

    this.deliveryDeadLetterQueue = createDeadLetterQueue(this, "DeliveryDeadLetterQueue", {
      deadLetterOf: `on-failure destination of the deliver-${props.backend} function`,
    });
    this.handler.function.configureAsyncInvoke({
      retryAttempts: DELIVERY_RETRY_ATTEMPTS,
      maxEventAge: DELIVERY_MAX_EVENT_AGE,
      onFailure: new SqsDestination(this.deliveryDeadLetterQueue),
    });

    this.subscriptionDeadLetterQueue = createDeadLetterQueue(this, "SubscriptionDeadLetterQueue", {
      deadLetterOf: `redrive target of the ${props.backend} subscription to the alerts topic`,
    });
    this.subscription = props.topic.addSubscription(
      new LambdaSubscription(this.handler.function, { deadLetterQueue: this.subscriptionDeadLetterQueue }),
    );
    // SubscriptionFilter cannot express `$or`, which every filtering policy uses to let internal
    // alerts through: the policy goes on the CloudFormation resource exactly as lib/routing.ts builds it.
    const policy = filterPolicyFor(props.filter);
    if (Object.keys(policy).length > 0) {
      const cfnSubscription = this.subscription.node.defaultChild as CfnSubscription;
      cfnSubscription.filterPolicyScope = "MessageAttributes";
      cfnSubscription.filterPolicy = policy;
    }
  }

  /**
   * The backend's own queue and its dead-letter queue, consumed by the function (partial batch
   * failures reported), which may send to it and to no other queue; the digest table with the
   * store's actions only; the policy as two plain values.
   */
  private addDigests(digest: DigestProps, timeout: Duration): { queue: Queue; deadLetterQueue: Queue } {
    const deadLetterQueue = createDeadLetterQueue(this, "DigestDeadLetterQueue");
    const queue = new Queue(this, "DigestQueue", {
      ...QUEUE_DEFAULTS,
      visibilityTimeout: digestVisibilityTimeout(timeout),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: DIGEST_MAX_RECEIVE_COUNT },
    });
    this.handler
      .useQueue(ENV.digestQueueUrl, queue)
      .useTable(ENV.digestTableName, digest.table, DIGEST_TABLE_ACTIONS)
      .setValue(ENV.digestImmediate, digest.policy.immediate)
      .setValue(ENV.digestWindowSeconds, digest.policy.windowSeconds);
    this.handler.function.addEventSource(
      new SqsEventSource(queue, { batchSize: DIGEST_BATCH_SIZE, reportBatchItemFailures: true }),
    );
    return { queue, deadLetterQueue };
  }
}
