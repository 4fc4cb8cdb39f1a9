/**
 * The relay as the bundle tier deploys and drives it: moto_server behind the recording endpoint,
 * the synthesized template deployed into moto (deployment.ts), every function of the template
 * ready to run under Node.js 24 with the runtime interface client (lambda-runtime.ts), and the
 * AWS services between them played as AWS plays them:
 * - API Gateway: `request()` routes by the template's routes and invokes the integration;
 * - the SQS event source mappings: `pollIngest()` (route's) and `pollEventSource(fn)` (a human
 *   backend's own queue) receive up to the mapping's batch size with the function's role, invoke
 *   it, and delete the records it did not report as failed;
 * - SNS: moto fans out to the capture queues by the template's filter policies; `captured()`
 *   reads what each subscription got, `deliver()` invokes the subscribed function asynchronously
 *   as SNS does: on error Lambda retries it (MaximumRetryAttempts of the function's
 *   EventInvokeConfig, back to back here instead of after one and two minutes), then sends the
 *   invocation record to the on-failure destination with the function's role.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DynamoDBClient, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESClient, VerifyEmailIdentityCommand } from "@aws-sdk/client-ses";
import { SNSClient } from "@aws-sdk/client-sns";
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { type MotoServer, startMoto } from "../integration/moto.js";
import { type CapturedSubscription, type DeployedStack, deployToMoto } from "./deployment.js";
import {
  API_GATEWAY_NOT_FOUND,
  type HttpRequest,
  type HttpResponse,
  httpApiEvent,
  httpApiResponse,
  matchRoute,
  type SnsEnvelope,
  snsEvent,
  sqsEvent,
} from "./events.js";
import { type RelayFunctions, relayFunctions, type StackFunction, stackFunctions } from "./functions.js";
import type { CallContext } from "./iam/aws-calls.js";
import { principalOf, type RunRecord } from "./iam/iam-check.js";
import { RecordingEndpoint } from "./iam/recorder.js";
import { type InvocationResult, LambdaFunction } from "./lambda-runtime.js";
import { Receiver } from "./receiver.js";
import type { BundleRuntime } from "./runtime.js";
import { type Json, readSynthesizedStack, resourcesOfType, type TemplateResource } from "./template.js";

export const REGION = "us-east-1";
/** moto's default account: the one its ARNs name. */
export const ACCOUNT_ID = "123456789012";

export interface BundleRelayOptions {
  outDir: string;
  stackName: string;
  runtime: BundleRuntime;
  /** SES identities verified before the run (the README's `verify-email-identity` step). */
  sesIdentities: readonly string[];
}

export interface RouteRun {
  messages: Message[];
  invocation: InvocationResult;
  /** Message ids route reported as failed (left on the queue). */
  failed: string[];
}

export interface AsyncDelivery {
  attempts: InvocationResult[];
  /** The invocation record sent to the on-failure destination, when every attempt failed. */
  deadLetter?: { destinationArn: string; record: Record<string, unknown> };
}

export interface CapturedEnvelope {
  subscription: CapturedSubscription;
  envelope: SnsEnvelope;
}

export class BundleRelay {
  readonly lambdas = new Map<string, LambdaFunction>();
  private verifiedIdentities = new Set<string>();

  private constructor(
    readonly moto: MotoServer,
    readonly endpoint: RecordingEndpoint,
    readonly receiver: Receiver,
    readonly deployed: DeployedStack,
    readonly functions: StackFunction[],
    readonly relay: RelayFunctions,
    private readonly clients: {
      sqs: SQSClient;
      sns: SNSClient;
      secretsManager: SecretsManagerClient;
      dynamodb: DynamoDBClient;
      ses: SESClient;
    },
  ) {}

  static async start(options: BundleRelayOptions): Promise<BundleRelay> {
    // moto's own recorder (a file, in moto's environment) cross-checks the recording endpoint.
    const recording = path.join(mkdtempSync(path.join(tmpdir(), "bundles-moto-")), "recording.jsonl");
    const previous = process.env.MOTO_RECORDER_FILEPATH;
    process.env.MOTO_RECORDER_FILEPATH = recording;
    const moto = await startMoto().finally(() => {
      if (previous === undefined) delete process.env.MOTO_RECORDER_FILEPATH;
      else process.env.MOTO_RECORDER_FILEPATH = previous;
    });
    const started: { stop(): Promise<void> }[] = [moto];
    try {
      const recorder = await fetch(`${moto.endpoint}/moto-api/recorder/start-recording`, { method: "POST" });
      if (!recorder.ok) throw new Error(`moto's recorder did not start: ${recorder.status}`);
      const endpoint = new RecordingEndpoint(moto.endpoint);
      await endpoint.listen();
      started.push(endpoint);
      const receiver = new Receiver();
      await receiver.listen();
      started.push(receiver);
      // The harness itself (the operator, the tier) talks to moto directly: its calls are not the stack's.
      const config = {
        endpoint: moto.endpoint,
        region: REGION,
        credentials: { accessKeyId: "bundle-tier-operator", secretAccessKey: "bundle-tier-operator" },
      };
      const clients = {
        sqs: new SQSClient(config),
        sns: new SNSClient(config),
        secretsManager: new SecretsManagerClient(config),
        dynamodb: new DynamoDBClient(config),
        ses: new SESClient(config),
      };
      const stack = readSynthesizedStack(options.outDir, options.stackName);
      const deployed = await deployToMoto(
        stack,
        { region: REGION, accountId: ACCOUNT_ID, stackName: options.stackName },
        clients,
        endpoint.url,
      );
      const functions = stackFunctions(deployed);
      const relay = new BundleRelay(
        moto,
        endpoint,
        receiver,
        deployed,
        functions,
        relayFunctions(deployed, functions),
        clients,
      );
      for (const identity of options.sesIdentities) await relay.verifySesIdentity(identity);
      const nodeBin = options.runtime.node.replace(/\/node$/, "");
      for (const fn of functions) {
        const lambda = new LambdaFunction(
          fn.definition(endpoint.url, endpoint.credentialsFor(principalOf.code(fn)), nodeBin),
          options.runtime.node,
          options.runtime.ric,
        );
        await lambda.listen();
        relay.lambdas.set(fn.logicalId, lambda);
      }
      return relay;
    } catch (error) {
      for (const service of started.reverse()) await service.stop();
      throw error;
    }
  }

  async stop(): Promise<void> {
    for (const lambda of this.lambdas.values()) await lambda.stop();
    for (const client of Object.values(this.clients)) client.destroy();
    await this.receiver.stop();
    await this.endpoint.stop();
    await this.moto.stop();
  }

  lambda(fn: StackFunction): LambdaFunction {
    const found = this.lambdas.get(fn.logicalId);
    if (!found) throw new Error(`No runtime for ${fn.logicalId}`);
    return found;
  }

  /** An SES identity verified, as the README's deploy steps have the operator do. */
  async verifySesIdentity(identity: string): Promise<void> {
    await this.clients.ses.send(new VerifyEmailIdentityCommand({ EmailAddress: identity }));
    this.verifiedIdentities.add(identity);
  }

  /** The ARN of the secret a stack output names (`SigningKeysSecretArn`, `EmailSecretArn`, ...). */
  outputValue(outputName: string): string {
    const output = this.deployed.stack.template.Outputs?.[outputName];
    if (!output) throw new Error(`The template has no output ${outputName}`);
    return this.deployed.resolver.string(output.Value);
  }

  /** What the operator does with `aws secretsmanager put-secret-value`. */
  async putSecret(outputName: string, value: unknown): Promise<void> {
    await this.clients.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: this.outputValue(outputName),
        SecretString: JSON.stringify(value),
      }),
    );
  }

  /** API Gateway: the template's routes pick the integration, or API Gateway answers 404 itself. */
  async request(
    request: HttpRequest,
  ): Promise<{ response: HttpResponse; invocation?: InvocationResult; routeKey?: string }> {
    const route = matchRoute(this.deployed, request.method, request.path.split("?")[0] as string);
    if (!route) return { response: API_GATEWAY_NOT_FOUND };
    const fn = this.functions.find((candidate) => candidate.logicalId === route.functionLogicalId);
    if (!fn) throw new Error(`Route ${route.routeKey} integrates ${route.functionLogicalId}, not a function`);
    const invocation = await this.lambda(fn).invoke(httpApiEvent(this.deployed, request, route));
    // A function error is API Gateway's 500 Internal Server Error.
    const response = invocation.ok
      ? httpApiResponse(invocation.payload)
      : {
          statusCode: 500,
          headers: { "content-type": "application/json" },
          body: '{"message":"Internal Server Error"}',
        };
    return { response, invocation, routeKey: route.routeKey };
  }

  private queueOf(arn: string): { url: string; arn: string } {
    const entry = [...this.deployed.physical.values()].find((resource) => resource.attributes.Arn === arn);
    if (!entry?.attributes.QueueUrl) throw new Error(`No queue ${arn} in the deployment`);
    return { url: entry.attributes.QueueUrl, arn };
  }

  private sqsAs(fn: StackFunction): SQSClient {
    return new SQSClient({
      endpoint: this.endpoint.url,
      region: REGION,
      credentials: (() => {
        const c = this.endpoint.credentialsFor(principalOf.lambda(fn));
        return {
          accessKeyId: c.AWS_ACCESS_KEY_ID,
          secretAccessKey: c.AWS_SECRET_ACCESS_KEY,
          sessionToken: c.AWS_SESSION_TOKEN,
        };
      })(),
    });
  }

  /** The route's event source mapping, once: one batch received, routed, and settled. */
  pollIngest(): Promise<RouteRun | undefined> {
    return this.pollEventSource(this.relay.route);
  }

  /**
   * A function's SQS event source mapping, once, as Lambda polls it: up to the mapping's batch
   * size received with the function's role, the function invoked with them, and the records it
   * did not report as failed deleted. Undefined when the queue had nothing visible.
   */
  async pollEventSource(fn: StackFunction): Promise<RouteRun | undefined> {
    const mapping = this.mappingOf(fn);
    const queue = this.queueOf(this.deployed.resolver.string(mapping.Properties?.EventSourceArn as Json));
    const batchSize = Number(mapping.Properties?.BatchSize ?? 10);
    const sqs = this.sqsAs(fn);
    try {
      const messages: Message[] = [];
      while (messages.length < batchSize) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
            WaitTimeSeconds: 0,
            MessageAttributeNames: ["All"],
            MessageSystemAttributeNames: ["All"],
          }),
        );
        if (Messages.length === 0) break;
        messages.push(...Messages);
      }
      if (messages.length === 0) return undefined;
      const invocation = await this.lambda(fn).invoke(sqsEvent(messages, queue.arn, REGION));
      const reported = invocation.ok
        ? (
            (invocation.payload as { batchItemFailures?: { itemIdentifier: string }[] } | null)
              ?.batchItemFailures ?? []
          ).map((failure) => failure.itemIdentifier)
        : messages.map((message) => message.MessageId ?? "");
      const succeeded = messages.filter((message) => !reported.includes(message.MessageId ?? ""));
      for (let start = 0; start < succeeded.length; start += 10) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: succeeded.slice(start, start + 10).map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      }
      return { messages, invocation, failed: reported };
    } finally {
      sqs.destroy();
    }
  }

  /** The ingest queue's messages, read without consuming them (visibility 0). */
  async peekIngest(): Promise<Message[]> {
    const queue = this.ingestQueue();
    const { Messages = [] } = await this.clients.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageAttributeNames: ["All"],
      }),
    );
    return Messages;
  }

  ingestQueue(): { url: string; arn: string } {
    return this.queueOf(
      this.deployed.resolver.string(this.routeMapping().Properties?.EventSourceArn as Json),
    );
  }

  /** The route's event source mapping (the human backends' own queues have theirs). */
  private routeMapping(): TemplateResource {
    return this.mappingOf(this.relay.route);
  }

  /** The SQS event source mapping of a function (route's ingest queue, a human backend's own queue). */
  private mappingOf(fn: StackFunction): TemplateResource {
    const [, mapping] =
      resourcesOfType(this.deployed.stack.template, "AWS::Lambda::EventSourceMapping").find(
        ([, candidate]) => (candidate.Properties?.FunctionName as { Ref?: string })?.Ref === fn.logicalId,
      ) ?? [];
    if (!mapping) throw new Error(`${fn.logicalId} has no event source mapping`);
    return mapping;
  }

  /**
   * Brings the end of every open digest window of `backend` and `environment` that holds alerts
   * forward to now, as waiting for it would (a window lasts minutes; the tier has seconds), and
   * returns their ids. It reads the window items as lambdas/digest/dynamodb-window-store.ts
   * writes them: sort key `window`, `status`, `heldCount`, `closesAt`, `group.backend`,
   * `group.environment`. The harness's own calls, not the stack's.
   */
  async bringDigestWindowsDue(backend: string, environment: string): Promise<string[]> {
    const [tableId] =
      resourcesOfType(this.deployed.stack.template, "AWS::DynamoDB::Table").find(([, table]) =>
        ((table.Properties?.KeySchema ?? []) as { KeyType: string }[]).some((key) => key.KeyType === "RANGE"),
      ) ?? [];
    if (!tableId) throw new Error("The template has no digest table");
    const tableName = this.deployed.resolver.string({ Ref: tableId });
    const { Items = [] } = await this.clients.dynamodb.send(new ScanCommand({ TableName: tableName }));
    const windows = Items.filter(
      (item) =>
        item.sk?.S === "window" &&
        item.status?.S === "open" &&
        Number(item.heldCount?.N ?? 0) > 0 &&
        item.group?.M?.backend?.S === backend &&
        item.group?.M?.environment?.S === environment,
    );
    const due = Date.now() - 1;
    const ids: string[] = [];
    for (const item of windows) {
      await this.clients.dynamodb.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: item.pk as never, sk: item.sk as never },
          UpdateExpression: "SET closesAt = :due",
          ExpressionAttributeValues: { ":due": { N: String(due) } },
        }),
      );
      ids.push(String(item.pk?.S).replace(/^window#/, ""));
    }
    return ids;
  }

  /** Sends `body` to the queue a function's event source mapping polls, as the harness (not the stack). */
  async sendToEventSource(fn: StackFunction, body: unknown): Promise<void> {
    const arn = this.deployed.resolver.string(this.mappingOf(fn).Properties?.EventSourceArn as Json);
    await this.clients.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueOf(arn).url, MessageBody: JSON.stringify(body) }),
    );
  }

  /** Counts the ingest queue's messages (visible and in flight). */
  async ingestDepth(): Promise<number> {
    const { Attributes } = await this.clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.ingestQueue().url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  /** Everything the subscriptions received since the last call, per function. */
  async captured(): Promise<Map<string, CapturedEnvelope[]>> {
    const byFunction = new Map<string, CapturedEnvelope[]>();
    for (const subscription of this.deployed.subscriptions) {
      const list = byFunction.get(subscription.functionLogicalId) ?? [];
      byFunction.set(subscription.functionLogicalId, list);
      for (const queueUrl of subscription.captureQueueUrls) {
        for (const message of await this.drain(queueUrl)) {
          const envelope = JSON.parse(message.Body ?? "") as SnsEnvelope;
          // One message per SNS message id: a policy's `$or` branches are separate subscriptions (deployment.ts).
          if (!list.some((seen) => seen.envelope.MessageId === envelope.MessageId))
            list.push({ subscription, envelope });
        }
      }
    }
    return byFunction;
  }

  /** Every message of a queue, deleted as read (the harness's own reads, not a function's). */
  async drain(queueUrl: string): Promise<Message[]> {
    const messages: Message[] = [];
    for (;;) {
      const { Messages = [] } = await this.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ["All"],
        }),
      );
      if (Messages.length === 0) return messages;
      messages.push(...Messages);
      await this.clients.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
  }

  /** Empties the ingest queue (in-flight messages too) and the capture queues: a fresh start for a case. */
  async reset(): Promise<void> {
    await this.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: this.ingestQueue().url }));
    await this.captured();
  }

  /**
   * The requests moto received with a function's credentials that did not pass the recording
   * endpoint (moto's own recorder sees every request): none, or the IAM check missed calls.
   */
  async unrecordedRequests(): Promise<string[]> {
    const response = await fetch(`${this.moto.endpoint}/moto-api/recorder/download-recording`);
    const lines = (await response.text()).split("\n").filter((line) => line.trim() !== "");
    const keys = new Set(
      this.functions.flatMap((fn) =>
        [principalOf.code(fn), principalOf.lambda(fn)].map(
          (p) => this.endpoint.credentialsFor(p).AWS_ACCESS_KEY_ID,
        ),
      ),
    );
    const seenByMoto = lines
      .map((line) => JSON.parse(line) as { headers: Record<string, string>; method: string; url: string })
      .filter((entry) => {
        const key = /Credential=([^/]+)\//.exec(
          entry.headers.Authorization ?? entry.headers.authorization ?? "",
        )?.[1];
        return key !== undefined && keys.has(key);
      });
    const recorded = this.endpoint.requests.length;
    return seenByMoto.length === recorded
      ? []
      : seenByMoto.map((entry) => `${entry.method} ${entry.url}`).slice(recorded);
  }

  /** SNS invoking the subscribed function asynchronously, with Lambda's retries and on-failure destination. */
  async deliver(captured: CapturedEnvelope): Promise<AsyncDelivery> {
    const fn = this.functions.find(
      (candidate) => candidate.logicalId === captured.subscription.functionLogicalId,
    );
    if (!fn)
      throw new Error(`Subscription ${captured.subscription.logicalId} invokes no function of the template`);
    return this.invokeAsync(fn, snsEvent(captured.envelope, captured.subscription.subscriptionArn));
  }

  /** An asynchronous invocation of `fn` with `event`, as Lambda runs one. */
  async invokeAsync(fn: StackFunction, event: unknown): Promise<AsyncDelivery> {
    const config = resourcesOfType(this.deployed.stack.template, "AWS::Lambda::EventInvokeConfig").find(
      ([, candidate]) => (candidate.Properties?.FunctionName as { Ref?: string })?.Ref === fn.logicalId,
    )?.[1].Properties;
    const retries = Number(config?.MaximumRetryAttempts ?? 2);
    const attempts: InvocationResult[] = [];
    for (let attempt = 0; attempt <= retries; attempt++) {
      const result = await this.lambda(fn).invoke(event);
      attempts.push(result);
      if (result.ok) return { attempts };
    }
    const destination = (config?.DestinationConfig as { OnFailure?: { Destination?: Json } } | undefined)
      ?.OnFailure?.Destination;
    if (destination === undefined) return { attempts };
    const destinationArn = this.deployed.resolver.string(destination);
    const last = attempts[attempts.length - 1] as InvocationResult;
    // The record Lambda sends to an on-failure destination (its documented invocation record).
    const record = {
      version: "1.0",
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: last.requestId,
        functionArn: `${this.deployed.resolver.getAtt(fn.logicalId, "Arn")}:$LATEST`,
        condition: "RetriesExhausted",
        approximateInvokeCount: attempts.length,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
      responsePayload: last.error,
    };
    const sqs = this.sqsAs(fn);
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: this.queueOf(destinationArn).url,
          MessageBody: JSON.stringify(record),
        }),
      );
    } finally {
      sqs.destroy();
    }
    return { attempts, deadLetter: { destinationArn, record } };
  }

  /** What the IAM check needs about the run so far. */
  runRecord(): RunRecord {
    const ran = new Set<string>();
    const logStreams = new Map<string, { group: string; stream: string }>();
    for (const fn of this.functions) {
      const lambda = this.lambda(fn);
      if (lambda.coldStarts > 0) ran.add(fn.logicalId);
      logStreams.set(fn.logicalId, {
        group: lambda.definition.logGroupName,
        stream: lambda.definition.environment.AWS_LAMBDA_LOG_STREAM_NAME ?? "",
      });
    }
    return { functions: this.functions, requests: [...this.endpoint.requests], ran, logStreams };
  }

  /** What the call reader needs about the deployment; the account is in the SES sandbox, as a new one is. */
  callContext(): CallContext & { region: string } {
    const verified = this.verifiedIdentities;
    return {
      region: REGION,
      accountId: ACCOUNT_ID,
      secretArn: (id) => this.deployed.secretArn(id),
      topicKeyArn: (arn) => this.deployed.topicKeyArn(arn),
      sesIdentity: (address) => {
        if (verified.has(address)) return address;
        const domain = address.split("@")[1];
        return domain && verified.has(domain) ? domain : undefined;
      },
      sesSandbox: true,
    };
  }
}
