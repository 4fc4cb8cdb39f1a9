/**
 * AWS entry of deliver-log: SNS-subscribed, asynchronous, and unguarded (GUARDED_BACKENDS in
 * lambdas/contracts/messages.ts): a duplicate of an alert makes its log line again, with the same
 * alert id, so the audit trail shows every arrival at no idempotency cost. Reads LEDGER_TABLE_NAME
 * at cold start: its outcomes go to the delivery ledger like every backend's.
 */
import { awsDeliveryRecording, ledgerEnvironment } from "../delivery/ledger-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import * as z from "../runtime/schema.js";
import { createDeliverLogHandler } from "./core.js";

const env = parseEnvironment(z.object(ledgerEnvironment));

export const handler = createDeliverLogHandler({
  logger: createLogger("deliver-log"),
  recording: awsDeliveryRecording(env),
});
