/**
 * The bundle tier's IAM evaluator on its own: each rule it applies, shown allowing what AWS
 * allows and refusing what AWS refuses, so the tier's verdicts on the stack's roles mean something.
 */
import { describe, expect, it } from "vitest";
import { readCall } from "./aws-calls.js";
import { type AuthorizationRequest, evaluate, type NamedPolicy, type PolicyStatement } from "./iam-policy.js";

const QUEUE = "arn:aws:sqs:us-east-1:123456789012:SqreenRelay-IngestQueue-abc";
const ROLE = "arn:aws:iam::123456789012:role/SqreenRelay-IngestRole-abc";

function policy(...statements: PolicyStatement[]): NamedPolicy[] {
  return [{ name: "test-policy", document: { Version: "2012-10-17", Statement: statements } }];
}

function request(
  action: string,
  resource: string,
  context: AuthorizationRequest["context"] = {},
): AuthorizationRequest {
  return { action, resource, context: { "aws:SecureTransport": "true", ...context } };
}

describe("the bundle tier's IAM evaluator", () => {
  it("allows an action and resource an Allow statement names, and nothing else (implicit deny)", () => {
    const policies = policy({ Effect: "Allow", Action: ["sqs:SendMessage"], Resource: QUEUE });

    expect(evaluate(request("sqs:SendMessage", QUEUE), policies).allowed).toBe(true);
    expect(evaluate(request("sqs:DeleteMessage", QUEUE), policies)).toEqual({
      allowed: false,
      reason: "no statement allows it (implicit deny)",
    });
    expect(evaluate(request("sqs:SendMessage", `${QUEUE}-other`), policies).allowed).toBe(false);
  });

  it("matches action wildcards case-insensitively and resource wildcards case-sensitively", () => {
    const policies = policy({
      Effect: "Allow",
      Action: "SQS:Send*",
      Resource: "arn:aws:sqs:us-east-1:123456789012:SqreenRelay-*",
    });

    expect(evaluate(request("sqs:SendMessage", QUEUE), policies).allowed).toBe(true);
    expect(
      evaluate(request("sqs:SendMessage", QUEUE.replace("SqreenRelay", "sqreenrelay")), policies).allowed,
    ).toBe(false);
    expect(evaluate(request("sqs:ReceiveMessage", QUEUE), policies).allowed).toBe(false);
  });

  it("reads NotResource as every resource but those (SMS to phone numbers, never a topic)", () => {
    const policies = policy({ Effect: "Allow", Action: "sns:Publish", NotResource: "arn:aws:sns:*:*:*" });

    expect(evaluate(request("sns:Publish", "*"), policies).allowed).toBe(true);
    expect(
      evaluate(request("sns:Publish", "arn:aws:sns:us-east-1:123456789012:alerts"), policies).allowed,
    ).toBe(false);
  });

  it("lets an explicit Deny win over any Allow, in identity and in resource policies", () => {
    const allow: PolicyStatement = { Effect: "Allow", Action: "sqs:*", Resource: "*" };
    const denyPlainHttp: PolicyStatement = {
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "sqs:*",
      Resource: QUEUE,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    };

    expect(
      evaluate(request("sqs:SendMessage", QUEUE), policy(allow, { ...allow, Effect: "Deny" })).allowed,
    ).toBe(false);
    expect(
      evaluate(request("sqs:SendMessage", QUEUE), policy(allow), policy(denyPlainHttp), ROLE).allowed,
    ).toBe(true);
    expect(
      evaluate(
        request("sqs:SendMessage", QUEUE, { "aws:SecureTransport": "false" }),
        policy(allow),
        policy(denyPlainHttp),
        ROLE,
      ),
    ).toMatchObject({ allowed: false, reason: expect.stringContaining("explicitly denied") });
  });

  it("grants through a resource policy only to the principal it names", () => {
    const resourcePolicy = policy({
      Effect: "Allow",
      Principal: { AWS: ROLE },
      Action: "sqs:SendMessage",
      Resource: QUEUE,
    });

    expect(evaluate(request("sqs:SendMessage", QUEUE), [], resourcePolicy, ROLE).allowed).toBe(true);
    expect(evaluate(request("sqs:SendMessage", QUEUE), [], resourcePolicy, `${ROLE}-other`).allowed).toBe(
      false,
    );
  });

  it("requires every condition: StringEquals on ses:FromAddress, StringLike, ArnLike", () => {
    const identity = "arn:aws:ses:us-east-1:123456789012:identity/alerts@example.com";
    const policies = policy({
      Effect: "Allow",
      Action: "ses:SendEmail",
      Resource: "arn:aws:ses:us-east-1:123456789012:identity/*",
      Condition: {
        StringEquals: { "ses:FromAddress": "alerts@example.com" },
        StringLike: { "aws:PrincipalArn": "arn:aws:iam::123456789012:role/SqreenRelay-*" },
        ArnLike: { "aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:*" },
      },
    });
    const context = {
      "aws:PrincipalArn": ROLE,
      "aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:alerts",
    };

    expect(
      evaluate(
        request("ses:SendEmail", identity, { ...context, "ses:FromAddress": "alerts@example.com" }),
        policies,
      ).allowed,
    ).toBe(true);
    expect(
      evaluate(
        request("ses:SendEmail", identity, { ...context, "ses:FromAddress": "other@example.com" }),
        policies,
      ).allowed,
    ).toBe(false);
    expect(
      evaluate(request("ses:SendEmail", identity, { "ses:FromAddress": "alerts@example.com" }), policies)
        .allowed,
    ).toBe(false);
  });

  it("treats a missing key as IAM does: a positive operator fails, a negated one holds, IfExists and ForAllValues hold", () => {
    const statement = (condition: PolicyStatement["Condition"]) =>
      policy({ Effect: "Allow", Action: "*", Resource: "*", Condition: condition });
    const bare = request("s3:GetObject", "*");

    expect(evaluate(bare, statement({ StringEquals: { "aws:SourceVpc": "vpc-1" } })).allowed).toBe(false);
    expect(evaluate(bare, statement({ StringNotEquals: { "aws:SourceVpc": "vpc-1" } })).allowed).toBe(true);
    expect(evaluate(bare, statement({ StringEqualsIfExists: { "aws:SourceVpc": "vpc-1" } })).allowed).toBe(
      true,
    );
    expect(
      evaluate(bare, statement({ "ForAllValues:StringEquals": { "ses:Recipients": ["a@example.com"] } }))
        .allowed,
    ).toBe(true);
    expect(
      evaluate(bare, statement({ "ForAnyValue:StringEquals": { "ses:Recipients": ["a@example.com"] } }))
        .allowed,
    ).toBe(false);
    expect(evaluate(bare, statement({ Null: { "aws:SourceVpc": "true" } })).allowed).toBe(true);
  });

  it("applies the set operators to multi-valued keys such as ses:Recipients", () => {
    const recipients = { "ses:Recipients": ["secops@example.com", "intruder@elsewhere.net"] };
    const only = policy({
      Effect: "Allow",
      Action: "ses:SendEmail",
      Resource: "*",
      Condition: { "ForAllValues:StringLike": { "ses:Recipients": ["*@example.com"] } },
    });
    const any = policy({
      Effect: "Allow",
      Action: "ses:SendEmail",
      Resource: "*",
      Condition: { "ForAnyValue:StringLike": { "ses:Recipients": ["*@example.com"] } },
    });

    expect(evaluate(request("ses:SendEmail", "*", recipients), only).allowed).toBe(false);
    expect(evaluate(request("ses:SendEmail", "*", recipients), any).allowed).toBe(true);
  });

  it("refuses to guess an operator it does not know", () => {
    const policies = policy({
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: { DateLessThan: { "aws:CurrentTime": "2030-01-01" } },
    });

    expect(() => evaluate(request("s3:GetObject", "*"), policies)).toThrow(/DateLessThan/);
  });
});

describe("the bundle tier's reading of a DynamoDB transaction", () => {
  it("authorizes each action of a TransactWriteItems as its single-item action on its table", () => {
    const body = {
      TransactItems: [
        { Put: { TableName: "digests", Item: {} } },
        { Update: { TableName: "digests", Key: {} } },
        { ConditionCheck: { TableName: "other", Key: {} } },
      ],
    };
    const call = readCall(
      {
        principal: ROLE,
        service: "dynamodb",
        region: "us-east-1",
        method: "POST",
        path: "/",
        headers: { "x-amz-target": "DynamoDB_20120810.TransactWriteItems" },
        body: Buffer.from(JSON.stringify(body)),
        status: 200,
        responseBody: Buffer.from("{}"),
      },
      ROLE,
      {
        accountId: "123456789012",
        secretArn: (id) => id,
        topicKeyArn: () => undefined,
        sesIdentity: () => undefined,
        sesSandbox: false,
      },
    );

    expect(call.authorizations.map(({ action, resource }) => [action, resource])).toEqual([
      ["dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:123456789012:table/digests"],
      ["dynamodb:UpdateItem", "arn:aws:dynamodb:us-east-1:123456789012:table/digests"],
      ["dynamodb:ConditionCheckItem", "arn:aws:dynamodb:us-east-1:123456789012:table/other"],
    ]);
  });
});
