/**
 * A local evaluator of SNS subscription filter policies (message-attribute scope), so the local
 * stack routes alerts exactly as the topic's subscriptions do in AWS. It covers what
 * `filterPolicyFor` produces and the rest of the string operators, with the semantics the SNS
 * developer guide documents:
 *
 * - `{}` matches every message;
 * - every key of a policy must match (AND); `$or` holds sub-policies of which one must match, and
 *   may sit beside other keys;
 * - a key's array matches when any of its conditions does (OR): an exact string, `prefix`,
 *   `suffix`, `equals-ignore-case`, `anything-but` (a string, a list, or a `prefix`/`suffix`),
 *   `exists`;
 * - an attribute the message lacks fails every condition except `"exists": false`, which in turn
 *   never matches a message that has no attributes at all. `anything-but` needs the attribute:
 *   SNS has it combined with `"exists": false` to also accept messages without it.
 *
 * Anything else (numeric matching, nested objects, malformed values) throws
 * `InvalidFilterPolicyError`: SNS would refuse such a policy, so silently not matching would hide
 * a configuration error.
 */
import { ConfigurationError } from "../lambdas/runtime/errors.js";
import type { FilterPolicy } from "./routing.js";

/** `anything-but` accepts one value, several, or a prefix / suffix to exclude. */
export type AnythingBut = string | readonly string[] | { prefix: string } | { suffix: string };

/** One condition of a key's array (string operators of the SNS filter policy language). */
export type SnsFilterCondition =
  | string
  | { "anything-but": AnythingBut }
  | { prefix: string }
  | { suffix: string }
  | { "equals-ignore-case": string }
  | { exists: boolean };

/**
 * An SNS filter policy in message-attribute scope: attribute name → conditions, plus `$or` →
 * sub-policies. The relay's own `FilterPolicy` (lib/routing.ts) is a subset of it.
 */
export type SnsFilterPolicy = {
  readonly [key: string]: readonly SnsFilterCondition[] | readonly SnsFilterPolicy[];
};

/** The policy is not one SNS would accept, or uses an operator this evaluator does not know. */
export class InvalidFilterPolicyError extends ConfigurationError {
  override name = "InvalidFilterPolicyError";
}

const OR_KEY = "$or";

/**
 * True when a message with these `String` message attributes passes `policy`, as an SNS
 * subscription with that filter policy (scope `MessageAttributes`) would decide. Throws
 * `InvalidFilterPolicyError` for a policy SNS would reject or that uses unsupported operators.
 */
export function matchesFilterPolicy(
  policy: FilterPolicy | SnsFilterPolicy,
  attributes: Readonly<Record<string, string>>,
): boolean {
  return matchesPolicy(policy, attributes, "policy");
}

function matchesPolicy(policy: unknown, attributes: Readonly<Record<string, string>>, path: string): boolean {
  if (!isPlainObject(policy)) throw new InvalidFilterPolicyError(`${path} must be a JSON object`);
  // Every key is checked, even after a miss, so a malformed policy fails loudly whatever the message.
  let matched = true;
  for (const [key, value] of Object.entries(policy)) {
    const keyMatched =
      key === OR_KEY
        ? matchesAnyPolicy(value, attributes, `${path}.${OR_KEY}`)
        : matchesAnyCondition(value, attributes, key, `${path}.${key}`);
    matched = keyMatched && matched;
  }
  return matched;
}

function matchesAnyPolicy(
  policies: unknown,
  attributes: Readonly<Record<string, string>>,
  path: string,
): boolean {
  if (!Array.isArray(policies) || policies.length === 0) {
    throw new InvalidFilterPolicyError(`${path} must be a non-empty array of policies`);
  }
  return policies
    .map((policy, index) => matchesPolicy(policy, attributes, `${path}[${index}]`))
    .some((matched) => matched);
}

function matchesAnyCondition(
  conditions: unknown,
  attributes: Readonly<Record<string, string>>,
  name: string,
  path: string,
): boolean {
  if (!Array.isArray(conditions) || conditions.length === 0) {
    throw new InvalidFilterPolicyError(`${path} must be a non-empty array of conditions`);
  }
  const value = Object.hasOwn(attributes, name) ? attributes[name] : undefined;
  const hasAnyAttribute = Object.keys(attributes).length > 0;
  return conditions
    .map((condition, index) => matchesCondition(condition, value, hasAnyAttribute, `${path}[${index}]`))
    .some((matched) => matched);
}

function matchesCondition(
  condition: unknown,
  value: string | undefined,
  hasAnyAttribute: boolean,
  path: string,
): boolean {
  if (typeof condition === "string") return value === condition;
  if (!isPlainObject(condition)) {
    throw new InvalidFilterPolicyError(
      `${path}: only string values and string operators are supported (got ${describe(condition)})`,
    );
  }
  const entries = Object.entries(condition);
  const [entry] = entries;
  if (entries.length !== 1 || !entry) {
    throw new InvalidFilterPolicyError(`${path} must hold exactly one operator`);
  }
  const [operator, operand] = entry;
  switch (operator) {
    case "exists":
      if (typeof operand !== "boolean") {
        throw new InvalidFilterPolicyError(`${path}.exists must be a boolean`);
      }
      // SNS: `"exists": false` does not match a message without any attribute.
      return operand ? value !== undefined : value === undefined && hasAnyAttribute;
    case "prefix": {
      const prefix = stringOperand(operand, `${path}.prefix`);
      return value?.startsWith(prefix) === true;
    }
    case "suffix": {
      const suffix = stringOperand(operand, `${path}.suffix`);
      return value?.endsWith(suffix) === true;
    }
    case "equals-ignore-case": {
      const expected = stringOperand(operand, `${path}.equals-ignore-case`).toLowerCase();
      return value?.toLowerCase() === expected;
    }
    case "anything-but":
      return matchesAnythingBut(operand, value, `${path}.anything-but`);
    default:
      throw new InvalidFilterPolicyError(`${path}: unsupported operator "${operator}"`);
  }
}

function matchesAnythingBut(operand: unknown, value: string | undefined, path: string): boolean {
  // Validate first: a bad operand is an error even for a message that lacks the attribute.
  let excluded: (candidate: string) => boolean;
  if (typeof operand === "string") {
    excluded = (candidate) => candidate === operand;
  } else if (Array.isArray(operand)) {
    if (operand.length === 0) throw new InvalidFilterPolicyError(`${path} must not be empty`);
    const values = operand.map((item, index) => stringOperand(item, `${path}[${index}]`));
    excluded = (candidate) => values.includes(candidate);
  } else if (isPlainObject(operand) && Object.keys(operand).length === 1 && "prefix" in operand) {
    const prefix = stringOperand(operand.prefix, `${path}.prefix`);
    excluded = (candidate) => candidate.startsWith(prefix);
  } else if (isPlainObject(operand) && Object.keys(operand).length === 1 && "suffix" in operand) {
    const suffix = stringOperand(operand.suffix, `${path}.suffix`);
    excluded = (candidate) => candidate.endsWith(suffix);
  } else {
    throw new InvalidFilterPolicyError(`${path} must be a string, an array of strings, or a prefix/suffix`);
  }
  return value !== undefined && !excluded(value);
}

function stringOperand(operand: unknown, path: string): string {
  if (typeof operand !== "string") throw new InvalidFilterPolicyError(`${path} must be a string`);
  return operand;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}
