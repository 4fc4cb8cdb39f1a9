/** The deliver-slack function's environment, parsed once at cold start. */

import { backendEnvironment, digestEnvironment, httpTimeoutEnvironment } from "../delivery/backend-entry.js";
import * as z from "../runtime/schema.js";

/**
 * Per-attempt timeout of a post to an incoming webhook. The stack sets no HTTP_TIMEOUT_SECONDS for
 * Slack (it is no setting), so this is the timeout on AWS and locally.
 */
export const DEFAULT_SLACK_TIMEOUT_SECONDS = 5;

/** BACKEND_SECRET_ID, IDEMPOTENCY_TABLE_NAME and, optionally, HTTP_TIMEOUT_SECONDS and the DIGEST_* variables. */
export const deliverSlackEnvironmentSchema = z.object({
  ...backendEnvironment,
  ...digestEnvironment,
  ...httpTimeoutEnvironment(DEFAULT_SLACK_TIMEOUT_SECONDS),
});
