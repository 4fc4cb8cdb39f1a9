/**
 * `npm run redrive -- --backend <backend> [--local] [--max N] [--dry-run]`: replays one backend's
 * dead letters (see scripts/redrive/cli.ts for the options). Wires the real process, the AWS SDK
 * clients and the local relay's database to the CLI.
 */
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { readLocalSettings, resolveDataDir, StartupError } from "../local/environment.js";
import { RelayStore } from "../local/store/relay-store.js";
import { runRedriveCli } from "../scripts/redrive/cli.js";

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
    local: () => {
      // The same settings file and data directory as npm start: nothing else is needed.
      const dataDir = resolveDataDir(env, readLocalSettings(env).settings);
      if (!RelayStore.existsIn(dataDir)) {
        throw new StartupError(
          `No local relay data in ${dataDir}: run it from the directory npm start ran in, or set RELAY_DATA_DIR (or the settings file's local.dataDir) as for npm start.`,
        );
      }
      return new RelayStore({ dataDir, shared: true });
    },
  });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
