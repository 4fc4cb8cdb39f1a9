/**
 * The redrive command line (`npm run redrive -- --backend <b> [...]`): argument parsing and
 * printing only; the work is in aws.ts and local.ts. Its clients and the local handler factory are
 * injected, so tests run it whole without AWS or a relay.
 */
import { parseArgs } from "node:util";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import type { DeliveryLedger } from "../../lambdas/ledger/ledger.js";
import type { RelayStore } from "../../local/store/relay-store.js";
import { DEFAULT_STACK_NAME, type DeadLetterSource, findRedriveTarget, redriveQueue } from "./aws.js";
import { DEFAULT_WAIT_MS, isLocalQueue, LOCAL_QUEUES, type LocalQueue, redriveLocal } from "./local.js";
import { formatSummary, type RedriveSummary } from "./summary.js";

export const USAGE = `Usage: npm run redrive -- --backend <${BACKENDS.join("|")}> [options]
       (or: npx tsx bin/redrive.ts --backend <backend> [options])

Replays one backend's dead letters through that backend, after the cause is fixed. Deliveries
are idempotent per alert, backend and recipient, so a redrive is safe to repeat: an alert that
meanwhile got through is not sent again.

In AWS (default): receives from the backend's delivery dead-letter queue (the deliver function's
on-failure destination, found from the stack's outputs), invokes the function that failed with
each record's SNS event and waits for the result, deletes a message only when its replay
succeeded, and leaves the others in the queue. Uses the usual AWS credentials and region.

Locally (--local): hands the backend's dead letters in the relay's data directory (RELAY_DATA_DIR,
else the settings file's local.dataDir, else .relay) back to its pending deliveries. The relay
delivers them with npm start's own configuration: when it is running, this waits for each replay
(--wait S seconds at most, ${DEFAULT_WAIT_MS / 1000} by default) and reports it; otherwise they go at its next start.
--backend ingest hands the queue's dead letters (notifications route failed on) back to the queue;
--backend email-queue, sms-queue or slack-queue those of a human backend's own queue (digests that
could not be sent, deliveries that waited for a rate limit) back to it.

Options:
  --backend B          ${BACKENDS.join(", ")}.
  --max N              Dead letters to look at, at most (default: all).
  --dry-run            List what would be replayed; change nothing.
  --local              The local stack's dead letters instead of AWS.
  --wait S             With --local: seconds to wait for a running relay's replays (default ${DEFAULT_WAIT_MS / 1000}).
  --stack NAME         Deployed stack (default ${DEFAULT_STACK_NAME}).
  --source S           delivery (default): the function's on-failure queue; subscription: the
                       queue of alerts SNS could not hand to the function (replayed through the
                       function the stack's outputs name, or --function-name).
  --queue-url URL      The dead-letter queue, instead of looking it up in the stack's outputs.
  --function-name F    The function to invoke, instead of the one each record names.
  -h, --help           This text.

The ingest dead-letter queue (notifications route failed on) has a source queue, so the native
move replays it:
  aws sqs start-message-move-task --source-arn <ingest DLQ ARN> --destination-arn <ingest queue ARN>
(the DLQ's name is the stack's IngestDeadLetterQueueName output; without --destination-arn SQS
moves the messages back to the queue they came from).

Exit status: 0 when every dead letter looked at was replayed (or listed, with --dry-run, or handed
back to a relay that is not running); 1 when some still fail or cannot be read; 2 on bad arguments,
when the queue cannot be found, or when there is no local data directory.

Examples:
  npm run redrive -- --backend slack --dry-run
  npm run redrive -- --backend slack --max 10
  npm run redrive -- --local --backend email
`;

export interface RedriveCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** The AWS clients, created only for an AWS redrive. */
  aws(): { sqs: SQSClient; lambda: LambdaClient; cloudFormation: CloudFormationClient };
  /**
   * The local relay's database, opened shared (a relay may be running on it); throws a message
   * saying where it looked when there is none.
   */
  local(): RelayStore;
  /** The stack's delivery ledger, where each AWS replay is recorded `redriven`; absent, nothing is recorded. */
  ledger?(stackName: string): Promise<DeliveryLedger>;
}

class UsageError extends Error {}

interface Arguments {
  backend: Backend | LocalQueue;
  local: boolean;
  dryRun: boolean;
  max: number | undefined;
  stack: string;
  source: DeadLetterSource;
  queueUrl: string | undefined;
  functionName: string | undefined;
  waitMs: number | undefined;
}

function parse(argv: readonly string[]): Arguments | "help" {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      backend: { type: "string" },
      max: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      local: { type: "boolean", default: false },
      stack: { type: "string", default: DEFAULT_STACK_NAME },
      source: { type: "string", default: "delivery" },
      "queue-url": { type: "string" },
      "function-name": { type: "string" },
      wait: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  if (positionals.length > 0) throw new UsageError(`Unexpected argument: ${positionals[0]}`);
  const backend = values.backend;
  if (backend !== undefined && isLocalQueue(backend) && !values.local) {
    throw new UsageError(
      backend === "ingest"
        ? "The ingest dead-letter queue is replayed natively: aws sqs start-message-move-task --source-arn <ingest DLQ ARN> (see --help)"
        : `The dead-letter queue of ${backend} is replayed natively: aws sqs start-message-move-task --source-arn <its DLQ ARN> (see --help)`,
    );
  }
  if (
    !backend ||
    !([...BACKENDS, ...(values.local ? LOCAL_QUEUES : [])] as readonly string[]).includes(backend)
  ) {
    throw new UsageError(
      `--backend must be one of ${BACKENDS.join(", ")}${values.local ? `, ${LOCAL_QUEUES.join(", ")}` : ""}`,
    );
  }
  let waitMs: number | undefined;
  if (values.wait !== undefined) {
    const seconds = Number(values.wait);
    if (!values.local) throw new UsageError("--wait applies with --local only");
    if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError("--wait must be a number of seconds");
    waitMs = seconds * 1000;
  }
  let max: number | undefined;
  if (values.max !== undefined) {
    max = Number(values.max);
    if (!Number.isInteger(max) || max < 1) throw new UsageError("--max must be a whole number of at least 1");
  }
  if (values.source !== "delivery" && values.source !== "subscription") {
    throw new UsageError("--source must be delivery or subscription");
  }
  if (values.local && (values["queue-url"] || values["function-name"] || values.source !== "delivery")) {
    throw new UsageError("--queue-url, --function-name and --source apply to AWS only, not with --local");
  }
  if (
    !values.local &&
    values.source === "subscription" &&
    values["queue-url"] &&
    !values["function-name"] &&
    !values["dry-run"]
  ) {
    // Without --queue-url the function comes from the stack's outputs, with the queue.
    throw new UsageError(
      "--source subscription with --queue-url needs --function-name: SNS notifications do not name the function they were for",
    );
  }
  return {
    backend: backend as Backend | LocalQueue,
    local: values.local,
    dryRun: values["dry-run"],
    max,
    stack: values.stack,
    source: values.source,
    queueUrl: values["queue-url"],
    functionName: values["function-name"],
    waitMs,
  };
}

/** Runs the command line; resolves with the exit status. */
export async function runRedriveCli(argv: readonly string[], io: RedriveCliIo): Promise<number> {
  let args: Arguments | "help";
  try {
    args = parse(argv);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args === "help") {
    io.stdout(USAGE);
    return 0;
  }
  let summary: RedriveSummary;
  if (args.local) {
    let store: RelayStore;
    try {
      store = io.local();
    } catch (error) {
      io.stderr(`${(error as Error).message}\n`);
      return 2;
    }
    try {
      summary = await redriveLocal({
        store,
        backend: args.backend,
        max: args.max,
        dryRun: args.dryRun,
        waitMs: args.waitMs,
      });
    } finally {
      store.close();
    }
  } else {
    if (isLocalQueue(args.backend)) throw new Error("unreachable: the queues' dead letters are local only");
    const { sqs, lambda, cloudFormation } = io.aws();
    let queueUrl = args.queueUrl;
    let functionName = args.functionName;
    if (!queueUrl) {
      try {
        const target = await findRedriveTarget({
          cloudFormation,
          sqs,
          stackName: args.stack,
          backend: args.backend,
          source: args.source,
        });
        queueUrl = target.queueUrl;
        // A subscription dead letter is a bare SNS notification: only the stack says whose it was.
        if (args.source === "subscription") functionName ??= target.functionName;
      } catch (error) {
        io.stderr(
          `Cannot find the ${args.backend} ${args.source} dead-letter queue: ${(error as Error).message}\n`,
        );
        return 2;
      }
    }
    let ledger: DeliveryLedger | undefined;
    if (io.ledger && !args.dryRun) {
      try {
        ledger = await io.ledger(args.stack);
      } catch (error) {
        io.stderr(`The replays are not recorded in the delivery ledger: ${(error as Error).message}\n`);
      }
    }
    summary = await redriveQueue({
      sqs,
      lambda,
      queueUrl,
      functionName,
      max: args.max,
      dryRun: args.dryRun,
      recording: ledger ? { ledger, backend: args.backend, stderr: io.stderr } : undefined,
    });
  }
  io.stdout(formatSummary(summary));
  return summary.failed + summary.unreadable > 0 ? 1 : 0;
}
