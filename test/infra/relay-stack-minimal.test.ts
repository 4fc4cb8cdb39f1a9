import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { loadRelaySettings, type RelaySettings } from "../../lib/settings.js";
import {
  environmentOf,
  resourcesOfType,
  type Synthesized,
  statementsAllowing,
  synthesizeRelay,
} from "./synth.js";

const IMPORTED_KEYS_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sqreen-signing-keys-AbCdEf";
const ALARM_TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:ops-alarms";

describe("the relay stack with only the log backend, an imported signing-keys secret and an alarm topic", () => {
  let settings: RelaySettings;
  let synth: Synthesized;

  beforeAll(() => {
    settings = loadRelaySettings("test/infra/fixtures/only-log-with-imports.relay.json").settings;
    synth = synthesizeRelay(settings);
  });

  it("has no function, subscription or secret for a disabled backend", () => {
    const serviceNames = Object.values(resourcesOfType(synth.template, "AWS::Lambda::Function")).map(
      (fn) => environmentOf(fn).POWERTOOLS_SERVICE_NAME,
    );
    expect(serviceNames.sort()).toEqual(["deliver-log", "ingest", "route"]);
    const endpoints = Object.values(resourcesOfType(synth.template, "AWS::SNS::Subscription")).map(
      (subscription) => subscription.Properties.Endpoint,
    );
    expect(endpoints).toEqual([
      { "Fn::GetAtt": [synth.logicalId(synth.stack.backends[0]?.handler.function ?? synth.stack), "Arn"] },
    ]);
    expect(synth.stack.backends.map((delivery) => delivery.backend)).toEqual(["log"]);
    expect(synth.template.findResources("AWS::SecretsManager::Secret")).toEqual({});
  });

  it("subscribes the log function without a filter policy, since its filter lets everything through", () => {
    synth.template.hasResourceProperties("AWS::SNS::Subscription", { FilterPolicy: Match.absent() });
  });

  it("uses the imported signing-keys secret by ARN and lets ingest read only that one", () => {
    const ingest = synth.stack.ingest;
    const reads = statementsAllowing(
      synth.template,
      synth.logicalId(ingest.role),
      "secretsmanager:GetSecretValue",
    );
    expect(reads.map((statement) => statement.Resource)).toEqual([IMPORTED_KEYS_ARN]);
    synth.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: { [ENV.signingKeysSecretId]: IMPORTED_KEYS_ARN } },
    });
    synth.template.hasOutput("SigningKeysSecretArn", { Value: IMPORTED_KEYS_ARN });
  });

  it("throttles the API with the configured limits", () => {
    synth.template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 11 },
    });
  });

  it("rounds the log retention up to the next period CloudWatch accepts", () => {
    const retentions = Object.values(resourcesOfType(synth.template, "AWS::Logs::LogGroup")).map(
      (group) => group.Properties.RetentionInDays,
    );
    expect(new Set(retentions)).toEqual(new Set([60]));
  });

  it("sends every alarm to the configured topic, and creates no alarm topic or key of its own", () => {
    const alarms = Object.values(resourcesOfType(synth.template, "AWS::CloudWatch::Alarm"));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([ALARM_TOPIC_ARN]);
    expect(Object.keys(resourcesOfType(synth.template, "AWS::SNS::Topic"))).toEqual([
      synth.logicalId(synth.stack.alertsTopic),
    ]);
    expect(Object.keys(resourcesOfType(synth.template, "AWS::KMS::Key"))).toHaveLength(1);
  });

  it("outputs the configured topic, with the command that subscribes on-call to it in its region", () => {
    synth.template.hasOutput("AlarmTopicArn", { Value: ALARM_TOPIC_ARN });
    synth.template.hasOutput("AlarmTopicSubscribeCommand", {
      Value:
        `aws sns subscribe --region eu-west-1 --topic-arn ${ALARM_TOPIC_ARN} ` +
        "--protocol email --notification-endpoint <on-call e-mail address>",
    });
  });

  it("outputs the dead-letter queues of the enabled backend only", () => {
    const outputs = Object.keys(synth.template.toJSON().Outputs as Record<string, unknown>);
    expect(outputs.filter((name) => name.endsWith("DeadLetterQueueName")).sort()).toEqual([
      "IngestDeadLetterQueueName",
      "LogDeliveryDeadLetterQueueName",
      "LogSubscriptionDeadLetterQueueName",
    ]);
    expect(outputs.filter((name) => name.endsWith("SecretArn"))).toEqual(["SigningKeysSecretArn"]);
  });
});
