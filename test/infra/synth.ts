/**
 * Synthesizes the relay the way bin/app.ts does (same app factory, cdk.json feature flags) but
 * without bundling, so the infrastructure tests need neither esbuild runs nor AWS. cdk-nag is not
 * registered as a synth plugin here (a finding would fail every test at once): the nag test runs
 * the same AwsSolutions checks on the stack itself.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { cdkJsonContext, createRelayApp } from "../../lib/relay-app.js";
import type { RelayStack } from "../../lib/relay-stack.js";
import type { RelaySettings } from "../../lib/settings.js";

export interface Synthesized {
  readonly stack: RelayStack;
  readonly template: Template;
  /** The logical id of a construct's CloudFormation resource (its default child). */
  readonly logicalId: (construct: IConstruct) => string;
}

/** Builds and synthesizes the SqreenRelay stack for `settings`, bundling skipped. */
export function synthesizeRelay(settings: RelaySettings): Synthesized {
  const { stack } = createRelayApp({
    settings,
    nag: false,
    appProps: {
      outdir: mkdtempSync(path.join(tmpdir(), "relay-cdk-test-")),
      // An empty list of stacks to bundle: NodejsFunction points at the handlers without running esbuild.
      context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] },
    },
  });
  const template = Template.fromStack(stack);
  const logicalId = (construct: IConstruct): string => {
    const resource = (construct.node.defaultChild ?? construct) as CfnElement;
    return stack.getLogicalId(resource);
  };
  return { stack, template, logicalId };
}

/** A CloudFormation resource as it appears in the template. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

/** An IAM policy statement as it appears in the template. */
export interface TemplateStatement {
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every resource of a type, by logical id. */
export function resourcesOfType(template: Template, type: string): Record<string, TemplateResource> {
  return template.findResources(type) as Record<string, TemplateResource>;
}

/** The one resource of a type; throws when there is none or several. */
export function onlyResourceOfType(template: Template, type: string): TemplateResource {
  const [resource, ...others] = Object.values(resourcesOfType(template, type));
  if (resource === undefined || others.length > 0) throw new Error(`Expected exactly one ${type}`);
  return resource;
}

/** The environment variables of a function resource. */
export function environmentOf(fn: TemplateResource | undefined): Record<string, unknown> {
  if (fn === undefined) throw new Error("No such function");
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** The actions of a statement, always as a list. */
export function actionsOf(statement: TemplateStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Every statement a role grants: its inline policies and every AWS::IAM::Policy attached to it. */
export function statementsOfRole(template: Template, roleLogicalId: string): TemplateStatement[] {
  const role = resourcesOfType(template, "AWS::IAM::Role")[roleLogicalId];
  if (role === undefined) throw new Error(`No role ${roleLogicalId}`);
  const inline = (
    (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: TemplateStatement[] } }[]
  ).flatMap((policy) => policy.PolicyDocument.Statement);
  const attached = Object.values(resourcesOfType(template, "AWS::IAM::Policy"))
    .filter((policy) =>
      (policy.Properties.Roles as unknown[]).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: TemplateStatement[] }).Statement);
  return [...inline, ...attached];
}

/** The statements of a role that allow `action`. */
export function statementsAllowing(
  template: Template,
  roleLogicalId: string,
  action: string,
): TemplateStatement[] {
  return statementsOfRole(template, roleLogicalId).filter(
    (statement) => statement.Effect === "Allow" && actionsOf(statement).includes(action),
  );
}

/** Values the pseudo parameters take when a test resolves an ARN as a deployment would. */
export const TEST_DEPLOYMENT = { partition: "aws", region: "eu-west-1", accountId: "123456789012" } as const;

/**
 * A template value (a string, `Ref` to a pseudo parameter or to one of `refs`, or `Fn::Join` of
 * those) resolved as in a deployment to TEST_DEPLOYMENT; throws on anything else.
 */
export function resolvePseudo(value: unknown, refs: Readonly<Record<string, string>> = {}): string {
  if (typeof value === "string") return value;
  const object = value as Record<string, unknown>;
  const pseudo: Record<string, string> = {
    "AWS::Partition": TEST_DEPLOYMENT.partition,
    "AWS::Region": TEST_DEPLOYMENT.region,
    "AWS::AccountId": TEST_DEPLOYMENT.accountId,
    ...refs,
  };
  const ref = object.Ref;
  if (typeof ref === "string" && pseudo[ref] !== undefined) return pseudo[ref];
  const join = object["Fn::Join"] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map((part) => resolvePseudo(part, refs)).join(join[0]);
  throw new Error(`Cannot resolve ${JSON.stringify(value)} without deploying`);
}

/** IAM's wildcard match of a resource pattern (`*` any run of characters, `?` one). */
export function arnMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${regex}$`).test(arn);
}

/**
 * True when one of the role's Allow statements lets `action` on `resourceArn` with the request's
 * condition keys (`StringEquals` only: what the relay's statements use).
 */
export function roleAllows(
  statements: readonly TemplateStatement[],
  action: string,
  resourceArn: string,
  context: Readonly<Record<string, string>> = {},
): boolean {
  return statements.some((statement) => {
    if (statement.Effect !== "Allow" || !actionsOf(statement).includes(action)) return false;
    const resources = [statement.Resource ?? []].flat().map((value) => resolvePseudo(value));
    if (!resources.some((pattern) => arnMatches(pattern, resourceArn))) return false;
    const conditions = Object.entries(statement.Condition ?? {});
    return conditions.every(
      ([operator, keys]) =>
        operator === "StringEquals" &&
        Object.entries(keys).every(([key, expected]) => [expected].flat().includes(context[key])),
    );
  });
}
