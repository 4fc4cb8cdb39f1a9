/**
 * The one Lambda function construct of the relay: every function (ingest, route, each delivery
 * backend) is built here with the house defaults, and gets its configuration through typed helpers
 * that set an environment variable and the matching IAM grant together, so a function can never
 * be told about a resource it is not allowed to use (or the reverse).
 */
import path from "node:path";
import { CfnResource, type Duration, Lazy, RemovalPolicy, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import {
  type IGrantable,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import {
  ApplicationLogLevel,
  Architecture,
  type CfnFunction,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { ENV } from "../../lambdas/contracts/environment-names.js";
import type { Backend } from "../../lambdas/contracts/messages.js";
import { PROJECT_ROOT } from "../settings.js";

/** A function folder under `lambdas/`, each holding a `handler.ts` that exports `handler`. */
export type RelayFunctionName = "ingest" | "route" | `deliver-${Backend}`;

/** The environment variable names a function may be given: only those the runtime contract declares. */
export type EnvironmentName = (typeof ENV)[keyof typeof ENV];

/** What Powertools idempotency does to its table: single items only. */
export const SINGLE_ITEM_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
] as const;

/** Powertools log levels. */
export type RelayLogLevel = "DEBUG" | "INFO" | "WARN" | "ERROR";

/**
 * Lambda runtime of every function. The newest Node.js line CDK knows: cdk-nag's AwsSolutions-L1
 * insists on it, and the handlers use nothing a newer Node removed.
 */
export const RELAY_RUNTIME = Runtime.NODEJS_24_X;

export interface RelayFunctionProps {
  /** Folder under `lambdas/` whose `handler.ts` is the entry point; also the Powertools service name. */
  readonly name: RelayFunctionName;
  /** Shown in the Lambda console: what the function does. */
  readonly description: string;
  /** Longest a single invocation may run. */
  readonly timeout: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Days CloudWatch keeps this function's logs (settings.logRetentionDays). */
  readonly logRetention: RetentionDays;
  /** @default "INFO" */
  readonly logLevel?: RelayLogLevel;
  /**
   * X-Ray active tracing (settings.tracing `"active"`), with the role's permission to send segments.
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Reserved concurrency, where it protects a downstream service from a burst.
   * @default - unreserved (new accounts have too little concurrency to reserve any safely)
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Node.js Lambda function with the relay's defaults: latest Node.js runtime on ARM64, a minified
 * ESM esbuild bundle with source maps, its own log group with retention and JSON logs without
 * Lambda's per-invocation platform lines, X-Ray active tracing when asked for, and an execution
 * role that starts with nothing but writing to that log group.
 */
export class RelayFunction extends Construct implements IGrantable {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;
  readonly grantPrincipal: IPrincipal;

  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention,
      // Logs are evidence of attacks on the protected applications: keep them past a stack deletion.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // An explicit role instead of AWSLambdaBasicExecutionRole: that managed policy lets the function
    // create log groups and write to any of them, this role only writes to its own group.
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of the ${props.name} function of the Sqreen relay`,
      inlinePolicies: props.tracing
        ? {
            // Kept apart from the default policy so that the one unavoidable wildcard is acknowledged
            // here and nowhere else.
            XRayWrite: new PolicyDocument({
              statements: [
                new PolicyStatement({
                  actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                  resources: ["*"],
                }),
              ],
            }),
          }
        : {},
    });
    this.grantPrincipal = this.role;
    if (props.tracing) {
      Validations.of(this.role.node.defaultChild ?? this.role).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions; " +
          "this inline policy holds only those two actions, for active tracing.",
      });
    }
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, "Function", {
      entry: path.join(PROJECT_ROOT, "lambdas", props.name, "handler.ts"),
      handler: "handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, "package-lock.json"),
      description: props.description,
      runtime: RELAY_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      // JSON lines, and Lambda's own lines below WARN left out: START, END and REPORT are about 350
      // bytes per invocation, a third of what the relay paid CloudWatch Logs (bench/cost.ts), and
      // duration, errors, throttles and concurrency are CloudWatch metrics already. What the
      // handlers log is unchanged: Powertools follows the application level Lambda sets
      // (AWS_LAMBDA_LOG_LEVEL), kept equal to LOG_LEVEL below.
      loggingFormat: LoggingFormat.JSON,
      systemLogLevelV2: SystemLogLevel.WARN,
      applicationLogLevelV2: ApplicationLogLevel[props.logLevel ?? "INFO"],
      // The role above already allows X-Ray when tracing; Tracing.ACTIVE would add the same wildcard statement
      // again to the default policy, so tracing is switched on at the CloudFormation level below.
      tracing: Tracing.DISABLED,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.name,
        LOG_LEVEL: props.logLevel ?? "INFO",
        NODE_OPTIONS: "--enable-source-maps",
      },
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        // Prefer the packages' ESM builds, which esbuild can tree-shake.
        mainFields: ["module", "main"],
        // A CommonJS dependency that calls require() on a Node built-in breaks an ESM bundle
        // ("Dynamic require of ... is not supported") unless require exists.
        banner:
          "import { createRequire as __relayCreateRequire } from 'node:module'; const require = __relayCreateRequire(import.meta.url);",
        minify: true,
        sourceMap: true,
        // Stack traces need file names and lines, not the sources: keeps the bundle small.
        sourcesContent: false,
        // Ship the SDK versions the tests ran against instead of whatever the runtime carries.
        bundleAwsSDK: true,
        externalModules: [],
      },
    });
    const cfnFunction = this.function.node.defaultChild as CfnFunction;
    if (props.tracing) cfnFunction.tracingConfig = { mode: "Active" };
    // The function already waits for its role through `Role: Fn::GetAtt`; the explicit DependsOn the
    // L2 adds on top is redundant (cfn-lint W3005). Render DependsOn at synth time, once every
    // dependency is known, without the role; the wait on the role's policy stays.
    const cfnRole = this.role.node.defaultChild as CfnResource;
    cfnFunction.addOverride(
      "DependsOn",
      Lazy.list({
        produce: () =>
          cfnFunction
            .obtainDependencies()
            .filter((dependency): dependency is CfnResource => CfnResource.isCfnResource(dependency))
            .filter((dependency) => dependency !== cfnRole)
            .map((dependency) => dependency.logicalId),
      }),
    );
  }

  /** Sets a plain configuration value (an identifier or a limit: never a secret or an address). */
  setValue(name: EnvironmentName, value: string | number): this {
    this.function.addEnvironment(name, String(value));
    return this;
  }

  /** Names the secret (by ARN) in `name` and lets the function read exactly that secret. */
  useSecret(name: EnvironmentName, secret: ISecret): this {
    this.function.addEnvironment(name, secret.secretArn);
    secret.grantRead(this.role);
    return this;
  }

  /** Puts the queue URL in `name` and lets the function send (and batch-send) to that queue only. */
  useQueue(name: EnvironmentName, queue: IQueue): this {
    this.function.addEnvironment(name, queue.queueUrl);
    queue.grantSendMessages(this.role);
    return this;
  }

  /**
   * Puts the topic ARN in `name` and lets the function publish (and batch-publish: PublishBatch is
   * authorized by sns:Publish) to that topic only, with the two KMS actions an encrypted topic needs.
   */
  useTopic(name: EnvironmentName, topic: ITopic): this {
    this.function.addEnvironment(name, topic.topicArn);
    // Not topic.grantPublish: it grants kms:GenerateDataKey*, a wildcard where one action is enough.
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["sns:Publish"], resources: [topic.topicArn] }),
    );
    topic.masterKey?.grant(this.role, "kms:GenerateDataKey", "kms:Decrypt");
    return this;
  }

  /**
   * Puts the table name in `name` and lets the function use that table with `actions` only: by
   * default get, put, update and delete single items, what Powertools idempotency does, and
   * nothing more (no scans, no batch operations).
   */
  useTable(name: EnvironmentName, table: ITable, actions: readonly string[] = SINGLE_ITEM_ACTIONS): this {
    this.function.addEnvironment(name, table.tableName);
    table.grant(this.role, ...actions);
    return this;
  }

  /**
   * Puts the ledger table's name in `name` and lets the function write and count `backend`'s
   * entries only: every key it touches must start with `<backend>#` (dynamodb:LeadingKeys, the
   * partition key design of lambdas/ledger/dynamodb-ledger.ts). No read of other backends' items,
   * no index, no scan: the operator CLI reads with the operator's own credentials.
   */
  useLedger(name: EnvironmentName, table: ITable, backend: Backend): this {
    this.function.addEnvironment(name, table.tableName);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:Query"],
        resources: [table.tableArn],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${backend}#*`] } },
      }),
    );
    table.encryptionKey?.grant(this.role, "kms:Decrypt", "kms:GenerateDataKey");
    return this;
  }

  /** Adds a statement to the execution role (for permissions no helper above expresses). */
  allow(statement: PolicyStatement): this {
    this.role.addToPrincipalPolicy(statement);
    return this;
  }
}
