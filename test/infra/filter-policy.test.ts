import { describe, expect, it } from "vitest";
import type { Severity } from "../../lambdas/contracts/alert.js";
import { alertAttributes } from "../../lambdas/contracts/alert-message.js";
import { normalizeNotification } from "../../lambdas/contracts/normalize.js";
import {
  InvalidFilterPolicyError,
  matchesFilterPolicy,
  type SnsFilterPolicy,
} from "../../lib/filter-policy.js";
import { filterPolicyFor } from "../../lib/routing.js";
import { routeFilterSchema } from "../../lib/settings.js";
import { firstOf, RECEIVED_AT } from "../unit/route/support.js";

/** The attributes route sets on every alert (alert-attributes.ts), with overrides. */
function attributes(overrides: Partial<Record<string, string>> = {}): Record<string, string> {
  const base: Record<string, string> = {
    type: "security_event",
    kind: "security_event",
    severity: "medium",
    internal: "false",
    environment: "production",
    application: "64b7f0c2e4a1d9001f3c5a88",
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

describe("matchesFilterPolicy on the policies filterPolicyFor produces", () => {
  describe("the default log filter (everything)", () => {
    const policy = filterPolicyFor(routeFilterSchema.parse({}));

    it("is the empty policy", () => {
      expect(policy).toEqual({});
    });

    it.each<Severity>(["info", "low", "medium", "high", "critical"])(
      "lets a %s alert through",
      (severity) => {
        expect(matchesFilterPolicy(policy, attributes({ severity }))).toBe(true);
      },
    );

    it("lets a message without attributes through", () => {
      expect(matchesFilterPolicy(policy, {})).toBe(true);
    });
  });

  describe("the default SMS filter (minSeverity high)", () => {
    const policy = filterPolicyFor(routeFilterSchema.parse({ minSeverity: "high" }));

    it.each<[Severity, boolean]>([
      ["info", false],
      ["low", false],
      ["medium", false],
      ["high", true],
      ["critical", true],
    ])("for a non-internal %s alert answers %s", (severity, expected) => {
      expect(matchesFilterPolicy(policy, attributes({ severity }))).toBe(expected);
    });

    it.each<Severity>(["info", "low", "medium"])("lets an internal %s alert through anyway", (severity) => {
      expect(matchesFilterPolicy(policy, attributes({ severity, internal: "true" }))).toBe(true);
    });
  });

  describe("a filter on types and environments above medium", () => {
    const policy = filterPolicyFor(
      routeFilterSchema.parse({
        minSeverity: "medium",
        types: ["security_event", "account_takeover"],
        environments: ["production"],
      }),
    );

    it("lets through an alert meeting every condition", () => {
      expect(matchesFilterPolicy(policy, attributes({ type: "account_takeover", severity: "high" }))).toBe(
        true,
      );
    });

    it.each([
      ["its type is not listed", { type: "pulse" }],
      ["its environment is not listed", { environment: "staging" }],
      ["its environment is unknown", { environment: "unknown" }],
      ["its severity is too low", { severity: "low" }],
      ["it lacks the environment attribute", { environment: undefined }],
    ])("holds back an alert when %s", (_reason, overrides) => {
      expect(matchesFilterPolicy(policy, attributes(overrides))).toBe(false);
    });

    it("lets an internal alert through even when it meets none of the conditions", () => {
      const internal = attributes({
        internal: "true",
        type: "test",
        environment: "development",
        severity: "info",
      });

      expect(matchesFilterPolicy(policy, internal)).toBe(true);
    });

    it("holds back an alert whose internal attribute is anything but exactly true", () => {
      expect(matchesFilterPolicy(policy, attributes({ internal: "TRUE", type: "test" }))).toBe(false);
    });
  });
});

describe('test notifications (Sqreen\'s "test your configuration") under any filter', () => {
  // The attributes route really sets on a test alert: kind test, severity info, no application.
  const testAlertAttributes = (file: string): Record<string, string> =>
    alertAttributes(normalizeNotification(firstOf(file), { receivedAt: RECEIVED_AT, ownApplicationIds: [] }));
  const filters = {
    "the default SMS filter": { minSeverity: "high" },
    "a critical-only filter": { minSeverity: "critical" },
    "a filter on types that does not list test": { types: ["security_event", "pulse"] },
    "a filter on environments the test does not name": { environments: ["no-such-environment"] },
    "the example configuration's Slack filter": {
      minSeverity: "medium",
      types: ["security_event", "pulse", "account_takeover"],
    },
  } as const;

  it.each(
    Object.entries(filters).flatMap(([name, filter]) =>
      ["v1-test.json", "v2-test.json"].map((file) => [file, name, filter] as const),
    ),
  )("lets the %s alert through %s, as an internal alert would be", (file, _name, filter) => {
    const policy = filterPolicyFor(routeFilterSchema.parse(filter));

    expect(matchesFilterPolicy(policy, testAlertAttributes(file))).toBe(true);
  });

  it("still holds back an ordinary info alert under those filters", () => {
    const policy = filterPolicyFor(routeFilterSchema.parse({ minSeverity: "high" }));

    expect(matchesFilterPolicy(policy, attributes({ severity: "info" }))).toBe(false);
  });

  it("lets through only the kind route derives, not a source type that merely says test", () => {
    const policy = filterPolicyFor(routeFilterSchema.parse({ minSeverity: "high" }));

    expect(matchesFilterPolicy(policy, attributes({ type: "test", kind: "unknown", severity: "info" }))).toBe(
      false,
    );
  });
});

describe("matchesFilterPolicy semantics", () => {
  it("requires every key to match (AND)", () => {
    const policy = { type: ["pulse"], environment: ["production"] };

    expect(matchesFilterPolicy(policy, attributes({ type: "pulse" }))).toBe(true);
    expect(matchesFilterPolicy(policy, attributes({ type: "pulse", environment: "staging" }))).toBe(false);
  });

  it("requires any value of a key's array to match (OR)", () => {
    const policy = { environment: ["staging", "production"] };

    expect(matchesFilterPolicy(policy, attributes({ environment: "staging" }))).toBe(true);
    expect(matchesFilterPolicy(policy, attributes({ environment: "development" }))).toBe(false);
  });

  it("compares values exactly, case included", () => {
    expect(
      matchesFilterPolicy({ environment: ["production"] }, attributes({ environment: "Production" })),
    ).toBe(false);
  });

  it("combines $or with the keys beside it", () => {
    const policy: SnsFilterPolicy = {
      kind: ["incident"],
      $or: [{ severity: ["critical"] }, { environment: ["production"] }],
    };

    expect(
      matchesFilterPolicy(
        policy,
        attributes({ kind: "incident", environment: "staging", severity: "critical" }),
      ),
    ).toBe(true);
    expect(matchesFilterPolicy(policy, attributes({ kind: "incident", environment: "staging" }))).toBe(false);
    expect(matchesFilterPolicy(policy, attributes({ kind: "test", severity: "critical" }))).toBe(false);
  });

  it("evaluates nested $or", () => {
    const policy: SnsFilterPolicy = {
      $or: [{ internal: ["true"] }, { $or: [{ type: ["pulse"] }, { type: ["account_takeover"] }] }],
    };

    expect(matchesFilterPolicy(policy, attributes({ type: "account_takeover" }))).toBe(true);
    expect(matchesFilterPolicy(policy, attributes({ type: "test" }))).toBe(false);
  });

  it("matches anything-but only values outside its list", () => {
    const policy = { environment: [{ "anything-but": ["development", "staging"] }] };

    expect(matchesFilterPolicy(policy, attributes({ environment: "production" }))).toBe(true);
    expect(matchesFilterPolicy(policy, attributes({ environment: "staging" }))).toBe(false);
  });

  it("accepts anything-but with one value or a prefix", () => {
    expect(matchesFilterPolicy({ type: [{ "anything-but": "test" }] }, attributes({ type: "test" }))).toBe(
      false,
    );
    expect(matchesFilterPolicy({ type: [{ "anything-but": "test" }] }, attributes({ type: "pulse" }))).toBe(
      true,
    );
    expect(
      matchesFilterPolicy(
        { environment: [{ "anything-but": { prefix: "dev" } }] },
        attributes({ environment: "dev-1" }),
      ),
    ).toBe(false);
  });

  it("does not match anything-but when the attribute is absent, unless exists false is offered too", () => {
    const withoutEnvironment = attributes({ environment: undefined });

    expect(matchesFilterPolicy({ environment: [{ "anything-but": ["staging"] }] }, withoutEnvironment)).toBe(
      false,
    );
    expect(
      matchesFilterPolicy(
        { environment: [{ "anything-but": ["staging"] }, { exists: false }] },
        withoutEnvironment,
      ),
    ).toBe(true);
  });

  it("fails exact, prefix and exists true conditions on an absent attribute", () => {
    const withoutEnvironment = attributes({ environment: undefined });

    expect(matchesFilterPolicy({ environment: ["production"] }, withoutEnvironment)).toBe(false);
    expect(matchesFilterPolicy({ environment: [{ prefix: "" }] }, withoutEnvironment)).toBe(false);
    expect(matchesFilterPolicy({ environment: [{ exists: true }] }, withoutEnvironment)).toBe(false);
  });

  it("matches exists true on a present attribute and exists false only on an absent one", () => {
    expect(matchesFilterPolicy({ environment: [{ exists: true }] }, attributes())).toBe(true);
    expect(matchesFilterPolicy({ environment: [{ exists: false }] }, attributes())).toBe(false);
    expect(
      matchesFilterPolicy({ environment: [{ exists: false }] }, attributes({ environment: undefined })),
    ).toBe(true);
  });

  it("does not match exists false on a message without any attribute, as SNS documents", () => {
    expect(matchesFilterPolicy({ environment: [{ exists: false }] }, {})).toBe(false);
  });

  it("matches prefix, suffix and equals-ignore-case", () => {
    const alert = attributes({ environment: "production-eu" });

    expect(matchesFilterPolicy({ environment: [{ prefix: "production" }] }, alert)).toBe(true);
    expect(matchesFilterPolicy({ environment: [{ prefix: "staging" }] }, alert)).toBe(false);
    expect(matchesFilterPolicy({ environment: [{ suffix: "-eu" }] }, alert)).toBe(true);
    expect(matchesFilterPolicy({ environment: [{ "equals-ignore-case": "PRODUCTION-EU" }] }, alert)).toBe(
      true,
    );
  });

  it("ignores message attributes the policy does not mention", () => {
    expect(matchesFilterPolicy({ type: ["security_event"] }, { type: "security_event", extra: "x" })).toBe(
      true,
    );
  });

  it("does not read inherited properties as attributes", () => {
    expect(matchesFilterPolicy({ toString: [{ exists: true }] }, attributes())).toBe(false);
  });

  it.each([
    ["a key whose conditions are not an array", { type: "pulse" }],
    ["an empty condition list", { type: [] }],
    ["an empty $or", { $or: [] }],
    ["numeric matching", { severity: [{ numeric: [">", 1] }] }],
    ["a number value", { severity: [3] }],
    ["a null value", { severity: [null] }],
    ["an operator object with two operators", { type: [{ prefix: "a", suffix: "b" }] }],
    ["exists with a string", { type: [{ exists: "true" }] }],
    ["anything-but with a number", { type: [{ "anything-but": [1] }] }],
    ["a nested object", { type: { nested: ["x"] } }],
  ])("throws InvalidFilterPolicyError for %s, whatever the message", (_label, policy) => {
    expect(() => matchesFilterPolicy(policy as unknown as SnsFilterPolicy, {})).toThrow(
      InvalidFilterPolicyError,
    );
    expect(() => matchesFilterPolicy(policy as unknown as SnsFilterPolicy, attributes())).toThrow(
      InvalidFilterPolicyError,
    );
  });
});
