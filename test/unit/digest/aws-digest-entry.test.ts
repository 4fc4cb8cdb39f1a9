import { randomUUID } from "node:crypto";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as z from "zod";
import { ENV } from "../../../lambdas/contracts/environment-names.js";
import { awsDigestDependencies, digestEnvironment } from "../../../lambdas/delivery/backend-entry.js";
import { parseEnvironment } from "../../../lambdas/runtime/config.js";
import { ConfigurationError } from "../../../lambdas/runtime/errors.js";

const ENVIRONMENT = {
  [ENV.digestTableName]: "SqreenRelay-DigestTable-1A2B",
  [ENV.digestQueueUrl]: "https://sqs.eu-west-1.amazonaws.com/123456789012/SqreenRelay-SlackDigestQueue",
  [ENV.digestImmediate]: "3",
  [ENV.digestWindowSeconds]: "60",
};
const parse = (env: Record<string, string | undefined>) => parseEnvironment(z.object(digestEnvironment), env);

describe("the digests of a human backend's AWS entry", () => {
  const dynamoDb = mockClient(DynamoDBDocumentClient);
  const sqs = mockClient(SQSClient);

  beforeEach(() => {
    dynamoDb.reset();
    sqs.reset();
    vi.stubEnv("AWS_REGION", "eu-west-1");
  });

  it("are off when the stack set none of the digest variables", () => {
    expect(awsDigestDependencies(parse({}))).toBeUndefined();
  });

  it("take the policy from the variables, as numbers", () => {
    expect(awsDigestDependencies(parse(ENVIRONMENT))?.policy).toEqual({ immediate: 3, windowSeconds: 60 });
  });

  it("use the table and the queue the variables name", async () => {
    dynamoDb.on(GetCommand).resolves({});
    sqs.on(SendMessageCommand).resolves({ MessageId: "m-1" });
    const digests = awsDigestDependencies(parse(ENVIRONMENT));

    await digests?.store.close(randomUUID(), Date.now());
    await digests?.queue.closeWindowAt(randomUUID(), Date.now() + 1000, Date.now());

    expect(dynamoDb).toHaveReceivedCommandWith(GetCommand, { TableName: ENVIRONMENT.DIGEST_TABLE_NAME });
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: ENVIRONMENT.DIGEST_QUEUE_URL });
  });

  it("fail at cold start, naming what is missing, when only some variables are set", () => {
    const partial = parse({
      ...ENVIRONMENT,
      [ENV.digestQueueUrl]: undefined,
      [ENV.digestImmediate]: undefined,
    });

    expect(() => awsDigestDependencies(partial)).toThrow(ConfigurationError);
    expect(() => awsDigestDependencies(partial)).toThrow(/DIGEST_QUEUE_URL, DIGEST_IMMEDIATE/);
  });

  it("refuse a policy that is not a whole number", () => {
    expect(() => parse({ ...ENVIRONMENT, [ENV.digestWindowSeconds]: "1.5" })).toThrow(
      /DIGEST_WINDOW_SECONDS/,
    );
  });
});
