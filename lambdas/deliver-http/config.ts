/** The deliver-http function's environment, parsed once at cold start. */

import { backendEnvironment, httpTimeoutEnvironment } from "../delivery/backend-entry.js";
import * as z from "../runtime/schema.js";

/**
 * Per-attempt timeout of a POST to a target: the `backends.http.timeoutSeconds` default of the
 * settings (lib/settings.ts), which the stack always sets as HTTP_TIMEOUT_SECONDS.
 */
export const DEFAULT_HTTP_TIMEOUT_SECONDS = 10;

/** BACKEND_SECRET_ID, IDEMPOTENCY_TABLE_NAME and HTTP_TIMEOUT_SECONDS. */
export const deliverHttpEnvironmentSchema = z.object({
  ...backendEnvironment,
  ...httpTimeoutEnvironment(DEFAULT_HTTP_TIMEOUT_SECONDS),
});
