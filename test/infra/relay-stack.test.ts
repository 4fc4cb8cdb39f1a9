import { Validations } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { AwsSolutionsChecks } from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import { ENV } from "../../lambdas/contracts/environment-names.js";
import { BACKENDS, type Backend, GUARDED_BACKENDS } from "../../lambdas/contracts/messages.js";
import type { DeliveryBackend } from "../../lib/constructs/delivery-backend.js";
import type { RelayFunction } from "../../lib/constructs/relay-function.js";
import { filterPolicyFor } from "../../lib/routing.js";
import { loadRelaySettings, type RelaySettings } from "../../lib/settings.js";
import {
  actionsOf,
  arnMatches,
  environmentOf,
  onlyResourceOfType,
  resolvePseudo,
  resourcesOfType,
  roleAllows,
  type Synthesized,
  statementsAllowing,
  statementsOfRole,
  synthesizeRelay,
  TEST_DEPLOYMENT,
  type TemplateResource,
  type TemplateStatement,
} from "./synth.js";

describe("the relay stack synthesized from relay.config.example.json (every backend enabled)", () => {
  let settings: RelaySettings;
  let synth: Synthesized;
  let functions: Record<string, TemplateResource>;

  const backend = (name: Backend): DeliveryBackend => {
    const found = synth.stack.backends.find((candidate) => candidate.backend === name);
    if (found === undefined) throw new Error(`backend ${name} is not in the stack`);
    return found;
  };
  const roleOf = (fn: RelayFunction): string => synth.logicalId(fn.role);
  const every = (): { name: string; fn: RelayFunction }[] => [
    { name: "ingest", fn: synth.stack.ingest },
    { name: "route", fn: synth.stack.route },
    ...BACKENDS.map((name) => ({ name: `deliver-${name}`, fn: backend(name).handler })),
  ];

  beforeAll(() => {
    settings = loadRelaySettings("relay.config.example.json").settings;
    synth = synthesizeRelay(settings);
    functions = resourcesOfType(synth.template, "AWS::Lambda::Function");
  });

  it("enables every backend in the example configuration, sending e-mail from alerts@example.com", () => {
    expect(BACKENDS.filter((name) => !settings.backends[name].enabled)).toEqual([]);
    expect(settings.backends.email.from).toBe("alerts@example.com");
  });

  describe("the webhook API", () => {
    // API Gateway answers a request no route matches with its own `{"message":"Not Found"}`: every
    // request must reach ingest, which answers the README's 404 / 405 (`Allow: POST`) itself.
    it("routes every method of /v1/webhook, and every other request, to the ingest function", () => {
      const routes = Object.values(resourcesOfType(synth.template, "AWS::ApiGatewayV2::Route"));
      const integrations = resourcesOfType(synth.template, "AWS::ApiGatewayV2::Integration");
      const ingestArn = { "Fn::GetAtt": [synth.logicalId(synth.stack.ingest.function), "Arn"] };

      expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual([
        "$default",
        "ANY /v1/webhook",
      ]);
      for (const route of routes) {
        const target = JSON.stringify(route.Properties.Target);
        const [, integration] = Object.entries(integrations).find(([id]) => target.includes(`"${id}"`)) ?? [];
        expect(integration?.Properties.IntegrationUri, String(route.Properties.RouteKey)).toEqual(ingestArn);
      }
    });

    it.each([
      ["POST /v1/webhook", "POST/v1/webhook"],
      ["GET /v1/webhook", "GET/v1/webhook"],
      ["the catch-all route", "$default"],
    ])("lets API Gateway invoke the ingest function for %s", (_route, routePart) => {
      const apiId = "a1b2c3d4e5";
      const sourceArn = `arn:aws:execute-api:${TEST_DEPLOYMENT.region}:${TEST_DEPLOYMENT.accountId}:${apiId}/$default/${routePart}`;
      const patterns = Object.values(resourcesOfType(synth.template, "AWS::Lambda::Permission"))
        .filter(
          (permission) =>
            permission.Properties.Principal === "apigateway.amazonaws.com" &&
            JSON.stringify(permission.Properties.FunctionName).includes(
              synth.logicalId(synth.stack.ingest.function),
            ),
        )
        .map((permission) =>
          resolvePseudo(permission.Properties.SourceArn, { [synth.logicalId(synth.stack.api)]: apiId }),
        );

      expect(patterns.some((pattern) => arnMatches(pattern, sourceArn))).toBe(true);
    });

    it("throttles the stage with the configured rate and burst", () => {
      synth.template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
        StageName: "$default",
        DefaultRouteSettings: {
          ThrottlingRateLimit: settings.api.throttlingRateLimit,
          ThrottlingBurstLimit: settings.api.throttlingBurstLimit,
        },
      });
    });

    it("writes JSON access logs with request id, status, latency and ip, and never the body or headers", () => {
      const stage = onlyResourceOfType(synth.template, "AWS::ApiGatewayV2::Stage");
      const format = (stage.Properties.AccessLogSettings as { Format: string }).Format;
      const fields = JSON.parse(format) as Record<string, string>;
      expect(fields).toMatchObject({
        requestId: "$context.requestId",
        status: "$context.status",
        latency: "$context.responseLatency",
        ip: "$context.identity.sourceIp",
      });
      expect(format).not.toMatch(/body|header/i);
    });
  });

  describe("the ingest queue", () => {
    it("sends a message to its dead-letter queue after five failed receives", () => {
      const queue = resourcesOfType(synth.template, "AWS::SQS::Queue")[
        synth.logicalId(synth.stack.ingestQueue)
      ];
      expect(queue?.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { "Fn::GetAtt": [synth.logicalId(synth.stack.ingestDeadLetterQueue), "Arn"] },
        maxReceiveCount: 5,
      });
    });

    it("keeps a message invisible at least six times the route function's timeout", () => {
      const queue = resourcesOfType(synth.template, "AWS::SQS::Queue")[
        synth.logicalId(synth.stack.ingestQueue)
      ];
      const route = functions[synth.logicalId(synth.stack.route.function)];
      const visibility = queue?.Properties.VisibilityTimeout as number;
      const routeTimeout = route?.Properties.Timeout as number;
      expect(visibility).toBeGreaterThanOrEqual(6 * routeTimeout);
    });

    it("feeds the route function in small batches that report partial failures", () => {
      synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: { "Fn::GetAtt": [synth.logicalId(synth.stack.ingestQueue), "Arn"] },
        FunctionName: { Ref: synth.logicalId(synth.stack.route.function) },
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        BatchSize: Match.anyValue(),
        MaximumBatchingWindowInSeconds: Match.anyValue(),
      });
      const ingestQueueArn = { "Fn::GetAtt": [synth.logicalId(synth.stack.ingestQueue), "Arn"] };
      const mapping = Object.values(resourcesOfType(synth.template, "AWS::Lambda::EventSourceMapping")).find(
        (candidate) => JSON.stringify(candidate.Properties.EventSourceArn) === JSON.stringify(ingestQueueArn),
      ) as TemplateResource;
      expect(mapping.Properties.BatchSize).toBeGreaterThanOrEqual(10);
      expect(mapping.Properties.BatchSize).toBeLessThanOrEqual(50);
      expect(mapping.Properties.MaximumBatchingWindowInSeconds).toBeLessThanOrEqual(5);
    });

    it("is encrypted and refuses requests without TLS, like every queue of the relay", () => {
      for (const [id, queue] of Object.entries(resourcesOfType(synth.template, "AWS::SQS::Queue"))) {
        expect(queue.Properties.SqsManagedSseEnabled ?? queue.Properties.KmsMasterKeyId, id).toBeTruthy();
        synth.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
            ]),
          },
        });
      }
    });
  });

  describe("the alerts topic", () => {
    it("is encrypted with a rotating customer key that SNS may use for this account only", () => {
      const keyId = synth.logicalId(synth.stack.alertsTopic.masterKey ?? synth.stack.alertsTopic);
      synth.template.hasResourceProperties("AWS::SNS::Topic", {
        KmsMasterKeyId: { "Fn::GetAtt": [keyId, "Arn"] },
      });
      synth.template.hasResourceProperties("AWS::KMS::Key", {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: "sns.amazonaws.com" },
              Condition: Match.objectLike({
                StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
              }),
            }),
          ]),
        },
      });
    });

    it.each(BACKENDS)("subscribes the %s function with exactly the policy filterPolicyFor builds", (name) => {
      const delivery = backend(name);
      const expected = filterPolicyFor(settings.backends[name].filter);
      synth.template.hasResourceProperties("AWS::SNS::Subscription", {
        Protocol: "lambda",
        TopicArn: { Ref: synth.logicalId(synth.stack.alertsTopic) },
        Endpoint: { "Fn::GetAtt": [synth.logicalId(delivery.handler.function), "Arn"] },
        // An empty policy matches everything and is left out, as SNS would reject an empty `$or`.
        FilterPolicy: Object.keys(expected).length === 0 ? Match.absent() : Match.exact(expected),
      });
    });

    it("lets internal alerts and test notifications through every filtering subscription", () => {
      const policies = Object.values(resourcesOfType(synth.template, "AWS::SNS::Subscription"))
        .map((subscription) => subscription.Properties.FilterPolicy)
        .filter((policy) => policy !== undefined);
      expect(policies.length).toBeGreaterThan(0);
      for (const policy of policies) {
        expect(policy).toEqual({ $or: expect.arrayContaining([{ internal: ["true"] }, { kind: ["test"] }]) });
      }
    });

    it.each(BACKENDS)(
      "redrives what SNS cannot hand to the %s function into that backend's own queue",
      (name) => {
        const delivery = backend(name);
        const queueId = synth.logicalId(delivery.subscriptionDeadLetterQueue);
        synth.template.hasResourceProperties("AWS::SNS::Subscription", {
          Endpoint: { "Fn::GetAtt": [synth.logicalId(delivery.handler.function), "Arn"] },
          RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [queueId, "Arn"] } },
        });
        synth.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
          Queues: [{ Ref: queueId }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: "Allow",
                Action: "sqs:SendMessage",
                Principal: { Service: "sns.amazonaws.com" },
                Condition: {
                  ArnEquals: { "aws:SourceArn": { Ref: synth.logicalId(synth.stack.alertsTopic) } },
                },
              }),
            ]),
          },
        });
      },
    );
  });

  describe("each delivery function", () => {
    it.each(BACKENDS)("sends what deliver-%s fails after 2 retries to its own dead-letter queue", (name) => {
      const delivery = backend(name);
      synth.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
        FunctionName: { Ref: synth.logicalId(delivery.handler.function) },
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: Match.anyValue(),
        DestinationConfig: {
          OnFailure: {
            Destination: { "Fn::GetAtt": [synth.logicalId(delivery.deliveryDeadLetterQueue), "Arn"] },
          },
        },
      });
    });

    it("gives deliver-log no access to the idempotency table, which it never writes (GUARDED_BACKENDS)", () => {
      const idempotencyTable = synth.logicalId(synth.stack.idempotencyTable);
      const dynamo = statementsOfRole(synth.template, roleOf(backend("log").handler)).filter(
        (statement) =>
          actionsOf(statement).some((action) => action.startsWith("dynamodb:")) &&
          JSON.stringify(statement.Resource).includes(idempotencyTable),
      );
      expect(dynamo).toEqual([]);
      const environment = functions[synth.logicalId(backend("log").handler.function)]?.Properties
        .Environment as { Variables: Record<string, unknown> } | undefined;
      expect(environment?.Variables).toBeDefined();
      expect(environment?.Variables).not.toHaveProperty(ENV.idempotencyTableName);
    });

    it.each(GUARDED_BACKENDS)(
      "lets deliver-%s use single items of the idempotency table and nothing more",
      (name) => {
        const tableArn = { "Fn::GetAtt": [synth.logicalId(synth.stack.idempotencyTable), "Arn"] };
        // The digest table's own grant is test/infra/relay-digests.test.ts's; the ledger's is below.
        const dynamo = statementsOfRole(synth.template, roleOf(backend(name).handler)).filter(
          (statement) =>
            actionsOf(statement).some((action) => action.startsWith("dynamodb:")) &&
            JSON.stringify(statement.Resource) === JSON.stringify(tableArn),
        );
        expect(dynamo).toEqual([
          {
            Effect: "Allow",
            Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            Resource: tableArn,
          },
        ]);
        expect(
          functions[synth.logicalId(backend(name).handler.function)]?.Properties.Environment,
        ).toMatchObject({
          Variables: { [ENV.idempotencyTableName]: { Ref: synth.logicalId(synth.stack.idempotencyTable) } },
        });
      },
    );
  });

  describe("the delivery ledger", () => {
    it.each(BACKENDS)(
      "lets deliver-%s write and count only its own backend's entries, and read nothing else",
      (name) => {
        const ledgerArn = { "Fn::GetAtt": [synth.logicalId(synth.stack.ledgerTable), "Arn"] };
        const statements = statementsOfRole(synth.template, roleOf(backend(name).handler));
        const onLedger = statements.filter((statement) =>
          JSON.stringify(statement).includes(synth.logicalId(synth.stack.ledgerTable)),
        );
        expect(onLedger).toEqual([
          {
            Effect: "Allow",
            Action: ["dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:Query"],
            Resource: ledgerArn,
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${name}#*`] } },
          },
        ]);
        expect(
          functions[synth.logicalId(backend(name).handler.function)]?.Properties.Environment,
        ).toMatchObject({
          Variables: { [ENV.ledgerTableName]: { Ref: synth.logicalId(synth.stack.ledgerTable) } },
        });
      },
    );

    it("is an on-demand table keyed by backend and alert, with one index by day, TTL, encryption and point-in-time recovery", () => {
      synth.template.hasResource("AWS::DynamoDB::Table", {
        DeletionPolicy: "Retain",
        Properties: Match.objectLike({
          KeySchema: [
            { AttributeName: "pk", KeyType: "HASH" },
            { AttributeName: "sk", KeyType: "RANGE" },
          ],
          BillingMode: "PAY_PER_REQUEST",
          TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          SSESpecification: { SSEEnabled: true },
          GlobalSecondaryIndexes: [
            Match.objectLike({
              IndexName: "byDay",
              KeySchema: [
                { AttributeName: "day", KeyType: "HASH" },
                { AttributeName: "recordedAt", KeyType: "RANGE" },
              ],
              Projection: { ProjectionType: "ALL" },
            }),
          ],
        }),
      });
    });

    it("names its table in a stack output, for the operator CLI", () => {
      synth.template.hasOutput("LedgerTableName", {
        Value: { Ref: synth.logicalId(synth.stack.ledgerTable) },
      });
    });
  });

  it("keeps idempotency records in an on-demand table keyed by id, with TTL, encryption and point-in-time recovery", () => {
    synth.template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      Properties: {
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
        TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
      },
    });
  });

  describe("least privilege", () => {
    it("lets only the ingest function send to the ingest queue, and it sends nowhere else", () => {
      const queueArn = { "Fn::GetAtt": [synth.logicalId(synth.stack.ingestQueue), "Arn"] };
      const ingestSends = statementsAllowing(synth.template, roleOf(synth.stack.ingest), "sqs:SendMessage");
      expect(ingestSends.map((statement) => statement.Resource)).toEqual([queueArn]);
      for (const { name, fn } of every().filter((entry) => entry.name !== "ingest")) {
        const sends = statementsAllowing(synth.template, roleOf(fn), "sqs:SendMessage");
        expect(
          sends.map((statement) => statement.Resource),
          name,
        ).not.toContainEqual(queueArn);
      }
    });

    it("lets the route function publish to the alerts topic only", () => {
      const publishes = statementsAllowing(synth.template, roleOf(synth.stack.route), "sns:Publish");
      expect(publishes).toEqual([
        {
          Effect: "Allow",
          Action: "sns:Publish",
          Resource: { Ref: synth.logicalId(synth.stack.alertsTopic) },
        },
      ]);
    });

    it("lets the SMS function publish to anything but a topic, and no other function publish at all", () => {
      const sms = statementsAllowing(synth.template, roleOf(backend("sms").handler), "sns:Publish");
      expect(sms).toEqual([
        {
          Effect: "Allow",
          Action: "sns:Publish",
          NotResource: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":sns:*:*:*"]] },
        },
      ]);
      for (const { name, fn } of every().filter((entry) => !["route", "deliver-sms"].includes(entry.name))) {
        expect(statementsAllowing(synth.template, roleOf(fn), "sns:Publish"), name).toEqual([]);
      }
    });

    describe("sending e-mail through SES", () => {
      const identity = (name: string, region: string = TEST_DEPLOYMENT.region): string =>
        `arn:aws:ses:${region}:${TEST_DEPLOYMENT.accountId}:identity/${name}`;
      const asSender = { "ses:FromAddress": "alerts@example.com" };
      const emailRole = (): TemplateStatement[] =>
        statementsOfRole(synth.template, roleOf(backend("email").handler));

      it.each([
        [
          "the sender address, verified as the README's verify-email-identity step does",
          "alerts@example.com",
        ],
        ["the sender's domain, when the domain is verified instead", "example.com"],
        ["a recipient's address, which the SES sandbox also checks", "secops@example.com"],
      ])("is allowed when SES authorizes against %s", (_case, name) => {
        expect(roleAllows(emailRole(), "ses:SendEmail", identity(name), asSender)).toBe(true);
      });

      it("is allowed only with the configured sender as From", () => {
        const asOther = { "ses:FromAddress": "ceo@example.com" };

        expect(roleAllows(emailRole(), "ses:SendEmail", identity("example.com"), asOther)).toBe(false);
        expect(roleAllows(emailRole(), "ses:SendEmail", identity("example.com"), {})).toBe(false);
      });

      it("is allowed on the identities of the stack's own account and region only", () => {
        expect(roleAllows(emailRole(), "ses:SendEmail", identity("example.com", "us-east-1"), asSender)).toBe(
          false,
        );
        expect(
          roleAllows(
            emailRole(),
            "ses:SendEmail",
            "arn:aws:ses:eu-west-1:210987654321:identity/example.com",
            asSender,
          ),
        ).toBe(false);
      });

      it("grants SendEmail, the one SES call the function makes, and no other SES action", () => {
        const ses = emailRole().filter((statement) =>
          actionsOf(statement).some((action) => action.startsWith("ses:")),
        );
        expect(ses.flatMap(actionsOf)).toEqual(["ses:SendEmail"]);
      });

      it("is granted to no other function", () => {
        for (const { name, fn } of every().filter((entry) => entry.name !== "deliver-email")) {
          expect(statementsAllowing(synth.template, roleOf(fn), "ses:SendEmail"), name).toEqual([]);
        }
      });
    });

    it("lets each function read exactly its own secret, named in its environment", () => {
      const secretOf: Record<string, ISecret | undefined> = {
        ingest: synth.stack.signingKeysSecret,
        ...Object.fromEntries(BACKENDS.map((name) => [`deliver-${name}`, synth.stack.backendSecrets[name]])),
      };
      expect(secretOf["deliver-log"]).toBeUndefined();
      for (const { name, fn } of every()) {
        const reads = statementsAllowing(synth.template, roleOf(fn), "secretsmanager:GetSecretValue");
        const secret = secretOf[name];
        const variables = functions[synth.logicalId(fn.function)]?.Properties.Environment as {
          Variables: Record<string, unknown>;
        };
        if (secret === undefined) {
          expect(reads, name).toEqual([]);
          continue;
        }
        const secretRef = synth.stack.resolve(secret.secretArn);
        expect(
          reads.map((statement) => statement.Resource),
          name,
        ).toEqual([secretRef]);
        const envName = name === "ingest" ? ENV.signingKeysSecretId : ENV.backendSecretId;
        expect(variables.Variables[envName], name).toEqual(secretRef);
      }
    });

    it("creates each secret with a placeholder of the shape its function parses, and keeps it on stack deletion", () => {
      const secrets = Object.values(synth.template.findResources("AWS::SecretsManager::Secret")) as {
        DeletionPolicy?: string;
        Properties: { SecretString: string };
      }[];
      const placeholders = secrets.map((secret) => JSON.parse(secret.Properties.SecretString) as unknown);
      expect(placeholders).toEqual(
        expect.arrayContaining([
          { keys: [] },
          { to: [], adminTo: [] },
          { targets: [] },
          { phoneNumbers: [], adminPhoneNumbers: [] },
          { webhookUrl: "REPLACE_ME" },
        ]),
      );
      for (const secret of secrets) expect(secret.DeletionPolicy).toBe("Retain");
    });
  });

  describe("every function", () => {
    it("runs Node.js 22 or newer on ARM64, logging JSON without Lambda's INFO lines to its own log group", () => {
      expect(Object.keys(functions)).toHaveLength(every().length);
      for (const [id, fn] of Object.entries(functions)) {
        const runtime = fn.Properties.Runtime as string;
        expect(Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]), id).toBeGreaterThanOrEqual(22);
        expect(fn.Properties.Architectures, id).toEqual(["arm64"]);
        expect(fn.Properties.LoggingConfig, id).toEqual({
          LogGroup: { Ref: expect.any(String) },
          LogFormat: "JSON",
          SystemLogLevel: "WARN",
          ApplicationLogLevel: "INFO",
        });
      }
    });

    it("does not trace by default, and its role cannot send traces", () => {
      for (const { name, fn } of every()) {
        expect(functions[synth.logicalId(fn.function)]?.Properties.TracingConfig, name).toBeUndefined();
        const xray = statementsOfRole(synth.template, roleOf(fn)).filter((statement) =>
          actionsOf(statement).some((action) => action.startsWith("xray:")),
        );
        expect(xray, name).toEqual([]);
      }
    });

    it("keeps logs for the configured number of days", () => {
      for (const { name, fn } of every()) {
        const logGroup = resourcesOfType(synth.template, "AWS::Logs::LogGroup")[synth.logicalId(fn.logGroup)];
        expect(logGroup?.Properties.RetentionInDays, name).toBe(settings.logRetentionDays);
      }
    });

    it("names its Powertools service, log level and source maps in its environment", () => {
      for (const { name, fn } of every()) {
        expect(functions[synth.logicalId(fn.function)]?.Properties.Environment, name).toMatchObject({
          Variables: {
            POWERTOOLS_SERVICE_NAME: name,
            LOG_LEVEL: "INFO",
            NODE_OPTIONS: "--enable-source-maps",
          },
        });
      }
    });

    it("has no secret, URL, e-mail address or phone number in its environment", () => {
      for (const [id, fn] of Object.entries(functions)) {
        for (const [name, value] of Object.entries(environmentOf(fn))) {
          if (typeof value !== "string") {
            // A CloudFormation reference (Ref, GetAtt, Join): an identifier of a resource, not data.
            expect(Object.keys(value as object), `${id} ${name}`).toEqual([
              expect.stringMatching(/^(Ref|Fn::)/),
            ]);
            continue;
          }
          if (name === ENV.emailFrom) {
            // The verified SES sender identity: public, and the one address allowed here.
            expect(value).toBe(settings.backends.email.from);
            continue;
          }
          expect(value, `${id} ${name}`).toMatch(/^[\w.,:=-]*$/);
          expect(value, `${id} ${name}`).not.toMatch(/@|:\/\/|\+\d{6,}|REPLACE_ME/);
        }
      }
    });
  });

  describe("outputs", () => {
    it("give the webhook URL", () => {
      synth.template.hasOutput("WebhookUrl", {
        Value: {
          "Fn::Join": [
            "",
            Match.arrayWith(["https://", { Ref: synth.logicalId(synth.stack.api) }, "/v1/webhook"]),
          ],
        },
      });
    });

    it("give every secret ARN to fill in", () => {
      synth.template.hasOutput("SigningKeysSecretArn", {
        Value: synth.stack.resolve(synth.stack.signingKeysSecret.secretArn),
      });
      for (const name of ["Email", "Http", "Sms", "Slack"]) {
        synth.template.hasOutput(`${name}SecretArn`, {
          Value: { Ref: Match.stringLikeRegexp(`^${name}Secret`) },
        });
      }
    });

    it("give the name of every dead-letter queue", () => {
      synth.template.hasOutput("IngestDeadLetterQueueName", {
        Value: { "Fn::GetAtt": [synth.logicalId(synth.stack.ingestDeadLetterQueue), "QueueName"] },
      });
      for (const delivery of synth.stack.backends) {
        const name = `${delivery.backend.charAt(0).toUpperCase()}${delivery.backend.slice(1)}`;
        synth.template.hasOutput(`${name}DeliveryDeadLetterQueueName`, {
          Value: { "Fn::GetAtt": [synth.logicalId(delivery.deliveryDeadLetterQueue), "QueueName"] },
        });
        synth.template.hasOutput(`${name}SubscriptionDeadLetterQueueName`, {
          Value: { "Fn::GetAtt": [synth.logicalId(delivery.subscriptionDeadLetterQueue), "QueueName"] },
        });
      }
    });

    it("give a link to the dashboard", () => {
      synth.template.hasOutput("DashboardUrl", {
        Value: {
          "Fn::Join": [
            "",
            Match.arrayWith([
              Match.stringLikeRegexp("console\\.aws\\.amazon\\.com/cloudwatch"),
              { Ref: Match.anyValue() },
            ]),
          ],
        },
      });
    });
  });

  describe("cdk-nag AwsSolutions", () => {
    it("reports no unacknowledged finding", () => {
      const report = new AwsSolutionsChecks().validateScope(synth.stack);
      const findings = report.violations.map(
        (violation) =>
          `${violation.ruleName} at ${violation.violatingResources.map((resource) => resource.constructPath).join(", ")}`,
      );
      expect(findings).toEqual([]);
    });

    it("finds every acknowledgement carrying a specific reason", () => {
      const reasons: string[] = [];
      for (const construct of synth.stack.node.findAll()) {
        for (const entry of construct.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          reasons.push(...Object.values(entry.data as Record<string, string>));
        }
      }
      expect(reasons.length).toBeGreaterThan(0);
      for (const reason of reasons) expect(reason.length).toBeGreaterThan(40);
    });
  });
});

describe("the relay stack with tracing: active", () => {
  let synth: Synthesized;

  beforeAll(() => {
    const settings = loadRelaySettings("relay.config.example.json").settings;
    synth = synthesizeRelay({ ...settings, tracing: "active" });
  });

  it("traces every function actively, each role allowed to send segments and nothing more about X-Ray", () => {
    const fns = [
      synth.stack.ingest,
      synth.stack.route,
      ...synth.stack.backends.map((delivery) => delivery.handler),
    ];
    expect(fns).toHaveLength(2 + BACKENDS.length);
    for (const fn of fns) {
      const properties = resourcesOfType(synth.template, "AWS::Lambda::Function")[
        synth.logicalId(fn.function)
      ]?.Properties;
      expect(properties?.TracingConfig).toEqual({ Mode: "Active" });
      const xray = statementsOfRole(synth.template, synth.logicalId(fn.role))
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith("xray:")))
        .map((statement) => ({ actions: actionsOf(statement).sort(), resource: statement.Resource }));
      expect(xray).toEqual([
        { actions: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], resource: "*" },
      ]);
    }
  });

  it("reports no unacknowledged cdk-nag finding (the X-Ray wildcard is acknowledged with its reason)", () => {
    const report = new AwsSolutionsChecks().validateScope(synth.stack);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
  });
});
