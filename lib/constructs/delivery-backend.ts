/**
 * One delivery backend: its function, its subscription to the alerts topic with the backend's
 * filter policy, and its two dead-letter queues (alerts SNS could not hand to the function, and
 * alerts the function failed to deliver after Lambda's retries).
 */
import { Duration } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { CfnSubscription, ITopic, Subscription } from "aws-cdk-lib/aws-sns";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { type Backend, GUARDED_BACKENDS } from "../../lambdas/contracts/messages.js";
import { filterPolicyFor } from "../routing.js";
import type { RouteFilter } from "../settings.js";
import { createDeadLetterQueue } from "./queues.js";
import { RelayFunction, type RelayLogLevel } from "./relay-function.js";

/** Lambda's own retries of a failed asynchronous (SNS) invocation before the on-failure destination. */
export const DELIVERY_RETRY_ATTEMPTS = 2;
/** An alert still undelivered after this long goes to the dead-letter queue instead of arriving late. */
export const DELIVERY_MAX_EVENT_AGE = Duration.hours(6);

export interface DeliveryBackendProps {
  readonly backend: Backend;
  /** Which alerts this backend receives (settings.backends.X.filter). */
  readonly filter: RouteFilter;
  readonly topic: ITopic;
  /** Powertools idempotency table, so an alert SNS delivers twice is sent once. */
  readonly idempotencyTable: ITable;
  /** The backend's secret (recipients, URLs, signing secrets); the log backend has none. */
  readonly secret?: ISecret | undefined;
  readonly description: string;
  /** @default 30 seconds */
  readonly timeout?: Duration;
  readonly logRetention: RetentionDays;
  readonly logLevel?: RelayLogLevel | undefined;
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

  constructor(scope: Construct, id: string, props: DeliveryBackendProps) {
    super(scope, id);
    this.backend = props.backend;

    this.handler = new RelayFunction(this, "Handler", {
      name: `deliver-${props.backend}`,
      description: props.description,
      timeout: props.timeout ?? Duration.seconds(30),
      logRetention: props.logRetention,
      logLevel: props.logLevel,
    });
    // Only the backends whose sends are recorded reach the table (GUARDED_BACKENDS says why).
    if (isGuarded(props.backend)) this.handler.useTable(ENV.idempotencyTableName, props.idempotencyTable);
    if (props.secret !== undefined) this.handler.useSecret(ENV.backendSecretId, props.secret);

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
}
