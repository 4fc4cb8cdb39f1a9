/**
 * What AWS authorizes for each recorded request: the IAM action, the resource ARN and the
 * condition keys, per the Service Authorization Reference of each service the relay calls. A
 * request the tier cannot map fails the check (an unknown call is never waved through).
 *
 * Besides the call itself, some calls need permissions AWS checks on the caller's behalf:
 * publishing to a topic encrypted with a KMS key needs `kms:GenerateDataKey` and `kms:Decrypt`
 * on that key (SNS asks KMS as the publisher); they are added as implied requests.
 */
import type { AuthorizationRequest, ContextValue } from "./iam-policy.js";
import type { RecordedRequest } from "./recorder.js";

/** A recorded request, read: its operation, parameters and the authorizations AWS would make. */
export interface ReadCall {
  request: RecordedRequest;
  operation: string;
  parameters: Record<string, unknown>;
  authorizations: AuthorizationRequest[];
}

/** What the reader needs to know about the deployment. */
export interface CallContext {
  accountId: string;
  /** The ARN of a secret given by name or ARN. */
  secretArn(secretId: string): string;
  /** The KMS key ARN a topic is encrypted with, if any. */
  topicKeyArn(topicArn: string): string | undefined;
  /** The SES identity that verified `address` (its own, else its domain's), if any. */
  sesIdentity(address: string): string | undefined;
  /** True while the account is in the SES sandbox: recipients are authorized too. */
  sesSandbox: boolean;
}

/** Global condition keys of a call made by a Lambda function over the SDK's HTTPS. */
function globalContext(
  request: RecordedRequest,
  principalArn: string,
  accountId: string,
): Record<string, ContextValue> {
  return {
    // The SDK talks HTTPS to AWS; only the tier's loopback hop to moto is plain HTTP.
    "aws:SecureTransport": "true",
    "aws:RequestedRegion": request.region,
    "aws:PrincipalArn": principalArn,
    "aws:PrincipalAccount": accountId,
  };
}

function queueArnFromUrl(queueUrl: string, region: string): string {
  const segments = new URL(queueUrl).pathname.split("/").filter(Boolean);
  const [account, name] = segments.slice(-2);
  if (!account || !name) throw new Error(`Not a queue URL: ${queueUrl}`);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

/** `"Alerts" <alerts@example.com>` → `alerts@example.com`. */
export function bareAddress(source: string): string {
  const match = /<([^>]+)>\s*$/.exec(source);
  return (match ? (match[1] as string) : source).trim();
}

function queryParameters(body: Buffer): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body.toString("utf8")));
}

/** The values of `prefix.member.N` query parameters, in order. */
function members(parameters: Record<string, unknown>, prefix: string): string[] {
  return Object.entries(parameters)
    .filter(([name]) => name.startsWith(`${prefix}.member.`))
    .sort(([a], [b]) => Number(a.split(".").pop()) - Number(b.split(".").pop()))
    .map(([, value]) => String(value));
}

const SQS_ACTIONS: Record<string, string> = {
  SendMessage: "sqs:SendMessage",
  SendMessageBatch: "sqs:SendMessage",
  ReceiveMessage: "sqs:ReceiveMessage",
  DeleteMessage: "sqs:DeleteMessage",
  DeleteMessageBatch: "sqs:DeleteMessage",
  ChangeMessageVisibility: "sqs:ChangeMessageVisibility",
  ChangeMessageVisibilityBatch: "sqs:ChangeMessageVisibility",
  GetQueueAttributes: "sqs:GetQueueAttributes",
  GetQueueUrl: "sqs:GetQueueUrl",
};

const DYNAMODB_ACTIONS = new Set([
  "GetItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "Query",
  "Scan",
  "DescribeTable",
]);

/** What IAM checks for each action of a TransactWriteItems (the DynamoDB transactions guide). */
const TRANSACT_WRITE_ACTIONS: Record<string, string> = {
  Put: "dynamodb:PutItem",
  Update: "dynamodb:UpdateItem",
  Delete: "dynamodb:DeleteItem",
  ConditionCheck: "dynamodb:ConditionCheckItem",
};
/**
 * The partition keys a DynamoDB call touches, as IAM's `dynamodb:LeadingKeys`: the relay's tables
 * key their partitions `pk` (the ledger) or `id` (idempotency); a Query's is the value its key
 * condition compares `pk` with. Calls on other keys have none (the policies without the
 * condition then decide alone).
 */
const PARTITION_KEYS = ["pk", "id"] as const;
type DynamoDbValue = { S?: string };
interface DynamoDbWriteRequest {
  PutRequest?: { Item?: Record<string, DynamoDbValue> };
  DeleteRequest?: { Key?: Record<string, DynamoDbValue> };
}

function leadingKeyOf(item: Record<string, DynamoDbValue> | undefined): string | undefined {
  for (const name of PARTITION_KEYS) if (item?.[name]?.S !== undefined) return item[name]?.S;
  return undefined;
}

function leadingKeyOfWrite(write: DynamoDbWriteRequest): string | undefined {
  return leadingKeyOf(write.PutRequest?.Item ?? write.DeleteRequest?.Key);
}

function leadingKeysOf(operation: string, parameters: Record<string, unknown>): string[] {
  if (operation === "Query" && parameters.IndexName === undefined) {
    const match = /\bpk\s*=\s*(:\w+)/.exec(String(parameters.KeyConditionExpression ?? ""));
    const values = (parameters.ExpressionAttributeValues ?? {}) as Record<string, DynamoDbValue>;
    const value = match ? values[match[1] as string]?.S : undefined;
    return value === undefined ? [] : [value];
  }
  const key = leadingKeyOf((parameters.Key ?? parameters.Item) as Record<string, DynamoDbValue> | undefined);
  return key === undefined ? [] : [key];
}

/** Reads one recorded request. Throws for a request the tier does not know how to authorize. */
export function readCall(request: RecordedRequest, principalArn: string, deployment: CallContext): ReadCall {
  const base = globalContext(request, principalArn, deployment.accountId);
  const target = String(request.headers["x-amz-target"] ?? "");
  const json = () =>
    request.body.byteLength > 0 ? (JSON.parse(request.body.toString("utf8")) as Record<string, unknown>) : {};
  const authorize = (
    action: string,
    resource: string,
    context: Record<string, ContextValue> = {},
  ): AuthorizationRequest => ({
    action,
    resource,
    context: { ...base, ...context },
  });

  switch (request.service) {
    case "sqs": {
      const isJson = target.startsWith("AmazonSQS.");
      const operation = isJson
        ? target.slice("AmazonSQS.".length)
        : String(queryParameters(request.body).Action);
      const parameters = isJson ? json() : queryParameters(request.body);
      const action = SQS_ACTIONS[operation];
      if (!action) break;
      const resource =
        operation === "GetQueueUrl"
          ? `arn:aws:sqs:${request.region}:${String(parameters.QueueOwnerAWSAccountId ?? deployment.accountId)}:${String(parameters.QueueName)}`
          : queueArnFromUrl(String(parameters.QueueUrl), request.region);
      return { request, operation, parameters, authorizations: [authorize(action, resource)] };
    }
    case "sns": {
      const parameters = queryParameters(request.body);
      const operation = String(parameters.Action);
      if (operation !== "Publish" && operation !== "PublishBatch") break;
      const topicArn = parameters.TopicArn ?? parameters.TargetArn;
      // A publish to a phone number names no resource: IAM sees `*`.
      const resource = topicArn ?? "*";
      const authorizations = [authorize("sns:Publish", resource)];
      const keyArn = topicArn ? deployment.topicKeyArn(topicArn) : undefined;
      if (keyArn) {
        const viaSns = { "kms:ViaService": `sns.${request.region}.amazonaws.com` };
        authorizations.push(
          authorize("kms:GenerateDataKey", keyArn, viaSns),
          authorize("kms:Decrypt", keyArn, viaSns),
        );
      }
      return { request, operation, parameters, authorizations };
    }
    case "secretsmanager": {
      const operation = target.replace(/^secretsmanager\./, "");
      if (operation !== "GetSecretValue" && operation !== "DescribeSecret") break;
      const parameters = json();
      const resource = deployment.secretArn(String(parameters.SecretId));
      return {
        request,
        operation,
        parameters,
        authorizations: [authorize(`secretsmanager:${operation}`, resource)],
      };
    }
    case "dynamodb": {
      const operation = target.replace(/^DynamoDB_\d+\./, "");
      const parameters = json();
      const tableArn = (name: unknown) =>
        `arn:aws:dynamodb:${request.region}:${deployment.accountId}:table/${String(name)}`;
      if (operation === "TransactWriteItems") {
        // IAM authorizes each action of a transaction as its single-item action on its table.
        const items = (parameters.TransactItems ?? []) as Record<string, { TableName?: string }>[];
        const authorizations = items.flatMap((item) =>
          Object.entries(item).map(([kind, action]) => {
            const iamAction = TRANSACT_WRITE_ACTIONS[kind];
            if (!iamAction) throw new Error(`TransactWriteItems: unknown action ${kind}`);
            return authorize(iamAction, tableArn(action.TableName));
          }),
        );
        return { request, operation, parameters, authorizations };
      }
      if (operation === "BatchWriteItem") {
        // One authorization per table, its context the partition keys written (dynamodb:LeadingKeys).
        const tables = (parameters.RequestItems ?? {}) as Record<string, DynamoDbWriteRequest[]>;
        return {
          request,
          operation,
          parameters,
          authorizations: Object.entries(tables).map(([table, writes]) =>
            authorize("dynamodb:BatchWriteItem", tableArn(table), {
              "dynamodb:LeadingKeys": writes.map(leadingKeyOfWrite).filter((key) => key !== undefined),
            }),
          ),
        };
      }
      if (operation === "BatchGetItem") {
        // One authorization per table, its context the partition keys read (dynamodb:LeadingKeys).
        const tables = (parameters.RequestItems ?? {}) as Record<
          string,
          { Keys?: Record<string, DynamoDbValue>[] }
        >;
        return {
          request,
          operation,
          parameters,
          authorizations: Object.entries(tables).map(([table, read]) =>
            authorize("dynamodb:BatchGetItem", tableArn(table), {
              "dynamodb:LeadingKeys": (read.Keys ?? []).map(leadingKeyOf).filter((key) => key !== undefined),
            }),
          ),
        };
      }
      if (!DYNAMODB_ACTIONS.has(operation)) break;
      const leadingKeys = leadingKeysOf(operation, parameters);
      return {
        request,
        operation,
        parameters,
        authorizations: [
          authorize(
            `dynamodb:${operation}`,
            tableArn(parameters.TableName),
            leadingKeys.length > 0 ? { "dynamodb:LeadingKeys": leadingKeys } : {},
          ),
        ],
      };
    }
    case "ses":
    case "email": {
      const parameters = queryParameters(request.body);
      const operation = String(parameters.Action);
      if (operation !== "SendEmail" && operation !== "SendRawEmail") break;
      const from = bareAddress(String(parameters.Source ?? ""));
      const recipients =
        operation === "SendEmail"
          ? [
              ...members(parameters, "Destination.ToAddresses"),
              ...members(parameters, "Destination.CcAddresses"),
              ...members(parameters, "Destination.BccAddresses"),
            ]
          : members(parameters, "Destinations");
      const identityArn = (address: string) => {
        const identity = deployment.sesIdentity(address) ?? address;
        return `arn:aws:ses:${request.region}:${deployment.accountId}:identity/${identity}`;
      };
      const context = {
        "ses:FromAddress": from,
        "ses:Recipients": recipients.map(bareAddress),
        "ses:ApiVersion": "1",
      };
      // SES authorizes the identity that verified the sender and, in the sandbox, each recipient's.
      const identities = [from, ...(deployment.sesSandbox ? recipients.map(bareAddress) : [])];
      const resources = [...new Set(identities.map(identityArn))];
      return {
        request,
        operation,
        parameters,
        authorizations: resources.map((resource) => authorize(`ses:${operation}`, resource, context)),
      };
    }
  }
  throw new Error(
    `The bundle tier cannot authorize ${request.service} ${target || request.method} ${request.path}: ` +
      "add the call to test/bundles/iam/aws-calls.ts",
  );
}
