import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeadLetterStore } from "../../../local/store/dead-letters.js";
import { RelayStore } from "../../../local/store/relay-store.js";
import { type RedriveCliIo, runRedriveCli } from "../../../scripts/redrive/cli.js";

const FIXTURES = resolve(import.meta.dirname, "../../fixtures/redrive");
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/slack-dlq";

describe("the redrive command line", () => {
  const sqsMock = mockClient(SQSClient);
  const lambdaMock = mockClient(LambdaClient);
  const cloudFormationMock = mockClient(CloudFormationClient);
  let out: string;
  let err: string;
  let dir: string;
  let io: RedriveCliIo;

  beforeEach(() => {
    sqsMock.reset();
    lambdaMock.reset();
    cloudFormationMock.reset();
    out = "";
    err = "";
    dir = mkdtempSync(join(tmpdir(), "relay-redrive-cli-"));
    io = {
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        err += text;
      },
      env: {},
      aws: () => ({
        sqs: new SQSClient({ region: "eu-west-1" }),
        lambda: new LambdaClient({ region: "eu-west-1" }),
        cloudFormation: new CloudFormationClient({ region: "eu-west-1" }),
      }),
      local: () => {
        if (io.env.RELAY_DATA_DIR === "missing") throw new Error("No local relay data in missing");
        return new RelayStore({ dataDir: dir, shared: true });
      },
    };
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints its usage, with the native command for the ingest queue, on --help", async () => {
    const status = await runRedriveCli(["--help"], io);

    expect(status).toBe(0);
    expect(out).toContain("npm run redrive -- --backend");
    expect(out).toContain("aws sqs start-message-move-task --source-arn <ingest DLQ ARN>");
  });

  it.each([
    [[], "--backend must be one of log, email, http, sms, slack"],
    [["--backend", "teams"], "--backend must be one of"],
    [["--backend", "ingest"], "aws sqs start-message-move-task"],
    [["--backend", "slack", "--max", "0"], "--max must be a whole number"],
    [
      ["--backend", "slack", "--source", "subscription", "--queue-url", QUEUE_URL],
      "--source subscription with --queue-url needs --function-name",
    ],
    [["--backend", "slack", "--local", "--queue-url", QUEUE_URL], "apply to AWS only"],
  ])("refuses %j with exit status 2 and says why", async (argv, message) => {
    const status = await runRedriveCli(argv, io);

    expect(status).toBe(2);
    expect(err).toContain(message);
  });

  it("hands the local dead letters back and exits 1 when some cannot be (here, an unreadable one)", async () => {
    const store = new RelayStore({ dataDir: dir, shared: true });
    const letters = new DeadLetterStore(store);
    const message = JSON.stringify({ id: "alert-1" });
    letters.put({
      source: "slack",
      reason: "503",
      attempts: 3,
      failedAt: "",
      payload: { messageId: "m", message },
    });
    letters.put({ source: "slack", reason: "503", attempts: 3, failedAt: "", payload: "not a letter" });
    store.close();

    const status = await runRedriveCli(["--local", "--backend", "slack", "--wait", "0"], io);

    expect(status).toBe(1);
    expect(out).toContain("0 replayed and removed, 0 failed again, 1 unreadable, 1 handed back to the relay");
  });

  it("accepts --backend ingest locally: the queue's dead letters go back to the queue", async () => {
    const status = await runRedriveCli(["--local", "--backend", "ingest", "--dry-run"], io);

    expect(status).toBe(0);
    expect(out).toContain("dry run: 0 dead letter(s)");
  });

  it("exits 2 with the reason when there is no local data directory", async () => {
    io.env.RELAY_DATA_DIR = "missing";
    const status = await runRedriveCli(["--local", "--backend", "sms"], io);

    expect(status).toBe(2);
    expect(err).toContain("No local relay data in missing");
  });

  it("replays the queue it is given in AWS and exits 0 when every replay worked", async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          {
            MessageId: "m-1",
            ReceiptHandle: "r-1",
            Body: readFileSync(join(FIXTURES, "invocation-record.json"), "utf8"),
          },
        ],
      })
      .resolves({ Messages: [] });
    sqsMock.on(DeleteMessageCommand).resolves({});
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200 });

    const status = await runRedriveCli(["--backend", "slack", "--queue-url", QUEUE_URL], io);

    expect(status).toBe(0);
    expect(cloudFormationMock).not.toHaveReceivedCommand(DescribeStacksCommand);
    expect(sqsMock).toHaveReceivedCommandWith(DeleteMessageCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: "r-1",
    });
    expect(out).toContain("replayed     651a7c3e9f2b4d0012ab34cd  (m-1)");
    expect(out).toContain("1 replayed and removed");
  });

  it("replays a subscription dead letter through the function the stack's outputs name", async () => {
    cloudFormationMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: "SqreenRelay",
          CreationTime: new Date(),
          StackStatus: "CREATE_COMPLETE",
          Outputs: [
            { OutputKey: "SlackSubscriptionDeadLetterQueueName", OutputValue: "slack-subscription-dlq" },
            { OutputKey: "SlackFunctionName", OutputValue: "SqreenRelay-SlackHandler-9Z8Y" },
          ],
        },
      ],
    });
    sqsMock.on(GetQueueUrlCommand).resolves({ QueueUrl: QUEUE_URL });
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [
          {
            MessageId: "m-1",
            ReceiptHandle: "r-1",
            Body: readFileSync(join(FIXTURES, "sns-notification.json"), "utf8"),
          },
        ],
      })
      .resolves({ Messages: [] });
    sqsMock.on(DeleteMessageCommand).resolves({});
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200 });

    const status = await runRedriveCli(["--backend", "slack", "--source", "subscription"], io);

    expect(status).toBe(0);
    expect(lambdaMock).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: "SqreenRelay-SlackHandler-9Z8Y",
    });
    expect(sqsMock).toHaveReceivedCommandWith(DeleteMessageCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: "r-1",
    });
  });

  it("exits 2 naming the stack when it cannot find the queue", async () => {
    cloudFormationMock.on(DescribeStacksCommand).rejects(new Error("Stack with id Other does not exist"));

    const status = await runRedriveCli(["--backend", "slack", "--stack", "Other"], io);

    expect(status).toBe(2);
    expect(err).toContain(
      "Cannot find the slack delivery dead-letter queue: Stack with id Other does not exist",
    );
    expect(sqsMock).not.toHaveReceivedCommand(ReceiveMessageCommand);
  });
});
