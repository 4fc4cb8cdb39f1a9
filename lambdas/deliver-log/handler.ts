/**
 * AWS entry of deliver-log: SNS-subscribed, asynchronous. Reads IDEMPOTENCY_TABLE_NAME and
 * LEDGER_TABLE_NAME at cold start: a duplicate of an alert still makes its log line, marked
 * `duplicate: true`, so the audit trail shows every arrival while the other backends send once.
 */
import * as z from "zod";
import { awsDeliveryDependencies, deliveryEnvironment } from "../delivery/backend-entry.js";
import { parseEnvironment } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import { createDeliverLogHandler } from "./core.js";

const env = parseEnvironment(z.object(deliveryEnvironment));

export const handler = createDeliverLogHandler({
  logger: createLogger("deliver-log"),
  ...awsDeliveryDependencies(env),
});
