/**
 * The synthesized template "deployed" the way the bundle tier can: every resource gets the
 * physical name CloudFormation would give it (`<stack>-<logicalId>-<random>`, secrets
 * `<logicalId>-<random>`), and the resources the functions talk to are created in moto_server
 * from their template properties: queues (with their redrive policies), the topic, its
 * subscriptions with the template's filter policies, the secrets with the template's placeholder
 * values, the DynamoDB tables. Everything else (roles, policies, alarms, the API) only gets a
 * name and ARN, for the resolver, the IAM check and the events.
 *
 * moto's differences from AWS that this works around (each also noted where it matters):
 * - SNS cannot invoke a Lambda function in moto_server (it would need moto's Docker-backed
 *   Lambda): each `lambda` subscription is created as an `sqs` subscription to a capture queue
 *   with the same filter policy, scope and redrive policy, raw delivery off, so the queue holds
 *   the very envelope SNS would hand the function, and the tier invokes the function with it.
 * - moto's filter policy complexity check multiplies by nesting depth (moto/sns/models.py), so
 *   it refuses an `$or` policy AWS accepts (the Slack filter's 13 combinations count as 192): a
 *   policy with a top-level `$or` is subscribed as one subscription per branch, each into a
 *   capture queue of its own, and what they get is deduplicated by SNS message id. A message
 *   matching any branch arrives, once: that is `$or`.
 * - The topic's KMS key is not created (moto's SNS neither encrypts nor asks KMS): the key gets
 *   an ARN, the topic carries it, and the IAM check adds the KMS permissions publishing needs.
 * - moto does not enforce queue or topic policies nor IAM (see iam/recorder.ts): the IAM check does.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { CreateTableCommand, type DynamoDBClient, UpdateTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { CreateSecretCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { NamedPolicy, PolicyDocument } from "./iam/iam-policy.js";
import {
  type Deployment,
  type Json,
  type PhysicalResource,
  Resolver,
  resourcesOfType,
  type SynthesizedStack,
  type Template,
  type TemplateResource,
} from "./template.js";

/** A template subscription to a function, as the tier substitutes it (see above). */
export interface CapturedSubscription {
  logicalId: string;
  /** The function the real subscription invokes. */
  functionLogicalId: string;
  /** The real subscription's ARN in moto (its endpoint is the capture queue). */
  subscriptionArn: string;
  /** One capture queue per `$or` branch (see above), one for a policy without `$or`. */
  captureQueueUrls: string[];
  filterPolicy?: Json;
}

/** What the tier's harness uses to talk to moto directly (never through the recording endpoint). */
export interface HarnessClients {
  sqs: SQSClient;
  sns: SNSClient;
  secretsManager: SecretsManagerClient;
  dynamodb: DynamoDBClient;
}

export interface DeployedStack {
  stack: SynthesizedStack;
  deployment: Deployment;
  physical: Map<string, PhysicalResource>;
  resolver: Resolver;
  subscriptions: CapturedSubscription[];
  /** The policies attached to a role (inline, AWS::IAM::Policy, template managed policies), resolved. */
  rolePolicies(roleLogicalId: string): NamedPolicy[];
  /** The resource policies (queue and topic policies) of the resource with this ARN, resolved. */
  resourcePolicies(resourceArn: string): NamedPolicy[];
  /** The ARN of a secret given by its ARN or name. */
  secretArn(secretId: string): string;
  /** The KMS key a topic is encrypted with, if any. */
  topicKeyArn(topicArn: string): string | undefined;
}

function suffix(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join("");
}

/** `<stack>-<logicalId>-<random>`, trimmed to `max` as CloudFormation does. */
function generatedName(stackName: string, logicalId: string, max: number): string {
  const tail = `-${suffix(12)}`;
  return `${stackName}-${logicalId}`.slice(0, max - tail.length) + tail;
}

/** A policy with a top-level `$or`, as the policies of its branches (each with the other keys). */
export function orBranches(policy: Json): Json[] {
  if (!policy || typeof policy !== "object" || Array.isArray(policy) || !Array.isArray(policy.$or))
    return [policy];
  const { $or: branches, ...rest } = policy;
  return (branches as Json[]).map((branch) => ({ ...rest, ...(branch as Record<string, Json>) }));
}

function queueAttributes(properties: Record<string, Json>, resolver: Resolver): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(properties)) {
    if (name === "QueueName" || name === "Tags") continue;
    const resolved = resolver.resolve(value);
    attributes[name] = typeof resolved === "object" ? JSON.stringify(resolved) : String(resolved);
  }
  return attributes;
}

/**
 * Names every resource of the template and creates in moto those the functions use. The harness
 * clients must point at moto (endpoint and credentials of the tier itself).
 */
export async function deployToMoto(
  stack: SynthesizedStack,
  deployment: Deployment,
  clients: HarnessClients,
  functionEndpoint: string,
): Promise<DeployedStack> {
  const { template } = stack;
  const { region, accountId, stackName } = deployment;
  const physical = new Map<string, PhysicalResource>();
  const resolver = new Resolver(deployment, physical);
  const arn = (service: string, rest: string, withRegion = true) =>
    `arn:aws:${service}:${withRegion ? region : ""}:${accountId}:${rest}`;

  // Names and ARNs first: they depend on nothing.
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case "AWS::Lambda::Function": {
        const name =
          typeof p.FunctionName === "string" ? p.FunctionName : generatedName(stackName, logicalId, 64);
        physical.set(logicalId, { ref: name, attributes: { Arn: arn("lambda", `function:${name}`) } });
        break;
      }
      case "AWS::IAM::Role": {
        const name = typeof p.RoleName === "string" ? p.RoleName : generatedName(stackName, logicalId, 64);
        physical.set(logicalId, {
          ref: name,
          attributes: {
            Arn: arn("iam", `role${String(p.Path ?? "/")}${name}`, false),
            RoleId: `AROA${suffix(17).toUpperCase()}`,
          },
        });
        break;
      }
      case "AWS::Logs::LogGroup": {
        const name =
          typeof p.LogGroupName === "string" ? p.LogGroupName : generatedName(stackName, logicalId, 512);
        physical.set(logicalId, { ref: name, attributes: { Arn: arn("logs", `log-group:${name}:*`) } });
        break;
      }
      case "AWS::KMS::Key": {
        const keyId = randomUUID();
        physical.set(logicalId, {
          ref: keyId,
          attributes: { Arn: arn("kms", `key/${keyId}`), KeyId: keyId },
        });
        break;
      }
      case "AWS::ApiGatewayV2::Api": {
        const apiId = suffix(10).toLowerCase();
        physical.set(logicalId, {
          ref: apiId,
          attributes: { ApiId: apiId, ApiEndpoint: `https://${apiId}.execute-api.${region}.amazonaws.com` },
        });
        break;
      }
      case "AWS::SQS::Queue":
      case "AWS::SNS::Topic":
      case "AWS::SNS::Subscription":
      case "AWS::SecretsManager::Secret":
      case "AWS::DynamoDB::Table":
        break; // created in moto below
      default:
        physical.set(logicalId, { ref: generatedName(stackName, logicalId, 128), attributes: {} });
    }
  }

  // Queues, in dependency order: a dead-letter queue before the queue whose redrive names it.
  const queues = resourcesOfType(template, "AWS::SQS::Queue");
  const pending = new Map(queues);
  while (pending.size > 0) {
    const ready = [...pending].filter(([, queue]) => resolver.canResolve((queue.Properties ?? {}) as Json));
    if (ready.length === 0)
      throw new Error(`Cannot create queues ${[...pending.keys()].join(", ")}: unresolvable properties`);
    for (const [logicalId, queue] of ready) {
      pending.delete(logicalId);
      const p = queue.Properties ?? {};
      const fifo = p.FifoQueue === true;
      const name =
        typeof p.QueueName === "string"
          ? p.QueueName
          : generatedName(stackName, logicalId, fifo ? 75 : 80) + (fifo ? ".fifo" : "");
      const { QueueUrl: motoUrl } = await clients.sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: queueAttributes(p, resolver) }),
      );
      if (!motoUrl) throw new Error(`CreateQueue ${name} returned no URL`);
      // On AWS a queue URL's host is the SQS endpoint, and the SDK sends a queue's requests to its
      // URL's host: the functions' queue URLs name their endpoint, or their calls would bypass it.
      const QueueUrl = new URL(new URL(motoUrl).pathname, functionEndpoint).toString();
      physical.set(logicalId, {
        ref: QueueUrl,
        attributes: { Arn: arn("sqs", name), QueueName: name, QueueUrl },
      });
    }
  }

  const topicKeys = new Map<string, string>();
  for (const [logicalId, topic] of resourcesOfType(template, "AWS::SNS::Topic")) {
    const p = topic.Properties ?? {};
    const name = typeof p.TopicName === "string" ? p.TopicName : generatedName(stackName, logicalId, 256);
    const attributes: Record<string, string> = {};
    if (p.DisplayName !== undefined) attributes.DisplayName = resolver.string(p.DisplayName);
    if (p.KmsMasterKeyId !== undefined) attributes.KmsMasterKeyId = resolver.string(p.KmsMasterKeyId);
    const { TopicArn } = await clients.sns.send(
      new CreateTopicCommand({ Name: name, Attributes: attributes }),
    );
    if (!TopicArn) throw new Error(`CreateTopic ${name} returned no ARN`);
    if (attributes.KmsMasterKeyId) topicKeys.set(TopicArn, attributes.KmsMasterKeyId);
    physical.set(logicalId, { ref: TopicArn, attributes: { TopicArn, TopicName: name } });
  }

  const secretsByName = new Map<string, string>();
  for (const [logicalId, secret] of resourcesOfType(template, "AWS::SecretsManager::Secret")) {
    const p = secret.Properties ?? {};
    if (p.GenerateSecretString !== undefined) {
      throw new Error(`${logicalId}: GenerateSecretString is not supported by the bundle tier`);
    }
    const name = typeof p.Name === "string" ? p.Name : `${logicalId}-${suffix(12)}`;
    const { ARN } = await clients.secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        ...(p.SecretString !== undefined ? { SecretString: resolver.string(p.SecretString) } : {}),
        ...(p.Description !== undefined ? { Description: resolver.string(p.Description) } : {}),
      }),
    );
    if (!ARN) throw new Error(`CreateSecret ${name} returned no ARN`);
    secretsByName.set(name, ARN);
    physical.set(logicalId, { ref: ARN, attributes: { Id: ARN } });
  }

  for (const [logicalId, table] of resourcesOfType(template, "AWS::DynamoDB::Table")) {
    const p = resolver.resolve((table.Properties ?? {}) as Json) as Record<string, Json>;
    const name = typeof p.TableName === "string" ? p.TableName : generatedName(stackName, logicalId, 255);
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: p.KeySchema as never,
        AttributeDefinitions: p.AttributeDefinitions as never,
        BillingMode: (p.BillingMode as never) ?? "PROVISIONED",
        ...(p.ProvisionedThroughput ? { ProvisionedThroughput: p.ProvisionedThroughput as never } : {}),
        // The ledger's indexes: their keys are among the AttributeDefinitions, which must all be used.
        ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes as never } : {}),
      }),
    );
    const ttl = p.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean } | undefined;
    if (ttl?.Enabled) {
      await clients.dynamodb.send(
        new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: ttl }),
      );
    }
    physical.set(logicalId, { ref: name, attributes: { Arn: arn("dynamodb", `table/${name}`) } });
  }

  const subscriptions: CapturedSubscription[] = [];
  for (const [logicalId, subscription] of resourcesOfType(template, "AWS::SNS::Subscription")) {
    const p = subscription.Properties ?? {};
    const topicArn = resolver.string(p.TopicArn as Json);
    const protocol = String(p.Protocol);
    if (protocol !== "lambda") {
      throw new Error(`${logicalId}: the bundle tier substitutes lambda subscriptions only, not ${protocol}`);
    }
    const endpoint = p.Endpoint as { "Fn::GetAtt"?: [string, string] };
    const functionLogicalId = endpoint["Fn::GetAtt"]?.[0];
    if (!functionLogicalId) throw new Error(`${logicalId}: its Endpoint is not a function of the template`);
    const attributes: Record<string, string> = { RawMessageDelivery: String(p.RawMessageDelivery ?? false) };
    for (const name of ["FilterPolicyScope", "RedrivePolicy"] as const) {
      if (p[name] === undefined) continue;
      const resolved = resolver.resolve(p[name] as Json);
      attributes[name] = typeof resolved === "object" ? JSON.stringify(resolved) : String(resolved);
    }
    const policy = p.FilterPolicy === undefined ? undefined : resolver.resolve(p.FilterPolicy);
    let SubscriptionArn: string | undefined;
    const captureQueueUrls: string[] = [];
    for (const [index, branch] of (policy === undefined ? [undefined] : orBranches(policy)).entries()) {
      // A queue per branch: moto, like SNS, keeps one subscription per topic and endpoint.
      const { QueueUrl } = await clients.sqs.send(
        new CreateQueueCommand({ QueueName: `bundles-capture-${index}-${logicalId}`.slice(0, 80) }),
      );
      const { Attributes } = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }),
      );
      if (!QueueUrl) throw new Error(`CreateQueue for ${logicalId} returned no URL`);
      captureQueueUrls.push(QueueUrl);
      const { SubscriptionArn: arn } = await clients.sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: "sqs",
          Endpoint: Attributes?.QueueArn,
          Attributes:
            branch === undefined ? attributes : { ...attributes, FilterPolicy: JSON.stringify(branch) },
          ReturnSubscriptionArn: true,
        }),
      );
      SubscriptionArn ??= arn;
    }
    if (!SubscriptionArn) throw new Error(`Subscribe ${logicalId} returned no ARN`);
    physical.set(logicalId, { ref: SubscriptionArn, attributes: {} });
    subscriptions.push({
      logicalId,
      functionLogicalId,
      subscriptionArn: SubscriptionArn,
      captureQueueUrls,
      filterPolicy: p.FilterPolicy,
    });
  }

  const policies = policySource(template, resolver, physical);
  return {
    stack,
    deployment,
    physical,
    resolver,
    subscriptions,
    rolePolicies: (roleLogicalId) => policies.rolePolicies(roleLogicalId),
    resourcePolicies: (resourceArn) => policies.resourcePolicies(resourceArn),
    secretArn(secretId) {
      if (secretId.startsWith("arn:")) return secretId;
      const found = secretsByName.get(secretId);
      if (!found) throw new Error(`No secret named ${secretId} in the deployment`);
      return found;
    },
    topicKeyArn(topicArn) {
      const key = topicKeys.get(topicArn);
      if (!key) return undefined;
      // KmsMasterKeyId may be an ARN, a key id or an alias.
      return key.startsWith("arn:") ? key : arn("kms", `key/${key}`);
    },
  };
}

/**
 * The role and resource policies of `template`, resolved: the deployed template's, or a modified
 * copy's (the tier's proof that a removed grant fails the check).
 */
export function policySource(
  template: Template,
  resolver: Resolver,
  physical: Map<string, PhysicalResource>,
): {
  rolePolicies(roleLogicalId: string): NamedPolicy[];
  resourcePolicies(resourceArn: string): NamedPolicy[];
} {
  const documentOf = (owner: string, value: Json | undefined): PolicyDocument => {
    if (value === undefined) throw new Error(`${owner} has no PolicyDocument`);
    return resolver.resolve(value) as unknown as PolicyDocument;
  };
  const refersTo = (list: Json | undefined, logicalId: string) =>
    Array.isArray(list) && list.some((item) => (item as { Ref?: string })?.Ref === logicalId);

  return {
    rolePolicies(roleLogicalId) {
      const role = template.Resources[roleLogicalId] as TemplateResource | undefined;
      if (role?.Type !== "AWS::IAM::Role") throw new Error(`${roleLogicalId} is not a role of the template`);
      const p = role.Properties ?? {};
      if (p.PermissionsBoundary !== undefined)
        throw new Error(`${roleLogicalId}: permissions boundaries are not modelled`);
      const policies: NamedPolicy[] = [];
      for (const inline of (p.Policies ?? []) as { PolicyName: string; PolicyDocument: Json }[]) {
        policies.push({
          name: `${roleLogicalId}/${inline.PolicyName}`,
          document: documentOf(roleLogicalId, inline.PolicyDocument),
        });
      }
      for (const type of ["AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"]) {
        for (const [logicalId, policy] of resourcesOfType(template, type)) {
          if (!refersTo(policy.Properties?.Roles, roleLogicalId)) continue;
          policies.push({
            name: logicalId,
            document: documentOf(logicalId, policy.Properties?.PolicyDocument),
          });
        }
      }
      for (const managed of (p.ManagedPolicyArns ?? []) as Json[]) {
        const ref = (managed as { Ref?: string })?.Ref;
        const policy = ref ? template.Resources[ref] : undefined;
        if (policy?.Type === "AWS::IAM::ManagedPolicy") {
          if (!refersTo(policy.Properties?.Roles, roleLogicalId)) {
            policies.push({
              name: ref as string,
              document: documentOf(ref as string, policy.Properties?.PolicyDocument),
            });
          }
          continue;
        }
        throw new Error(
          `${roleLogicalId} uses the managed policy ${JSON.stringify(managed)}, whose statements the bundle tier cannot read`,
        );
      }
      return policies;
    },
    resourcePolicies(resourceArn) {
      const policies: NamedPolicy[] = [];
      const targets: [string, string][] = [
        ["AWS::SQS::QueuePolicy", "Queues"],
        ["AWS::SNS::TopicPolicy", "Topics"],
      ];
      for (const [type, listName] of targets) {
        for (const [logicalId, policy] of resourcesOfType(template, type)) {
          const owners = (policy.Properties?.[listName] ?? []) as Json[];
          const covers = owners.some((owner) => {
            const value = resolver.string(owner);
            // Queue policies name queues by URL, topic policies by ARN.
            const entry = [...physical.values()].find((resource) => resource.ref === value);
            return value === resourceArn || entry?.attributes.Arn === resourceArn;
          });
          if (covers)
            policies.push({
              name: logicalId,
              document: documentOf(logicalId, policy.Properties?.PolicyDocument),
            });
        }
      }
      return policies;
    },
  };
}
