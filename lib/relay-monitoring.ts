/**
 * Alarms and the dashboard. Every alarm means "someone should look": a dead letter waiting, a
 * function failing or throttled, or the API answering 5xx (which Sqreen retries, but not forever).
 */
import { Aws, Duration } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

const PERIOD = Duration.minutes(5);

export interface MonitoredFunction {
  /** PascalCase construct id prefix, stable across deployments, e.g. `DeliverEmail`. */
  readonly id: string;
  /** Short label, e.g. `ingest`, `deliver-email`. */
  readonly label: string;
  readonly fn: IFunction;
}

export interface MonitoredQueue {
  /** PascalCase construct id prefix, stable across deployments, e.g. `EmailDelivery`. */
  readonly id: string;
  /** Short label, e.g. `ingest DLQ`. */
  readonly label: string;
  readonly queue: IQueue;
}

export interface RelayMonitoringProps {
  readonly api: IHttpApi;
  readonly ingestQueue: IQueue;
  readonly ingest: MonitoredFunction;
  readonly route: MonitoredFunction;
  readonly deliveries: readonly MonitoredFunction[];
  readonly deadLetterQueues: readonly MonitoredQueue[];
  /** Existing topic the alarms notify (settings.alarmTopicArn); alarms only show in the console without. */
  readonly alarmTopicArn?: string | undefined;
}

/** CloudWatch alarms on every failure signal of the relay, and one dashboard of its traffic. */
export class RelayMonitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly alarmTopic: ITopic | undefined;

  constructor(scope: Construct, id: string, props: RelayMonitoringProps) {
    super(scope, id);
    this.alarmTopic =
      props.alarmTopicArn === undefined
        ? undefined
        : Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn);

    for (const { id: queueId, label, queue } of props.deadLetterQueues) {
      this.alarmAboveZero(
        `${queueId}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" }),
        `Messages are waiting in the ${label}: look at them, fix the cause, then redrive.`,
      );
    }
    for (const { id: key, label, fn } of [props.ingest, props.route, ...props.deliveries]) {
      this.alarmAboveZero(
        `${key}Errors`,
        fn.metricErrors({ period: PERIOD, statistic: "Sum" }),
        `The ${label} function failed.`,
      );
      this.alarmAboveZero(
        `${key}Throttles`,
        fn.metricThrottles({ period: PERIOD, statistic: "Sum" }),
        `The ${label} function was throttled.`,
      );
    }
    this.alarmAboveZero(
      "ApiServerErrors",
      props.api.metricServerError({ period: PERIOD, statistic: "Sum" }),
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
      graph("Route", invocationsAndErrors(props.route)),
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
  }

  /** The console address of the dashboard, for the stack outputs. */
  get dashboardUrl(): string {
    return `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }

  private alarmAboveZero(id: string, metric: IMetric, description: string): void {
    const alarm = new Alarm(this, id, {
      metric,
      alarmDescription: description,
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No datapoint means nothing happened: not an alarm.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    if (this.alarmTopic !== undefined) alarm.addAlarmAction(new SnsAction(this.alarmTopic));
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
