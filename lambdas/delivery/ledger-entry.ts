/**
 * The delivery ledger of every deliver function on AWS (log too): the variable it reads at cold
 * start and the ledger and metrics built from it. Apart from backend-entry.ts, which deliver-log
 * does not import: that module builds the idempotency guard, and importing it would put
 * Powertools idempotency and its JMESPath engine into the one bundle that has no guard.
 */
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ENV } from "../contracts/environment-names.js";
import { METRICS_SERVICE } from "../ledger/delivery-metrics.js";
import { DynamoDbLedger } from "../ledger/dynamodb-ledger.js";
import * as z from "../runtime/schema.js";
import type { DeliveryRecording } from "./chain.js";
import { DELIVERY_RETRY_ATTEMPTS } from "./outcome.js";

/** LEDGER_TABLE_NAME, what every deliver function reads (log too). */
export const ledgerEnvironment = {
  [ENV.ledgerTableName]: z.string().check(z.minLength(1)),
};

export interface LedgerEnvironment {
  [ENV.ledgerTableName]: string;
}

/**
 * The delivery ledger of a deliver function and its metrics. Lambda dead-letters after its last
 * retry, so the chain records `dead-lettered` with that failure.
 */
export function awsDeliveryRecording(
  env: LedgerEnvironment,
  client: DynamoDBClient = new DynamoDBClient({}),
): DeliveryRecording {
  return {
    ledger: new DynamoDbLedger(env[ENV.ledgerTableName], client),
    lastAttempt: 1 + DELIVERY_RETRY_ATTEMPTS,
    // The namespace is POWERTOOLS_METRICS_NAMESPACE, which the stack sets to its name.
    metrics: new Metrics({ serviceName: METRICS_SERVICE }),
  };
}
