/**
 * What `npm run relay -- --stack <name>` needs from a deployed stack, read from its outputs
 * (lib/relay-stack.ts): the ledger table, the webhook URL, and the enabled backends (those with a
 * delivery function output).
 */
import { type CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BACKENDS, type Backend } from "../../lambdas/contracts/messages.js";
import { DynamoDbLedger, LEDGER_TABLE_OUTPUT } from "../../lambdas/ledger/dynamodb-ledger.js";
import { deliveryFunctionOutputKey } from "../redrive/aws.js";

export interface StackLedgerOutputs {
  ledgerTableName: string;
  webhookUrl: string | undefined;
  backends: Backend[];
}

export async function readStackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<StackLedgerOutputs> {
  const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map(
    (Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]),
  );
  const ledgerTableName = outputs.get(LEDGER_TABLE_OUTPUT);
  if (!ledgerTableName)
    throw new Error(`Stack ${stackName} has no ${LEDGER_TABLE_OUTPUT} output: deployed before the ledger?`);
  return {
    ledgerTableName,
    webhookUrl: outputs.get("WebhookUrl"),
    backends: BACKENDS.filter((backend) => outputs.has(deliveryFunctionOutputKey(backend))),
  };
}

/** The deployed stack's ledger, with clients from the shell's AWS configuration. */
export async function stackLedger(
  cloudFormation: CloudFormationClient,
  stackName: string,
  client: DynamoDBClient,
): Promise<DynamoDbLedger> {
  return new DynamoDbLedger((await readStackOutputs(cloudFormation, stackName)).ledgerTableName, client);
}
