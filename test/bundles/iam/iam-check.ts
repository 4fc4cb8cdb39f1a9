/**
 * The IAM check of the bundle tier: every AWS request a function made (recorded by
 * recorder.ts), and every permission Lambda itself uses with the function's role while running
 * it, evaluated against that role's policies in the template (iam-policy.ts). A request no
 * statement allows, or one an explicit Deny refuses, is a violation: on AWS it would fail with
 * AccessDenied.
 *
 * What Lambda does with the function's role, besides the function's own calls:
 * - writes its logs: `logs:CreateLogStream` and `logs:PutLogEvents` on its log group;
 * - with active tracing, sends trace segments: `xray:PutTraceSegments`, `xray:PutTelemetryRecords`;
 * - for an SQS event source, polls and deletes (the tier's poller makes these calls with the
 *   role's credentials, so they are recorded like the function's own);
 * - for an asynchronous invocation that fails for good, sends the record to the on-failure
 *   destination (recorded the same way).
 */

import type { DeployedStack } from "../deployment.js";
import type { StackFunction } from "../functions.js";
import { type CallContext, readCall } from "./aws-calls.js";
import { type AuthorizationRequest, evaluate, type NamedPolicy } from "./iam-policy.js";
import type { RecordedRequest } from "./recorder.js";

/** The principal key of a function's own calls, and of Lambda's calls with the function's role. */
export const principalOf = {
  code: (fn: Pick<StackFunction, "logicalId">) => fn.logicalId,
  lambda: (fn: Pick<StackFunction, "logicalId">) => `${fn.logicalId} (Lambda service, with its role)`,
};

export interface CheckedAuthorization extends AuthorizationRequest {
  function: string;
  principal: string;
  /** `SendMessageBatch`, or `(implied)` for a permission Lambda or a service uses. */
  operation: string;
  allowed: boolean;
  reason: string;
}

export interface PolicySource {
  rolePolicies(roleLogicalId: string): NamedPolicy[];
  resourcePolicies(resourceArn: string): NamedPolicy[];
}

/** What the check needs from a run: the functions that ran and what they sent. */
export interface RunRecord {
  functions: readonly StackFunction[];
  requests: readonly RecordedRequest[];
  /** Functions that ran at least once (their logs and traces were written). */
  ran: ReadonlySet<string>;
  /** Each function's log group and stream names. */
  logStreams: ReadonlyMap<string, { group: string; stream: string }>;
}

/**
 * Every authorization of the run with its verdict, against `policies` (the deployed template's,
 * or a modified copy's). Throws for a request it cannot read or from unknown credentials.
 */
export function checkRun(
  run: RunRecord,
  policies: PolicySource,
  context: CallContext & { region: string },
): CheckedAuthorization[] {
  const byPrincipal = new Map<string, StackFunction>();
  for (const fn of run.functions) {
    byPrincipal.set(principalOf.code(fn), fn);
    byPrincipal.set(principalOf.lambda(fn), fn);
  }
  const verdict = (
    fn: StackFunction,
    principal: string,
    operation: string,
    authorization: AuthorizationRequest,
  ): CheckedAuthorization => {
    const decision = evaluate(
      authorization,
      policies.rolePolicies(fn.roleLogicalId),
      policies.resourcePolicies(authorization.resource),
      fn.roleArn,
    );
    return { ...authorization, function: fn.logicalId, principal, operation, ...decision };
  };

  const checked: CheckedAuthorization[] = [];
  for (const request of run.requests) {
    const fn = byPrincipal.get(request.principal);
    if (!fn)
      throw new Error(`A request came with ${request.principal}: only the stack's functions may call AWS`);
    const call = readCall(request, fn.roleArn, context);
    for (const authorization of call.authorizations) {
      checked.push(verdict(fn, request.principal, call.operation, authorization));
    }
  }
  for (const fn of run.functions) {
    if (!run.ran.has(fn.logicalId)) continue;
    const principal = principalOf.lambda(fn);
    const base = { "aws:SecureTransport": "true", "aws:PrincipalArn": fn.roleArn };
    const log = run.logStreams.get(fn.logicalId);
    if (log) {
      const streamArn = `arn:aws:logs:${context.region}:${context.accountId}:log-group:${log.group}:log-stream:${log.stream}`;
      for (const action of ["logs:CreateLogStream", "logs:PutLogEvents"]) {
        checked.push(
          verdict(fn, principal, "(implied: Lambda writes the function's logs)", {
            action,
            resource: streamArn,
            context: base,
          }),
        );
      }
    }
    if (fn.tracing) {
      for (const action of ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]) {
        checked.push(
          verdict(fn, principal, "(implied: active tracing)", { action, resource: "*", context: base }),
        );
      }
    }
  }
  return checked;
}

/** The refused ones, one line each, for an assertion message. */
export function describeViolations(checked: readonly CheckedAuthorization[]): string[] {
  const lines = checked
    .filter((item) => !item.allowed)
    .map(
      (item) =>
        `${item.function}: ${item.operation} needs ${item.action} on ${item.resource}: ${item.reason}`,
    );
  return [...new Set(lines)];
}

/**
 * Whether the template lets `service` (`sns.amazonaws.com`, `apigateway.amazonaws.com`) invoke
 * the function from `sourceArn`: an AWS::Lambda::Permission whose SourceArn matches as ArnLike.
 */
export function serviceMayInvoke(
  deployed: DeployedStack,
  functionLogicalId: string,
  service: string,
  sourceArn: string,
): boolean {
  const { resolver, deployment } = deployed;
  const names = new Set([resolver.ref(functionLogicalId), resolver.getAtt(functionLogicalId, "Arn")]);
  return Object.values(deployed.stack.template.Resources).some((resource) => {
    if (resource.Type !== "AWS::Lambda::Permission") return false;
    const p = resource.Properties ?? {};
    if (!names.has(resolver.string(p.FunctionName ?? ""))) return false;
    if (p.Principal !== service) return false;
    if (p.Action !== "lambda:InvokeFunction" && p.Action !== "lambda:*") return false;
    if (p.SourceAccount !== undefined && resolver.string(p.SourceAccount) !== deployment.accountId)
      return false;
    if (p.SourceArn === undefined) return true;
    return evaluate(
      { action: "lambda:InvokeFunction", resource: "*", context: { "aws:SourceArn": sourceArn } },
      [
        {
          name: "permission",
          document: {
            Statement: [
              {
                Effect: "Allow",
                Action: "*",
                Resource: "*",
                Condition: { ArnLike: { "aws:SourceArn": resolver.string(p.SourceArn) } },
              },
            ],
          },
        },
      ],
    ).allowed;
  });
}
