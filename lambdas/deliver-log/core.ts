/**
 * deliver-log: writes every alert it receives as one structured JSON log line. It needs no secret
 * and cannot fail on a receiver, which makes it the always-on audit trail of what was routed.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Alert } from "../contracts/alert.js";
import { createDeliverHandler, type DeliverHandler, type DeliveryRecording } from "../delivery/chain.js";
import type { DeliveryOutcome } from "../delivery/outcome.js";
import { alertLogRecord } from "./format.js";

export interface DeliverLogDeps {
  logger: Logger;
  /** The delivery ledger this function records its outcomes in. */
  recording?: DeliveryRecording | undefined;
}

/**
 * The log "delivery": the record rides on the shared outcome line, so each alert makes exactly
 * one line (message `Alert delivered by log`, tagged `[INTERNAL SECURITY ALERT]` when internal).
 */
export async function deliverToLog(alert: Alert): Promise<DeliveryOutcome> {
  return { status: "delivered", delivered: 1, details: { ...alertLogRecord(alert) } };
}

/**
 * The deliver-log middy handler, unguarded: its one effect is the outcome line, which a duplicate
 * writes again (GUARDED_BACKENDS in lambdas/contracts/messages.ts says why).
 */
export function createDeliverLogHandler(deps: DeliverLogDeps): DeliverHandler {
  return createDeliverHandler({
    backend: "log",
    deliver: deliverToLog,
    logger: deps.logger,
    recording: deps.recording,
  });
}
