/**
 * HTTP answers of the relay's webhook: the one place errors become status codes and bodies.
 * Bodies are JSON `{"error": "<stable_code>", "message": "<short stable text>"}`; a 5xx never
 * carries its internal message, and no answer ever echoes the request.
 */
import { HttpError } from "../runtime/errors.js";

/** An HTTP answer, independent of API Gateway's shapes. */
export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A 405: carries the methods the route allows, for the `Allow` header. */
export class MethodNotAllowedError extends HttpError {
  override name = "MethodNotAllowedError";
  constructor(readonly allow: readonly string[]) {
    super(405, "method_not_allowed", `Only ${allow.join(", ")} is allowed on this path`);
  }
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

/** A JSON answer. */
export function jsonAnswer(
  statusCode: number,
  payload: unknown,
  headers: Record<string, string> = {},
): HttpAnswer {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(payload) };
}

const GENERIC_MESSAGES: Record<number, string> = {
  500: "Internal error",
  503: "Temporarily unavailable, retry later",
};

/**
 * The answer for an error: an HttpError gives its status and code (and its message when exposed);
 * anything else is an unexpected failure, answered 500 with nothing about it. Callers log the
 * error itself; this function only decides what the sender may see.
 */
export function errorAnswer(error: unknown): HttpAnswer {
  if (error instanceof HttpError) {
    const message = error.expose ? error.message : (GENERIC_MESSAGES[error.statusCode] ?? "Internal error");
    const headers = error instanceof MethodNotAllowedError ? { allow: error.allow.join(", ") } : undefined;
    return jsonAnswer(error.statusCode, { error: error.code, message }, headers);
  }
  return jsonAnswer(500, { error: "internal_error", message: GENERIC_MESSAGES[500] });
}
