/**
 * AWS entry of deliver-log: SNS-subscribed, asynchronous, and unguarded (GUARDED_BACKENDS in
 * lambdas/contracts/messages.ts): a duplicate of an alert makes its log line again, with the same
 * alert id, so the audit trail shows every arrival at no DynamoDB cost.
 */
import { createLogger } from "../runtime/logger.js";
import { createDeliverLogHandler } from "./core.js";

export const handler = createDeliverLogHandler({ logger: createLogger("deliver-log") });
