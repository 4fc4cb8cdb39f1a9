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
import {
  type DeliveryGuard,
  type DeliveryOutcome,
  REPLAYED_SEND,
  type SendOnce,
} from "../../../../lambdas/delivery/outcome.js";
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

/** A delivery of one send through `once`: the guard records sends, not deliveries. */
function oneSend(send: () => Promise<DeliveryOutcome>): (once?: SendOnce) => Promise<DeliveryOutcome> {
  return async (once) => {
    if (!once) throw new Error("the guard handed the delivery no `once`");
    return once("alerts", send);
  };
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

  it("claims the send's key with a conditional put, sends, then records its result as completed", async () => {
    const send = vi.fn(async () => OUTCOME);
    const run = oneSend(send);
    const before = Date.now() / 1000;

    const outcome = await guard(["slack", "alert-1"], run, lambdaContext());

    expect(outcome).toEqual(OUTCOME);
    expect(send).toHaveBeenCalledOnce();
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

  it("returns the stored outcome when the conditional put finds a completed record, without sending again", async () => {
    dynamoMock.on(PutItemCommand).rejects(
      alreadyThere({
        id: "sqreen-relay#hash",
        status: "COMPLETED",
        expiration: Math.floor(Date.now() / 1000) + 3600,
        data: OUTCOME,
      }),
    );
    const send = vi.fn(async () => OUTCOME);
    const run = oneSend(send);

    const outcome = await guard(["slack", "alert-1"], run, lambdaContext());

    expect(send).not.toHaveBeenCalled();
    expect(outcome).toEqual({
      ...OUTCOME,
      [REPLAYED_SEND]: true,
      details: { ...OUTCOME.details, duplicate: true },
    });
    expect(dynamoMock).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(dynamoMock).not.toHaveReceivedCommand(GetItemCommand);
  });

  it("fails as transient when the conditional put finds the send in progress elsewhere", async () => {
    dynamoMock.on(PutItemCommand).rejects(
      alreadyThere({
        id: "sqreen-relay#hash",
        status: "INPROGRESS",
        expiration: Math.floor(Date.now() / 1000) + 3600,
        in_progress_expiration: Date.now() + 20_000,
      }),
    );
    const send = vi.fn(async () => OUTCOME);
    const run = oneSend(send);

    await expect(guard(["slack", "alert-1"], run, lambdaContext())).rejects.toThrow(TransientDeliveryError);
    expect(send).not.toHaveBeenCalled();
  });

  it("deletes its claim when the send fails, and throws the send's own error", async () => {
    const failure = new TransientDeliveryError("Slack answered 503");

    await expect(
      guard(
        ["slack", "alert-1"],
        oneSend(async () => {
          throw failure;
        }),
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
    const send = vi.fn(async () => OUTCOME);
    const run = oneSend(send);

    const attempt = guard(["slack", "alert-1"], run, lambdaContext());

    await expect(attempt).rejects.toThrow(TransientDeliveryError);
    await expect(attempt).rejects.toThrow("Idempotency store failed for delivery slack of alert alert-1");
    expect(send).not.toHaveBeenCalled();
  });

  it("guards each send of a fan-out under its own key, never the recipient in clear, and writes no delivery record", async () => {
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
    // One claim per send and none for the delivery: it would repeat what the sends' records guarantee.
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(2);
    expect(dynamoMock).toHaveReceivedCommandTimes(UpdateItemCommand, 2);
    expect(JSON.stringify(dynamoMock.calls().map((call) => call.args[0].input))).not.toContain(
      "@example.com",
    );
  });
});
