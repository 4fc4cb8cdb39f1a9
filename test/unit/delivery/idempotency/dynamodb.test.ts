import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  dynamoDbDeliveryGuard,
  IDEMPOTENCY_EXPIRY_SECONDS,
} from "../../../../lambdas/delivery/idempotency.js";
import type { DeliveryGuard, DeliveryOutcome } from "../../../../lambdas/delivery/outcome.js";
import { TransientDeliveryError } from "../../../../lambdas/runtime/errors.js";
import { lambdaContext } from "../helpers.js";

const TABLE = "SqreenRelay-IdempotencyTable";
const OUTCOME: DeliveryOutcome = {
  status: "delivered",
  delivered: 1,
  details: { channels: [{ channel: "alerts" }] },
};

/** The error DynamoDB answers a conditional PutItem with when the record is already there. */
function alreadyThere(item: Record<string, unknown>): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    Item: marshall(item),
  });
}

describe("the DynamoDB delivery guard", () => {
  const dynamoMock = mockClient(DynamoDBClient);
  let guard: DeliveryGuard;

  beforeEach(() => {
    dynamoMock.reset();
    dynamoMock.on(PutItemCommand).resolves({});
    dynamoMock.on(UpdateItemCommand).resolves({});
    dynamoMock.on(DeleteItemCommand).resolves({});
    guard = dynamoDbDeliveryGuard({ tableName: TABLE, client: new DynamoDBClient({ region: "eu-west-1" }) });
  });

  it("claims the key with a conditional put, runs the delivery, then records its outcome as completed", async () => {
    const run = vi.fn(async () => OUTCOME);
    const before = Date.now() / 1000;

    const outcome = await guard(["slack", "alert-1"], run, lambdaContext());

    expect(outcome).toEqual(OUTCOME);
    expect(run).toHaveBeenCalledOnce();
    expect(dynamoMock).toHaveReceivedCommandTimes(PutItemCommand, 1);
    const put = dynamoMock.commandCalls(PutItemCommand)[0]?.args[0].input as PutItemCommandInput;
    expect(put.TableName).toBe(TABLE);
    expect(put.ConditionExpression).toContain("attribute_not_exists(#id)");
    expect(put.Item?.status).toEqual({ S: "INPROGRESS" });
    expect(put.Item?.id?.S).toMatch(/^sqreen-relay#/);
    // The in-progress claim lapses with the invocation (30 s left in the test context).
    expect(Number(put.Item?.in_progress_expiration?.N)).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(Number(put.Item?.expiration?.N)).toBeGreaterThanOrEqual(
      Math.floor(before + IDEMPOTENCY_EXPIRY_SECONDS),
    );
    expect(dynamoMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: TABLE,
      ExpressionAttributeValues: expect.objectContaining({
        ":status": { S: "COMPLETED" },
        ":response_data": { M: marshall(OUTCOME) },
      }),
    });
  });

  it("returns the stored outcome when the conditional put finds a completed record, without delivering again", async () => {
    dynamoMock.on(PutItemCommand).rejects(
      alreadyThere({
        id: "sqreen-relay#hash",
        status: "COMPLETED",
        expiration: Math.floor(Date.now() / 1000) + 3600,
        data: OUTCOME,
      }),
    );
    const run = vi.fn(async () => OUTCOME);

    const outcome = await guard(["slack", "alert-1"], run, lambdaContext());

    expect(run).not.toHaveBeenCalled();
    expect(outcome).toEqual({ ...OUTCOME, details: { ...OUTCOME.details, duplicate: true } });
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(dynamoMock).not.toHaveReceivedCommand(GetItemCommand);
  });

  it("fails as transient when the conditional put finds the delivery in progress elsewhere", async () => {
    dynamoMock.on(PutItemCommand).rejects(
      alreadyThere({
        id: "sqreen-relay#hash",
        status: "INPROGRESS",
        expiration: Math.floor(Date.now() / 1000) + 3600,
        in_progress_expiration: Date.now() + 20_000,
      }),
    );
    const run = vi.fn(async () => OUTCOME);

    await expect(guard(["slack", "alert-1"], run, lambdaContext())).rejects.toThrow(TransientDeliveryError);
    expect(run).not.toHaveBeenCalled();
  });

  it("deletes its claim when the delivery fails, and throws the delivery's own error", async () => {
    const failure = new TransientDeliveryError("Slack answered 503");

    await expect(
      guard(
        ["slack", "alert-1"],
        async () => {
          throw failure;
        },
        lambdaContext(),
      ),
    ).rejects.toBe(failure);

    expect(dynamoMock).toHaveReceivedCommandTimes(DeleteItemCommand, 1);
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("does not deliver when the table cannot be written, and fails as transient so the platform retries", async () => {
    dynamoMock
      .on(PutItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} }));
    const run = vi.fn(async () => OUTCOME);

    const attempt = guard(["slack", "alert-1"], run, lambdaContext());

    await expect(attempt).rejects.toThrow(TransientDeliveryError);
    await expect(attempt).rejects.toThrow("Idempotency store failed for delivery slack of alert alert-1");
    expect(run).not.toHaveBeenCalled();
  });

  it("guards each send of a fan-out under its own key, never the recipient in clear", async () => {
    await guard(
      ["email", "alert-1"],
      async (once) => {
        await once?.("alerts@example.com", async () => ({ messageId: "m-1" }));
        await once?.("oncall@example.com", async () => ({ messageId: "m-2" }));
        return OUTCOME;
      },
      lambdaContext(),
    );

    const keys = dynamoMock.commandCalls(PutItemCommand).map((call) => call.args[0].input.Item?.id?.S);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(3);
    expect(JSON.stringify(dynamoMock.calls().map((call) => call.args[0].input))).not.toContain(
      "@example.com",
    );
  });
});
