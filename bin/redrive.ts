/**
 * `npm run redrive -- --backend <backend> [--local] [--max N] [--dry-run]`: replays one backend's
 * dead letters (see scripts/redrive/cli.ts for the options). Wires the real process, the AWS SDK
 * clients and the local relay's database to the CLI.
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { readLocalSettings, resolveDataDir } from "../local/environment.js";
import { runRedriveCli } from "../scripts/redrive/cli.js";
import { openLocalStore } from "../scripts/relay/local.js";
import { stackLedger } from "../scripts/relay/stack.js";

const env = process.env;

try {
  process.exitCode = await runRedriveCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env,
    aws: () => ({
      sqs: new SQSClient({}),
      lambda: new LambdaClient({}),
      cloudFormation: new CloudFormationClient({}),
    }),
    // The same settings file and data directory as npm start: nothing else is needed.
    local: () => openLocalStore(resolveDataDir(env, readLocalSettings(env).settings)),
    // Each replay is recorded `redriven` in the stack's delivery ledger.
    ledger: (stackName) => stackLedger(new CloudFormationClient({}), stackName, new DynamoDBClient({})),
  });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
