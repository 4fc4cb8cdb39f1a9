import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { InvokeCommand, LambdaClient, TooManyRequestsException } from "@aws-sdk/client-lambda";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SNSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { LedgerEntry } from "../../../lambdas/ledger/entry.js";
import type { DeliveryLedger } from "../../../lambdas/ledger/ledger.js";
import {
  DEFAULT_STACK_NAME,
  deadLetterQueueOutputKey,
  deliveryFunctionOutputKey,
  findRedriveTarget,
  redriveQueue,
} from "../../../scripts/redrive/aws.js";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/redrive");
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/SqreenRelay-SlackDeliveryDeadLetterQueue";

function fixture(name: string): string {
  return readFileSync(resolve(FIXTURES, name), "utf8");
}

/** The invocation record fixture, for alert `alertId`. */
function invocationRecord(alertId: string): string {
  const record = JSON.parse(fixture("invocation-record.json")) as { requestPayload: SNSEvent };
  const sns = record.requestPayload.Records[0]?.Sns;
  if (sns) sns.Message = JSON.stringify({ ...JSON.parse(sns.Message), id: alertId });
  return JSON.stringify(record);
}

/** An invocation's response payload, as the SDK hands it back. */
function blob(text: string): Uint8Array & { transformToString: () => string } {
  return Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
}

describe("redriving a deliver function's dead-letter queue in AWS", () => {
  const sqsMock = mockClient(SQSClient);
  const lambdaMock = mockClient(LambdaClient);
  const cloudFormationMock = mockClient(CloudFormationClient);
  const sqs = new SQSClient({ region: "eu-west-1" });
  const lambda = new LambdaClient({ region: "eu-west-1" });

  const invokedEvents = (): SNSEvent[] =>
    lambdaMock.commandCalls(InvokeCommand).map((call) => {
      const payload = call.args[0].input.Payload;
      return JSON.parse(
        payload instanceof Uint8Array ? new TextDecoder().decode(payload) : String(payload),
      ) as SNSEvent;
    });

  beforeEach(() => {
    sqsMock.reset();
    lambdaMock.reset();
    cloudFormationMock.reset();
    sqsMock.on(DeleteMessageCommand).resolves({});
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200 });
  });

  function queueHolds(bodies: string[]): void {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: bodies.map((body, index) => ({
          MessageId: `m-${index + 1}`,
          ReceiptHandle: `r-${index + 1}`,
          Body: body,
        })),
      })
      .resolves({ Messages: [] });
  }

  it("invokes the function each record names with the SNS event it carries, and waits for the result", async () => {
    queueHolds([fixture("invocation-record.json")]);

    const summary = await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL });

    const record = JSON.parse(fixture("invocation-record.json")) as {
      requestPayload: SNSEvent;
      requestContext: { functionArn: string };
    };
    expect(lambdaMock).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: record.requestContext.functionArn,
      InvocationType: "RequestResponse",
    });
    expect(invokedEvents()).toEqual([record.requestPayload]);
    expect(summary).toMatchObject({ seen: 1, replayed: 1, failed: 0, dryRun: false });
  });

  it("records each replay in the delivery ledger as redriven before invoking, and replays anyway when the ledger fails", async () => {
    queueHolds([invocationRecord("alert-redriven"), invocationRecord("alert-ledger-down")]);
    const recorded: LedgerEntry[] = [];
    const errors: string[] = [];
    let order: string[] = [];
    lambdaMock.on(InvokeCommand).callsFake(() => {
      order.push("invoke");
      return { StatusCode: 200 };
    });
    const ledger: DeliveryLedger = {
      record: async (entries) => {
        order.push("record");
        if (entries[0]?.alertId === "alert-ledger-down") throw new Error("throttled");
        recorded.push(...entries);
      },
      failedAttempts: async () => 0,
    };

    const summary = await redriveQueue({
      sqs,
      lambda,
      queueUrl: QUEUE_URL,
      recording: { ledger, backend: "slack", stderr: (text) => errors.push(text) },
    });

    expect(recorded).toEqual([
      expect.objectContaining({
        alertId: "alert-redriven",
        backend: "slack",
        outcome: "redriven",
        destination: "*",
      }),
    ]);
    expect(order).toEqual(["record", "invoke", "record", "invoke"]);
    expect(errors.join("")).toContain("Delivery ledger write failed (redriven of alert-ledger-down): Error");
    expect(summary).toMatchObject({ replayed: 2, failed: 0 });
    order = [];
  });

  it("deletes a message only when its replay succeeded, and gives the others back to the queue", async () => {
    queueHolds([invocationRecord("alert-ok"), invocationRecord("alert-still-failing")]);
    lambdaMock
      .on(InvokeCommand)
      .resolvesOnce({ StatusCode: 200 })
      .resolvesOnce({
        StatusCode: 200,
        FunctionError: "Unhandled",
        Payload: blob(
          JSON.stringify({
            errorType: "TransientDeliveryError",
            errorMessage: "Slack webhook (alerts) answered 503",
          }),
        ),
      });

    const summary = await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL });

    expect(sqsMock).toHaveReceivedCommandTimes(DeleteMessageCommand, 1);
    expect(sqsMock).toHaveReceivedCommandWith(DeleteMessageCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: "r-1",
    });
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      ReceiptHandle: "r-2",
      VisibilityTimeout: 0,
    });
    expect(summary).toMatchObject({ replayed: 1, failed: 1 });
    expect(summary.results[1]).toEqual({
      status: "failed",
      ref: "m-2",
      alertId: "alert-still-failing",
      reason: "Unhandled: TransientDeliveryError: Slack webhook (alerts) answered 503",
    });
  });

  it("keeps a message whose invocation could not even start (throttled)", async () => {
    queueHolds([invocationRecord("alert-1")]);
    lambdaMock
      .on(InvokeCommand)
      .rejects(new TooManyRequestsException({ message: "Rate exceeded", $metadata: {} }));

    const summary = await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL });

    expect(sqsMock).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(summary.results[0]?.reason).toContain("TooManyRequestsException");
  });

  it("changes nothing on a dry run: no invocation, no deletion, every message visible again", async () => {
    queueHolds([invocationRecord("alert-1"), invocationRecord("alert-2")]);

    const summary = await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL, dryRun: true });

    expect(lambdaMock).not.toHaveReceivedCommand(InvokeCommand);
    expect(sqsMock).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(sqsMock).toHaveReceivedCommandTimes(ChangeMessageVisibilityCommand, 2);
    expect(summary).toMatchObject({ dryRun: true, seen: 2, replayed: 0 });
    expect(summary.results.map((result) => result.status)).toEqual(["would-replay", "would-replay"]);
  });

  it("looks at no more than --max messages", async () => {
    sqsMock.on(ReceiveMessageCommand).resolves({
      Messages: [{ MessageId: "m-1", ReceiptHandle: "r-1", Body: invocationRecord("alert-1") }],
    });

    const summary = await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL, max: 1 });

    expect(sqsMock).toHaveReceivedCommandTimes(ReceiveMessageCommand, 1);
    expect(sqsMock).toHaveReceivedCommandWith(ReceiveMessageCommand, { MaxNumberOfMessages: 1 });
    expect(summary.seen).toBe(1);
  });

  it("replays an SNS notification from the subscription dead-letter queue through the function it is told", async () => {
    queueHolds([fixture("sns-notification.json")]);
    const notification = JSON.parse(fixture("sns-notification.json")) as {
      Message: string;
      MessageId: string;
    };

    await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL, functionName: "SqreenRelay-SlackHandler" });

    expect(lambdaMock).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: "SqreenRelay-SlackHandler" });
    const [event] = invokedEvents();
    expect(event?.Records).toHaveLength(1);
    expect(event?.Records[0]?.Sns).toMatchObject({
      Message: notification.Message,
      MessageId: notification.MessageId,
      MessageAttributes: { severity: { Type: "String", Value: "high" } },
    });
  });

  it("keeps a message it cannot read, without invoking anything", async () => {
    queueHolds(["not an invocation record"]);

    const summary = await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL });

    expect(lambdaMock).not.toHaveReceivedCommand(InvokeCommand);
    expect(sqsMock).not.toHaveReceivedCommand(DeleteMessageCommand);
    expect(summary).toMatchObject({ unreadable: 1 });
  });

  it("stops when the queue comes round to a message it already saw", async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolves({ Messages: [{ MessageId: "m-1", ReceiptHandle: "r-1", Body: "unreadable" }] });

    const summary = await redriveQueue({ sqs, lambda, queueUrl: QUEUE_URL });

    expect(summary.seen).toBe(1);
    expect(sqsMock).toHaveReceivedCommandTimes(ReceiveMessageCommand, 2);
  });

  describe("finding the queue", () => {
    const cloudFormation = new CloudFormationClient({ region: "eu-west-1" });

    it("reads the queue's and the function's names from the stack's outputs and asks SQS for the URL", async () => {
      cloudFormationMock.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: DEFAULT_STACK_NAME,
            CreationTime: new Date(),
            StackStatus: "CREATE_COMPLETE",
            Outputs: [
              { OutputKey: "SlackDeliveryDeadLetterQueueName", OutputValue: "SqreenRelay-SlackDlq-1A2B" },
              { OutputKey: "SlackFunctionName", OutputValue: "SqreenRelay-SlackHandler-9Z8Y" },
            ],
          },
        ],
      });
      sqsMock.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });

      const target = await findRedriveTarget({
        cloudFormation,
        sqs,
        stackName: DEFAULT_STACK_NAME,
        backend: "slack",
        source: "delivery",
      });

      expect(target).toEqual({ queueUrl: QUEUE_URL, functionName: "SqreenRelay-SlackHandler-9Z8Y" });
      expect(cloudFormationMock).toHaveReceivedCommandWith(DescribeStacksCommand, {
        StackName: "SqreenRelay",
      });
      expect(sqsMock).toHaveReceivedCommandWith(GetQueueUrlCommand, {
        QueueName: "SqreenRelay-SlackDlq-1A2B",
      });
    });

    it("says which output is missing when the backend is not deployed", async () => {
      cloudFormationMock.on(DescribeStacksCommand).resolves({
        Stacks: [
          {
            StackName: DEFAULT_STACK_NAME,
            CreationTime: new Date(),
            StackStatus: "CREATE_COMPLETE",
            Outputs: [],
          },
        ],
      });

      await expect(
        findRedriveTarget({
          cloudFormation,
          sqs,
          stackName: DEFAULT_STACK_NAME,
          backend: "sms",
          source: "subscription",
        }),
      ).rejects.toThrow("Stack SqreenRelay has no output SmsSubscriptionDeadLetterQueueName");
    });

    it("names the outputs as the stack does", () => {
      expect(deadLetterQueueOutputKey("http", "delivery")).toBe("HttpDeliveryDeadLetterQueueName");
      expect(deadLetterQueueOutputKey("email", "subscription")).toBe("EmailSubscriptionDeadLetterQueueName");
      expect(deliveryFunctionOutputKey("sms")).toBe("SmsFunctionName");
    });
  });
});
