/**
 * `npm run relay -- <command>`: the operator CLI (scripts/relay/cli.ts). Wires the real process,
 * the local relay's database and run file, the AWS SDK clients and the redrive to it.
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDbLedger } from "../lambdas/ledger/dynamodb-ledger.js";
import { readLocalSettings, resolveDataDir } from "../local/environment.js";
import { runRedriveCli } from "../scripts/redrive/cli.js";
import { runRelayCli } from "../scripts/relay/cli.js";
import { localLedgerSource, openLocalStore } from "../scripts/relay/local.js";
import { readStackOutputs, stackLedger } from "../scripts/relay/stack.js";

const env = process.env;
const stdout = (text: string) => process.stdout.write(text);
const stderr = (text: string) => process.stderr.write(text);

/** The data directory npm start uses (the same settings file and variables), or `dir`. */
function dataDirOf(dir: string | undefined): string {
  return dir ?? resolveDataDir(env, readLocalSettings(env).settings);
}

try {
  process.exitCode = await runRelayCli(process.argv.slice(2), {
    stdout,
    stderr,
    env,
    fetch,
    local: (dir) => localLedgerSource(dataDirOf(dir)),
    stack: async (name) => {
      const outputs = await readStackOutputs(new CloudFormationClient({}), name);
      return {
        ledger: new DynamoDbLedger(outputs.ledgerTableName, new DynamoDBClient({})),
        webhookUrl: outputs.webhookUrl,
        backends: outputs.backends,
        close: () => {},
      };
    },
    redrive: (argv, dataDir) =>
      runRedriveCli(argv, {
        stdout,
        stderr,
        env,
        aws: () => ({
          sqs: new SQSClient({}),
          lambda: new LambdaClient({}),
          cloudFormation: new CloudFormationClient({}),
        }),
        local: () => openLocalStore(dataDirOf(dataDir)),
        ledger: (stackName) => stackLedger(new CloudFormationClient({}), stackName, new DynamoDBClient({})),
      }),
  });
} catch (error) {
  stderr(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
