/**
 * Routing rules as SNS subscription filter policies. The CDK stack puts exactly these policies on
 * the subscriptions, the local pipeline evaluates them with `matchesFilterPolicy`, and the
 * integration tier hands them to the emulator: one definition, three consumers.
 */
import { type AlertKind, severitiesAtLeast } from "../lambdas/contracts/alert.js";
import { ALERT_ATTRIBUTES } from "../lambdas/contracts/messages.js";
import type { RouteFilter } from "./settings.js";

const TEST_KIND: AlertKind = "test";

/** The subset of the SNS filter policy language (attribute scope) the relay produces. */
export type FilterCondition = string | { "anything-but": string[] };
export type FilterPolicy = { [attribute: string]: FilterCondition[] } | { $or: FilterPolicy[] };

/**
 * The filter policy of one backend's subscription: the backend's filter, or any internal alert
 * (the relay under attack reaches every channel whatever its filter), or any test notification
 * (Sqreen's "test your configuration" exists to show that every backend works, and its alert is
 * `info` with no application: most filters would hold it back). Tests are recognised by the
 * `kind` route derives, the same value for v1 and v2.
 */
export function filterPolicyFor(filter: RouteFilter): FilterPolicy {
  const conditions: { [attribute: string]: FilterCondition[] } = {};
  if (filter.minSeverity !== "info")
    conditions[ALERT_ATTRIBUTES.severity] = severitiesAtLeast(filter.minSeverity);
  if (filter.types) conditions[ALERT_ATTRIBUTES.type] = [...filter.types];
  if (filter.environments) conditions[ALERT_ATTRIBUTES.environment] = [...filter.environments];
  // An empty policy matches everything; an `$or` with an empty branch is invalid in SNS.
  if (Object.keys(conditions).length === 0) return {};
  return {
    $or: [{ [ALERT_ATTRIBUTES.internal]: ["true"] }, { [ALERT_ATTRIBUTES.kind]: [TEST_KIND] }, conditions],
  };
}
