/**
 * `npm run redrive -- --backend <backend> [--local] [--max N] [--dry-run]`: replays one backend's
 * dead letters (see scripts/redrive/cli.ts for the options). Wires the real process, the AWS SDK
 * clients and the local stack's handler factory to the CLI.
 */
import { join, resolve } from "node:path";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { inMemoryDeliveryGuard } from "../lambdas/delivery/idempotency.js";
import { runRedriveCli } from "../scripts/redrive/cli.js";
import { readBackendSecrets, readLocalSettings, StartupError } from "./local/environment.js";
import { createLocalBackendHandler, enabledBackends } from "./local/pipeline.js";

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
    local: (backend) => {
      const { settings } = readLocalSettings(env);
      const secrets = readBackendSecrets(env, settings);
      if (!enabledBackends(settings, secrets).includes(backend)) {
        throw new StartupError(
          `The local ${backend} backend is not configured: set its variables as for npm start (see the README's "Run it locally" table).`,
        );
      }
      const dataDir = resolve(env.RELAY_DATA_DIR ?? ".relay");
      return {
        deadLettersDir: join(dataDir, "dead-letters"),
        // A fresh store: npm start's in-memory records are not shared with this process.
        handler: createLocalBackendHandler(backend, {
          settings,
          secrets,
          outboxDir: join(dataDir, "outbox"),
          guard: inMemoryDeliveryGuard(),
        }),
      };
    },
  });
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
