/**
 * IAM policy evaluation for one request, as AWS documents it for a principal and a resource in the
 * same account (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny in any applicable policy wins; otherwise the request is allowed when an Allow
 * statement of the principal's identity policies, or of the resource's policy naming the
 * principal, matches it; otherwise it is implicitly denied.
 *
 * A statement matches when its Action (or NotAction) and Resource (or NotResource) match, `*` and
 * `?` wildcards included (actions case-insensitively, resources case-sensitively), and every
 * condition holds. Conditions: the String, Arn, Bool and Null operators, `...IfExists`, and the
 * `ForAnyValue:` / `ForAllValues:` set prefixes; an operator the evaluator does not know throws,
 * since guessing would let a policy pass or fail for the wrong reason. Permissions boundaries,
 * SCPs and session policies are not modelled: the stack defines none.
 */

export type ContextValue = string | readonly string[];

/** One authorization AWS performs for an API call. */
export interface AuthorizationRequest {
  /** `sqs:SendMessage`. */
  action: string;
  /** The resource ARN, or `*` for actions that take none. */
  resource: string;
  /** Condition keys and their values (`ses:FromAddress`, `aws:SecureTransport`, ...). */
  context: Record<string, ContextValue>;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  NotPrincipal?: unknown;
  Condition?: Record<string, Record<string, string | boolean | number | (string | boolean | number)[]>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** A policy with where it comes from, for the verdict's explanation. */
export interface NamedPolicy {
  name: string;
  document: PolicyDocument;
}

export interface Decision {
  allowed: boolean;
  /** `allowed by <policy> statement <n>`, `explicitly denied by ...`, `no statement allows it`. */
  reason: string;
}

function list<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** `pattern` with IAM's `*` and `?` wildcards, as a regular expression. */
function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, ignoreCase ? "is" : "s");
}

export function actionMatches(pattern: string, action: string): boolean {
  return wildcard(pattern, true).test(action);
}

export function resourceMatches(pattern: string, resource: string): boolean {
  // A statement's `*` covers every resource, including actions that take none (`*` requests).
  if (pattern === "*") return true;
  return wildcard(pattern, false).test(resource);
}

type Comparator = (expected: string, actual: string) => boolean;

const COMPARATORS: Record<string, { compare: Comparator; negated: boolean }> = {
  StringEquals: { compare: (e, a) => e === a, negated: false },
  StringNotEquals: { compare: (e, a) => e === a, negated: true },
  StringEqualsIgnoreCase: { compare: (e, a) => e.toLowerCase() === a.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { compare: (e, a) => e.toLowerCase() === a.toLowerCase(), negated: true },
  StringLike: { compare: (e, a) => wildcard(e, false).test(a), negated: false },
  StringNotLike: { compare: (e, a) => wildcard(e, false).test(a), negated: true },
  ArnEquals: { compare: (e, a) => e === a, negated: false },
  ArnNotEquals: { compare: (e, a) => e === a, negated: true },
  ArnLike: { compare: (e, a) => wildcard(e, false).test(a), negated: false },
  ArnNotLike: { compare: (e, a) => wildcard(e, false).test(a), negated: true },
  Bool: { compare: (e, a) => e.toLowerCase() === a.toLowerCase(), negated: false },
};

function contextValue(context: Record<string, ContextValue>, key: string): readonly string[] | undefined {
  const found = Object.entries(context).find(([name]) => name.toLowerCase() === key.toLowerCase());
  if (!found) return undefined;
  return typeof found[1] === "string" ? [found[1]] : found[1];
}

/** Whether one condition block entry (`operator: {key: values}`) holds for `context`. */
function conditionHolds(
  operatorName: string,
  entries: Record<string, unknown>,
  context: Record<string, ContextValue>,
): boolean {
  let operator = operatorName;
  let set: "any" | "all" | undefined;
  if (operator.startsWith("ForAnyValue:")) {
    set = "any";
    operator = operator.slice("ForAnyValue:".length);
  } else if (operator.startsWith("ForAllValues:")) {
    set = "all";
    operator = operator.slice("ForAllValues:".length);
  }
  const ifExists = operator.endsWith("IfExists");
  if (ifExists) operator = operator.slice(0, -"IfExists".length);

  return Object.entries(entries).every(([key, rawExpected]) => {
    const expected = list(rawExpected as unknown).map(String);
    const actual = contextValue(context, key);
    if (operator === "Null") {
      // Null: true means "the key is absent".
      return expected.some((value) => (value.toLowerCase() === "true") === (actual === undefined));
    }
    const comparator = COMPARATORS[operator];
    if (!comparator)
      throw new Error(`The IAM evaluator does not know the condition operator ${operatorName}`);
    if (actual === undefined || actual.length === 0) {
      if (ifExists) return true;
      if (set === "all") return true;
      if (set === "any") return false;
      // A missing key fails a positive operator and satisfies a negated one (IAM's rule).
      return comparator.negated;
    }
    const matchesOne = (value: string) => expected.some((candidate) => comparator.compare(candidate, value));
    // Negated operators hold when the value matches none of the expected values.
    const holds = (value: string) => (comparator.negated ? !matchesOne(value) : matchesOne(value));
    if (set === "all") return actual.every(holds);
    if (set === "any") return actual.some(holds);
    // A single-valued operator on a multi-valued key: every value must satisfy it, the stricter reading.
    return actual.every(holds);
  });
}

function statementMatches(statement: PolicyStatement, request: AuthorizationRequest): boolean {
  const actionOk =
    statement.Action !== undefined
      ? list(statement.Action).some((pattern) => actionMatches(pattern, request.action))
      : statement.NotAction !== undefined
        ? !list(statement.NotAction).some((pattern) => actionMatches(pattern, request.action))
        : false;
  if (!actionOk) return false;
  const resourceOk =
    statement.Resource !== undefined
      ? list(statement.Resource).some((pattern) => resourceMatches(pattern, request.resource))
      : statement.NotResource !== undefined
        ? !list(statement.NotResource).some((pattern) => resourceMatches(pattern, request.resource))
        : // A resource policy statement may leave Resource out: it then means its own resource.
          statement.Principal !== undefined;
  if (!resourceOk) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, entries]) =>
    conditionHolds(operator, entries as Record<string, unknown>, request.context),
  );
}

/** Whether a resource policy statement's Principal names `principalArn` (or everyone). */
export function principalMatches(principal: unknown, principalArn: string): boolean {
  if (principal === "*") return true;
  if (!principal || typeof principal !== "object") return false;
  const aws = list((principal as { AWS?: string | string[] }).AWS);
  // The account root in a same-account resource policy delegates to IAM policies: it grants nothing itself.
  return aws.some((value) => value === "*" || value === principalArn);
}

/**
 * The verdict for `request` made by `principalArn` under its identity policies and, when the
 * resource has one, the resource's policy.
 */
export function evaluate(
  request: AuthorizationRequest,
  identityPolicies: readonly NamedPolicy[],
  resourcePolicies: readonly NamedPolicy[] = [],
  principalArn = "",
): Decision {
  let allowedBy: string | undefined;
  const consider = (policy: NamedPolicy, statement: PolicyStatement, index: number): Decision | undefined => {
    if (!statementMatches(statement, request)) return undefined;
    const name = `${policy.name} statement ${statement.Sid ?? index}`;
    if (statement.Effect === "Deny") return { allowed: false, reason: `explicitly denied by ${name}` };
    allowedBy ??= name;
    return undefined;
  };
  for (const policy of identityPolicies) {
    for (const [index, statement] of list(policy.document.Statement).entries()) {
      const denied = consider(policy, statement, index);
      if (denied) return denied;
    }
  }
  for (const policy of resourcePolicies) {
    for (const [index, statement] of list(policy.document.Statement).entries()) {
      if (statement.NotPrincipal !== undefined) {
        throw new Error(`${policy.name}: NotPrincipal is not supported by the bundle tier's evaluator`);
      }
      if (!principalMatches(statement.Principal, principalArn)) continue;
      const denied = consider(policy, statement, index);
      if (denied) return denied;
    }
  }
  return allowedBy
    ? { allowed: true, reason: `allowed by ${allowedBy}` }
    : { allowed: false, reason: "no statement allows it (implicit deny)" };
}
