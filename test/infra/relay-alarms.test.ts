/**
 * Every alarm of the stack, each with the condition that raises it: the metric, the threshold, and
 * the event that produces a datapoint over it. An alarm not in this list fails the last test, so
 * no alarm can be added without saying what makes it fire.
 */
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import { HUMAN_BACKENDS, MAX_QUEUE_DELAY_SECONDS } from "../../lambdas/digest/seams.js";
import { LEDGER_WRITE_FAILED } from "../../lambdas/ledger/ledger.js";
import { type DeliveryBackend, DIGEST_MAX_RECEIVE_COUNT } from "../../lib/constructs/delivery-backend.js";
import { INGEST_VISIBILITY_TIMEOUT } from "../../lib/relay-stack.js";
import { loadRelaySettings } from "../../lib/settings.js";
import { resourcesOfType, type Synthesized, synthesizeRelay } from "./synth.js";

let synth: Synthesized;

beforeAll(() => {
  synth = synthesizeRelay(loadRelaySettings("relay.config.example.json").settings);
});

const backend = (name: Backend): DeliveryBackend => {
  const found = synth.stack.backends.find((candidate) => candidate.backend === name);
  if (found === undefined) throw new Error(`backend ${name} is not in the stack`);
  return found;
};

interface ExpectedAlarm {
  /** The event that produces a datapoint over the threshold. */
  readonly raisedBy: string;
  readonly namespace: string;
  readonly metric: string;
  readonly dimensions: () => { Name: string; Value: unknown }[];
  readonly statistic: "Sum" | "Maximum";
  readonly periodSeconds: number;
  /** The alarm fires when the statistic is greater than this. */
  readonly threshold: () => number;
}

const queueName = (queue: () => unknown) => () => [
  { Name: "QueueName", Value: { "Fn::GetAtt": [synth.logicalId(queue() as never), "QueueName"] } },
];
const functionName = (fn: () => unknown) => () => [
  { Name: "FunctionName", Value: { Ref: synth.logicalId(fn() as never) } },
];

const deadLetterAlarm = (raisedBy: string, queue: () => unknown): ExpectedAlarm => ({
  raisedBy,
  namespace: "AWS/SQS",
  metric: "ApproximateNumberOfMessagesVisible",
  dimensions: queueName(queue),
  statistic: "Maximum",
  periodSeconds: 60,
  threshold: () => 0,
});

const functionAlarm = (
  metric: "Errors" | "Throttles",
  raisedBy: string,
  fn: () => unknown,
): ExpectedAlarm => ({
  raisedBy,
  namespace: "AWS/Lambda",
  metric,
  dimensions: functionName(fn),
  statistic: "Sum",
  periodSeconds: 300,
  threshold: () => 0,
});

/** A function's timeout in seconds, as the template sets it. */
const functionTimeout = (fn: unknown): number =>
  Number(
    resourcesOfType(synth.template, "AWS::Lambda::Function")[synth.logicalId(fn as never)]?.Properties
      .Timeout,
  );

const THROTTLED = "the account's unreserved concurrency is used up when Lambda invokes it";

const EXPECTED_ALARMS: Record<string, ExpectedAlarm> = {
  "route failed records": {
    raisedBy:
      "route logs one `outcome: failed` line per record it hands back to the queue (unroutable, or " +
      "refused by the topic); the metric filter counts them",
    namespace: "SqreenRelay",
    metric: "RouteFailedRecords",
    dimensions: () => [],
    statistic: "Sum",
    periodSeconds: 60,
    threshold: () => 0,
  },
  "age of the oldest ingest message": {
    raisedBy:
      "a notification is still queued one visibility timeout after it arrived: a receive failed or " +
      "route is not consuming (disabled, failing at start, throttled)",
    namespace: "AWS/SQS",
    metric: "ApproximateAgeOfOldestMessage",
    dimensions: queueName(() => synth.stack.ingestQueue),
    statistic: "Maximum",
    periodSeconds: 60,
    threshold: () => INGEST_VISIBILITY_TIMEOUT.toSeconds(),
  },
  "ingest dead letters": deadLetterAlarm(
    "a notification route failed on five receives is moved to the ingest dead-letter queue",
    () => synth.stack.ingestDeadLetterQueue,
  ),
  ...Object.fromEntries(
    BACKENDS.flatMap((name) => [
      [
        `${name} delivery dead letters`,
        deadLetterAlarm(
          `deliver-${name} failed an alert on all 3 invocations: Lambda sends the record to its on-failure queue`,
          () => backend(name).deliveryDeadLetterQueue,
        ),
      ],
      [
        `${name} subscription dead letters`,
        deadLetterAlarm(
          `SNS could not invoke deliver-${name} at all (permission, function deleted): SNS redrives the alert here`,
          () => backend(name).subscriptionDeadLetterQueue,
        ),
      ],
      [
        `deliver-${name} errors`,
        functionAlarm(
          "Errors",
          `a delivery fails and the function throws so that Lambda retries it (also a timeout or a crash)`,
          () => backend(name).handler.function,
        ),
      ],
      [
        `deliver-${name} throttles`,
        functionAlarm("Throttles", THROTTLED, () => backend(name).handler.function),
      ],
      [
        `deliver-${name} ledger write failures`,
        {
          raisedBy: `deliver-${name} logs "${LEDGER_WRITE_FAILED}" (the ledger refused or was unreachable; the delivery went on); the metric filter counts the lines per backend`,
          namespace: "SqreenRelay",
          metric: "LedgerWriteFailures",
          dimensions: () => [{ Name: "backend", Value: name }],
          statistic: "Sum",
          periodSeconds: 300,
          threshold: () => 0,
        } satisfies ExpectedAlarm,
      ],
    ]),
  ),
  ...Object.fromEntries(
    HUMAN_BACKENDS.flatMap((name) => [
      [
        `${name} digest dead letters`,
        deadLetterAlarm(
          `deliver-${name} failed a digest close or a delivery that waited on ${DIGEST_MAX_RECEIVE_COUNT} receives: SQS moves it here`,
          () => backend(name).digestDeadLetterQueue,
        ),
      ],
      [
        `age of the oldest ${name} digest message`,
        {
          raisedBy:
            "a message is still on the digest queue its longest delay (15 minutes) plus one visibility " +
            "timeout after it was sent: a receive failed or the function is not consuming the queue",
          namespace: "AWS/SQS",
          metric: "ApproximateAgeOfOldestMessage",
          dimensions: queueName(() => backend(name).digestQueue),
          statistic: "Maximum",
          periodSeconds: 60,
          // The longest delay plus the queue's visibility timeout, six times the function's.
          threshold: () => MAX_QUEUE_DELAY_SECONDS + 6 * functionTimeout(backend(name).handler.function),
        } satisfies ExpectedAlarm,
      ],
    ]),
  ),
  "ingest errors": functionAlarm(
    "Errors",
    "ingest times out, runs out of memory or fails at start; failures it handles answer 5xx instead",
    () => synth.stack.ingest.function,
  ),
  "ingest throttles": functionAlarm("Throttles", THROTTLED, () => synth.stack.ingest.function),
  "route errors": functionAlarm(
    "Errors",
    "route times out, runs out of memory or fails at start; a failed record is no error (partial batch response)",
    () => synth.stack.route.function,
  ),
  "route throttles": functionAlarm("Throttles", THROTTLED, () => synth.stack.route.function),
  "API 5xx answers": {
    raisedBy:
      "the webhook answers 5xx: ingest's 503 (queue or key store unavailable, signing keys not filled in) " +
      "or 500, or API Gateway's own when it cannot invoke ingest",
    namespace: "AWS/ApiGateway",
    metric: "5xx",
    dimensions: () => [{ Name: "ApiId", Value: { Ref: synth.logicalId(synth.stack.api) } }],
    statistic: "Sum",
    periodSeconds: 300,
    threshold: () => 0,
  },
};

interface TemplateAlarm {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: unknown[];
  Statistic?: string;
  Period?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  EvaluationPeriods?: number;
  TreatMissingData?: string;
  AlarmActions?: unknown[];
  AlarmDescription?: string;
}

function alarmsOf(expected: ExpectedAlarm): [string, TemplateAlarm][] {
  const dimensions = JSON.stringify(expected.dimensions());
  return Object.entries(resourcesOfType(synth.template, "AWS::CloudWatch::Alarm"))
    .map(([id, alarm]): [string, TemplateAlarm] => [id, alarm.Properties as TemplateAlarm])
    .filter(
      ([, alarm]) =>
        alarm.Namespace === expected.namespace &&
        alarm.MetricName === expected.metric &&
        JSON.stringify(alarm.Dimensions ?? []) === dimensions,
    );
}

/** The metric-math alarm of a backend invoked without delivering anything. */
function nothingDeliveredAlarmsOf(name: Backend): [string, TemplateAlarm & { Metrics?: unknown }][] {
  return Object.entries(resourcesOfType(synth.template, "AWS::CloudWatch::Alarm"))
    .map(([id, alarm]): [string, TemplateAlarm & { Metrics?: unknown }] => [
      id,
      alarm.Properties as TemplateAlarm,
    ])
    .filter(([, alarm]) =>
      JSON.stringify(alarm.Metrics ?? []).includes(`"Label":"${name} invoked, nothing delivered"`),
    );
}

describe("the alarms of the relay synthesized from relay.config.example.json", () => {
  it.each(
    Object.entries(EXPECTED_ALARMS).map(([name, expected]) => [name, expected.raisedBy, expected] as const),
  )("raises '%s' when %s", (_name, _raisedBy, expected) => {
    const [match, ...others] = alarmsOf(expected);
    expect(others).toEqual([]);
    const [, alarm] = match ?? [];
    expect(alarm).toMatchObject({
      Statistic: expected.statistic,
      Period: expected.periodSeconds,
      Threshold: expected.threshold(),
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 1,
      // No datapoint means nothing happened: not an alarm.
      TreatMissingData: "notBreaching",
    });
    expect(alarm?.AlarmDescription?.length ?? 0).toBeGreaterThan(20);
  });

  it.each(BACKENDS)(
    "raises '%s delivers nothing' when the function was invoked in 15 minutes and the ledger's Delivered and Skipped metrics stayed at 0",
    (name) => {
      const [match, ...others] = nothingDeliveredAlarmsOf(name);
      expect(others).toEqual([]);
      const [, alarm] = match ?? [];
      expect(alarm).toMatchObject({
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
      });
      const metrics = JSON.stringify(alarm?.Metrics);
      expect(metrics).toContain("IF(invocations > 0 AND FILL(delivered, 0) + FILL(skipped, 0) == 0, 1, 0)");
      for (const metric of ["Delivered", "Skipped"]) {
        expect(metrics).toContain(
          JSON.stringify({
            Metric: {
              Dimensions: [
                { Name: "backend", Value: name },
                { Name: "service", Value: "sqreen-relay" },
              ],
              MetricName: metric,
              Namespace: "SqreenRelay",
            },
            Period: 900,
            Stat: "Sum",
          }),
        );
      }
    },
  );

  it("has no alarm besides those above", () => {
    const named = new Set([
      ...Object.values(EXPECTED_ALARMS).flatMap((expected) => alarmsOf(expected).map(([id]) => id)),
      ...BACKENDS.flatMap((name) => nothingDeliveredAlarmsOf(name).map(([id]) => id)),
    ]);
    const all = Object.keys(resourcesOfType(synth.template, "AWS::CloudWatch::Alarm"));

    expect(all.filter((id) => !named.has(id))).toEqual([]);
    expect(all).toHaveLength(Object.keys(EXPECTED_ALARMS).length + BACKENDS.length);
  });

  it("counts route's failed records from its own log group, one per `outcome: failed` line", () => {
    synth.template.hasResourceProperties("AWS::Logs::MetricFilter", {
      LogGroupName: { Ref: synth.logicalId(synth.stack.route.logGroup) },
      FilterPattern: '{ $.outcome = "failed" }',
      MetricTransformations: [
        { MetricNamespace: "SqreenRelay", MetricName: "RouteFailedRecords", MetricValue: "1" },
      ],
    });
  });

  it("alarms on the ingest queue's oldest message before route's failures reach the dead-letter queue", () => {
    // SQS stops counting a message in ApproximateAgeOfOldestMessage once it was received three
    // times: the threshold must be crossed while a failing message has had fewer receives.
    const [[, alarm] = []] = alarmsOf(EXPECTED_ALARMS["age of the oldest ingest message"] as ExpectedAlarm);
    expect(alarm?.Threshold).toBeLessThan(2 * INGEST_VISIBILITY_TIMEOUT.toSeconds());
  });
});

describe("the alarm topic created when the settings name none", () => {
  it("receives every alarm", () => {
    const topicId = synth.logicalId(synth.stack.monitoring.alarmTopic);
    const alarms = Object.values(resourcesOfType(synth.template, "AWS::CloudWatch::Alarm"));

    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it("is encrypted with a rotating key CloudWatch may use to publish to it", () => {
    const keyId = synth.logicalId(synth.stack.monitoring.alarmTopicKey ?? synth.stack);
    const alarmTopic = resourcesOfType(synth.template, "AWS::SNS::Topic")[
      synth.logicalId(synth.stack.monitoring.alarmTopic)
    ];

    expect(alarmTopic?.Properties.KmsMasterKeyId).toEqual({ "Fn::GetAtt": [keyId, "Arn"] });
    const key = resourcesOfType(synth.template, "AWS::KMS::Key")[keyId];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect((key?.Properties.KeyPolicy as { Statement: unknown[] } | undefined)?.Statement).toContainEqual(
      expect.objectContaining({
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      }),
    );
  });

  it("lets CloudWatch alarms of this account and region publish, over TLS only", () => {
    const topicRef = { Ref: synth.logicalId(synth.stack.monitoring.alarmTopic) };
    synth.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [topicRef],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: topicRef,
            Condition: {
              ArnLike: {
                "aws:SourceArn": {
                  "Fn::Join": [
                    "",
                    [
                      "arn:",
                      { Ref: "AWS::Partition" },
                      ":cloudwatch:",
                      { Ref: "AWS::Region" },
                      ":",
                      { Ref: "AWS::AccountId" },
                      ":alarm:*",
                    ],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  it("is named in the outputs, with the command that subscribes on-call to it", () => {
    const topicRef = { Ref: synth.logicalId(synth.stack.monitoring.alarmTopic) };
    synth.template.hasOutput("AlarmTopicArn", { Value: topicRef });
    const command = synth.template.findOutputs("AlarmTopicSubscribeCommand").AlarmTopicSubscribeCommand as {
      Value: { "Fn::Join": [string, unknown[]] };
    };
    const text = command.Value["Fn::Join"][1]
      .map((part) => (typeof part === "string" ? part : JSON.stringify(part)))
      .join("");

    expect(text).toBe(
      `aws sns subscribe --region {"Ref":"AWS::Region"} --topic-arn ${JSON.stringify(topicRef)} ` +
        "--protocol email --notification-endpoint <on-call e-mail address>",
    );
  });

  it("is the only topic besides the alerts topic", () => {
    const topics = Object.keys(resourcesOfType(synth.template, "AWS::SNS::Topic")).sort();
    expect(topics).toEqual(
      [synth.logicalId(synth.stack.alertsTopic), synth.logicalId(synth.stack.monitoring.alarmTopic)].sort(),
    );
    // The route's failed records, and each backend's failed ledger writes.
    expect(Object.keys(resourcesOfType(synth.template, "AWS::Logs::MetricFilter"))).toHaveLength(
      1 + BACKENDS.length,
    );
  });
});
