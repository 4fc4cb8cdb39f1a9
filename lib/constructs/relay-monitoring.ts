/**
 * Alarms, the topic they notify, and the dashboard. Every alarm means "someone should look", and
 * each watches a metric that really moves when that happens: a dead letter waiting, route handing
 * records back to the queue or not consuming it, a function failing or throttled, or the API
 * answering 5xx (which Sqreen retries, but not forever). test/infra/relay-alarms.test.ts names the
 * event that raises each one.
 */
import { ArnFormat, Aws, Duration, Stack } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { FilterPattern, type ILogGroup, MetricFilter } from "aws-cdk-lib/aws-logs";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { type Backend, FAILED_RECORD_LOG_FIELDS } from "../../lambdas/contracts/messages.js";
import { DELIVERY_METRICS, METRICS_SERVICE } from "../../lambdas/ledger/delivery-metrics.js";
import { LEDGER_WRITE_FAILED } from "../../lambdas/ledger/ledger.js";

const PERIOD = Duration.minutes(5);
/** Queue metrics and the failed-records count come every minute: a route failure is seen within one. */
const QUEUE_PERIOD = Duration.minutes(1);
/** The metric route's failed-record log lines become (custom namespace: the stack's name). */
export const ROUTE_FAILED_RECORDS_METRIC = "RouteFailedRecords";
/** The metric a deliver function's failed ledger writes (LEDGER_WRITE_FAILED lines) become. */
export const LEDGER_WRITE_FAILURES_METRIC = "LedgerWriteFailures";
/** How long a backend may be invoked without delivering anything before it alarms. */
const NOTHING_DELIVERED_PERIOD = Duration.minutes(15);

export interface MonitoredFunction {
  /** PascalCase construct id prefix, stable across deployments, e.g. `DeliverEmail`. */
  readonly id: string;
  /** Short label, e.g. `ingest`, `deliver-email`. */
  readonly label: string;
  readonly fn: IFunction;
}

export interface MonitoredDelivery extends MonitoredFunction {
  readonly backend: Backend;
  readonly logGroup: ILogGroup;
}

export interface MonitoredQueue {
  /** PascalCase construct id prefix, stable across deployments, e.g. `EmailDelivery`. */
  readonly id: string;
  /** Short label, e.g. `ingest DLQ`. */
  readonly label: string;
  readonly queue: IQueue;
}

/** A queue whose messages must be consumed within `maxAge` of being sent (delays included). */
export interface AgingQueue extends MonitoredQueue {
  readonly maxAge: Duration;
}

export interface RelayMonitoringProps {
  readonly api: IHttpApi;
  readonly ingestQueue: IQueue;
  /**
   * The ingest queue's visibility timeout: a notification older than this has had a receive that
   * did not route it (or none at all), which is what the oldest-message alarm watches.
   */
  readonly ingestVisibilityTimeout: Duration;
  readonly ingest: MonitoredFunction;
  /** Route, with the log group its failed-record lines go to. */
  readonly route: MonitoredFunction & { readonly logGroup: ILogGroup };
  /** Each delivery function, with its backend (the metrics' dimension) and its log group. */
  readonly deliveries: readonly MonitoredDelivery[];
  readonly deadLetterQueues: readonly MonitoredQueue[];
  /** The human backends' own queues (digest window closes, deliveries that wait). */
  readonly digestQueues?: readonly AgingQueue[];
  /** Existing topic the alarms notify (settings.alarmTopicArn); an encrypted one is created without. */
  readonly alarmTopicArn?: string | undefined;
}

/** CloudWatch alarms on every failure signal of the relay, their topic, and one dashboard of its traffic. */
export class RelayMonitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  /** Where every alarm goes: the topic of `alarmTopicArn`, or the one created here. */
  readonly alarmTopic: ITopic;
  /** The key of the created alarm topic (none when an existing topic is used). */
  readonly alarmTopicKey: Key | undefined;
  /** Records route handed back to the ingest queue, counted from its log lines. */
  readonly routeFailedRecords: Metric;

  constructor(scope: Construct, id: string, props: RelayMonitoringProps) {
    super(scope, id);
    if (props.alarmTopicArn === undefined) {
      this.alarmTopicKey = new Key(this, "AlarmTopicKey", {
        description: "Encrypts the Sqreen relay alarm topic",
        enableKeyRotation: true,
      });
      // CloudWatch encrypts the alarm notification it publishes with the topic's key, as any
      // publisher to an encrypted topic must. The key encrypts this topic only, and the topic
      // policy below decides which alarms may publish, so the key statement needs no condition.
      this.alarmTopicKey.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
          actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
          resources: ["*"],
        }),
      );
      const topic = new Topic(this, "AlarmTopic", {
        displayName: "Sqreen relay alarms",
        masterKey: this.alarmTopicKey,
        enforceSSL: true,
      });
      // The TLS-only topic policy replaces SNS's default one: allow this account's alarms in this
      // region to publish, and no one else's (CloudWatch publishes as its service principal).
      topic.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
          actions: ["sns:Publish"],
          resources: [topic.topicArn],
          conditions: {
            ArnLike: {
              "aws:SourceArn": Stack.of(this).formatArn({
                service: "cloudwatch",
                resource: "alarm",
                resourceName: "*",
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            },
          },
        }),
      );
      this.alarmTopic = topic;
    } else {
      this.alarmTopic = Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn);
      this.alarmTopicKey = undefined;
    }

    // Route answers a failed record in its partial batch response and never throws, so its Errors
    // metric stays 0 while publishing fails. A metric filter on the one line route writes per
    // failed record (FAILED_RECORD_LOG_FIELDS) counts them with no code in the function (Powertools
    // Metrics' EMF would add a dependency and an import to every cold start); a datapoint exists
    // only when a record failed.
    const failedRecordsFilter = new MetricFilter(this, "RouteFailedRecordsFilter", {
      logGroup: props.route.logGroup,
      filterPattern: FilterPattern.all(
        ...Object.entries(FAILED_RECORD_LOG_FIELDS).map(([field, value]) =>
          FilterPattern.stringValue(`$.${field}`, "=", value),
        ),
      ),
      metricNamespace: Stack.of(this).stackName,
      metricName: ROUTE_FAILED_RECORDS_METRIC,
      metricValue: "1",
    });
    this.routeFailedRecords = failedRecordsFilter.metric({ period: QUEUE_PERIOD, statistic: "Sum" });
    this.alarmAbove(
      "RouteFailedRecords",
      this.routeFailedRecords,
      0,
      "The route function handed notifications back to the ingest queue (unroutable, or refused by the " +
        "alerts topic): its log group says why. SQS retries them, then sets them aside in the ingest DLQ.",
    );
    // A notification is received at once and routed within seconds; one still queued a whole
    // visibility timeout after it arrived had a receive that failed, or route is not consuming at
    // all (event source disabled, function failing at start, throttled). SQS leaves a message out
    // of this metric once it was received three times, so the threshold must stay below two
    // visibility timeouts for a failing message to cross it first.
    this.alarmAbove(
      "IngestQueueOldestMessage",
      props.ingestQueue.metricApproximateAgeOfOldestMessage({ period: QUEUE_PERIOD, statistic: "Maximum" }),
      props.ingestVisibilityTimeout.toSeconds(),
      "A notification has waited on the ingest queue longer than one visibility timeout: route is " +
        "failing or not consuming. Look at the route function's logs and its event source.",
    );

    // A digest queue message waits its delay (at most 15 minutes) and is then consumed at once;
    // one older than its delay plus a visibility timeout had a receive that failed, or the
    // function is not consuming its queue: windows are not closing and digests not going out.
    for (const { id: queueId, label, queue, maxAge } of props.digestQueues ?? []) {
      this.alarmAbove(
        `${queueId}QueueOldestMessage`,
        queue.metricApproximateAgeOfOldestMessage({ period: QUEUE_PERIOD, statistic: "Maximum" }),
        maxAge.toSeconds(),
        `A message has waited on the ${label} longer than its delay and one visibility timeout: digests ` +
          "are not being sent. Look at the function's logs and its SQS event source.",
      );
    }
    for (const { id: queueId, label, queue } of props.deadLetterQueues) {
      this.alarmAbove(
        `${queueId}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: QUEUE_PERIOD, statistic: "Maximum" }),
        0,
        `Messages are waiting in the ${label}: look at them, fix the cause, then redrive.`,
      );
    }
    const errorCauses: Record<string, string> = {
      [props.ingest.id]: "timed out, ran out of memory or failed at start (handled failures answer 5xx)",
      [props.route.id]:
        "timed out, ran out of memory or failed at start (failed records have their own alarm)",
    };
    for (const { id: key, label, fn } of [props.ingest, props.route, ...props.deliveries]) {
      this.alarmAbove(
        `${key}Errors`,
        fn.metricErrors({ period: PERIOD, statistic: "Sum" }),
        0,
        `The ${label} function ${errorCauses[key] ?? "failed a delivery; Lambda retries it, then dead-letters it"}.`,
      );
      this.alarmAbove(
        `${key}Throttles`,
        fn.metricThrottles({ period: PERIOD, statistic: "Sum" }),
        0,
        `The ${label} function was throttled: the account's Lambda concurrency is used up.`,
      );
    }
    // Per backend, from the delivery ledger: a failed ledger write (counted from its log line, so
    // a ledger that is down is seen even though the delivery went through), and a backend that is
    // invoked (alerts are routed to it) but delivered nothing at all for a while.
    for (const delivery of props.deliveries) {
      const writeFailures = new MetricFilter(this, `${delivery.id}LedgerWriteFailuresFilter`, {
        logGroup: delivery.logGroup,
        filterPattern: FilterPattern.stringValue("$.message", "=", LEDGER_WRITE_FAILED),
        metricNamespace: Stack.of(this).stackName,
        metricName: LEDGER_WRITE_FAILURES_METRIC,
        dimensions: { backend: "$.backend" },
        metricValue: "1",
      });
      this.alarmAbove(
        `${delivery.id}LedgerWriteFailures`,
        writeFailures.metric({
          period: PERIOD,
          statistic: "Sum",
          dimensionsMap: { backend: delivery.backend },
        }),
        0,
        `The ${delivery.label} function could not write the delivery ledger (its deliveries went on): ` +
          "npm run relay -- trace misses those outcomes. Its log group says why (throttling, permissions).",
      );
      this.alarmAbove(
        `${delivery.id}NothingDelivered`,
        new MathExpression({
          expression: "IF(invocations > 0 AND FILL(delivered, 0) + FILL(skipped, 0) == 0, 1, 0)",
          usingMetrics: {
            invocations: delivery.fn.metricInvocations({
              period: NOTHING_DELIVERED_PERIOD,
              statistic: "Sum",
            }),
            delivered: this.deliveryMetric(
              DELIVERY_METRICS.delivered,
              delivery.backend,
              NOTHING_DELIVERED_PERIOD,
            ),
            skipped: this.deliveryMetric(
              DELIVERY_METRICS.skipped,
              delivery.backend,
              NOTHING_DELIVERED_PERIOD,
            ),
          },
          period: NOTHING_DELIVERED_PERIOD,
          label: `${delivery.backend} invoked, nothing delivered`,
        }),
        0,
        `Alerts were routed to the ${delivery.backend} backend for ${NOTHING_DELIVERED_PERIOD.toMinutes()} minutes and it ` +
          "delivered none: npm run relay -- recent --backend <backend> --failed says why; npm run relay -- drill checks it.",
      );
    }
    this.alarmAbove(
      "ApiServerErrors",
      props.api.metricServerError({ period: PERIOD, statistic: "Sum" }),
      0,
      "The webhook answered 5xx: Sqreen retries, but notifications are not getting in.",
    );

    this.dashboard = new Dashboard(this, "Dashboard", { defaultInterval: Duration.hours(24) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          "# Sqreen relay\nWebhook requests → accepted notifications → route → deliveries per backend.",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph("Webhook requests", [
        props.api.metricCount({ period: PERIOD, statistic: "Sum", label: "requests" }),
        props.api.metricClientError({ period: PERIOD, statistic: "Sum", label: "4xx" }),
        props.api.metricServerError({ period: PERIOD, statistic: "Sum", label: "5xx" }),
      ]),
      graph("Accepted notifications", [
        props.ingestQueue.metricNumberOfMessagesSent({ period: PERIOD, statistic: "Sum", label: "enqueued" }),
      ]),
      graph("Route", [
        ...invocationsAndErrors(props.route),
        this.routeFailedRecords.with({ label: "failed records" }),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        "Deliveries per backend",
        props.deliveries.map(({ label, fn }) =>
          fn.metricInvocations({ period: PERIOD, statistic: "Sum", label: `${label} invocations` }),
        ),
      ),
      graph(
        "Delivery errors per backend",
        props.deliveries.map(({ label, fn }) =>
          fn.metricErrors({ period: PERIOD, statistic: "Sum", label: `${label} errors` }),
        ),
      ),
      new SingleValueWidget({
        title: "Dead letters waiting",
        width: 8,
        height: 6,
        metrics: props.deadLetterQueues.map(({ label, queue }) =>
          queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            statistic: "Maximum",
            label,
          }),
        ),
      }),
    );
    const digestQueues = props.digestQueues ?? [];
    if (digestQueues.length > 0) {
      this.dashboard.addWidgets(
        graph(
          "Digest closes and waiting deliveries scheduled",
          digestQueues.map(({ label, queue }) =>
            queue.metricNumberOfMessagesSent({ period: PERIOD, statistic: "Sum", label }),
          ),
        ),
        graph(
          "Digest queue messages waiting (delayed + visible)",
          digestQueues.flatMap(({ label, queue }) => [
            queue.metricApproximateNumberOfMessagesVisible({
              period: QUEUE_PERIOD,
              statistic: "Maximum",
              label: `${label} visible`,
            }),
            queue.metric("ApproximateNumberOfMessagesDelayed", {
              period: QUEUE_PERIOD,
              statistic: "Maximum",
              label: `${label} delayed`,
            }),
          ]),
        ),
        graph(
          "Digest queue oldest message (s)",
          digestQueues.map(({ label, queue }) =>
            queue.metricApproximateAgeOfOldestMessage({ period: QUEUE_PERIOD, statistic: "Maximum", label }),
          ),
        ),
      );
    }
    // Beside the queue depths: what the ledger says each backend did.
    const perBackend = (name: string, statistic: string, label: string) =>
      props.deliveries.map(({ backend }) =>
        this.deliveryMetric(name, backend, PERIOD, statistic).with({ label: `${backend} ${label}` }),
      );
    this.dashboard.addWidgets(
      graph(
        "Delivered per backend (destinations)",
        perBackend(DELIVERY_METRICS.delivered, "Sum", "delivered"),
      ),
      graph("Failed and dead-lettered per backend", [
        ...perBackend(DELIVERY_METRICS.failed, "Sum", "failed attempts"),
        ...perBackend(DELIVERY_METRICS.deadLettered, "Sum", "dead-lettered"),
      ]),
      graph(
        "Latency from acceptance to delivery (p99, ms)",
        perBackend(DELIVERY_METRICS.latency, "p99", "p99"),
      ),
    );
  }

  /** A delivery metric of lambdas/ledger/delivery-metrics.ts for one backend. */
  private deliveryMetric(name: string, backend: Backend, period: Duration, statistic = "Sum"): Metric {
    return new Metric({
      namespace: Stack.of(this).stackName,
      metricName: name,
      dimensionsMap: { service: METRICS_SERVICE, backend },
      period,
      statistic,
    });
  }

  /** The console address of the dashboard, for the stack outputs. */
  get dashboardUrl(): string {
    return `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  /** The command that subscribes an on-call address to the alarm topic, in the topic's region. */
  get subscribeCommand(): string {
    return (
      `aws sns subscribe --region ${this.alarmTopic.env.region} --topic-arn ${this.alarmTopic.topicArn} ` +
      "--protocol email --notification-endpoint <on-call e-mail address>"
    );
  }

  private alarmAbove(id: string, metric: IMetric, threshold: number, description: string): void {
    const alarm = new Alarm(this, id, {
      metric,
      alarmDescription: description,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No datapoint means nothing happened: not an alarm.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
  }
}

function graph(title: string, metrics: IMetric[]): GraphWidget {
  return new GraphWidget({ title, left: metrics, width: 8, height: 6 });
}

function invocationsAndErrors({ label, fn }: MonitoredFunction): IMetric[] {
  return [
    fn.metricInvocations({ period: PERIOD, statistic: "Sum", label: `${label} invocations` }),
    fn.metricErrors({ period: PERIOD, statistic: "Sum", label: `${label} errors` }),
  ];
}
