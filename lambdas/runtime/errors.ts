/**
 * The relay's small error hierarchy, one root (RelayError), every class taking `cause`. Cores throw
 * these; handlers map them to answers in one place. `expose` says whether `message` may reach the
 * caller: 5xx details never do. lib/ and the local stack derive their settings errors from
 * ConfigurationError.
 */

export class RelayError extends Error {
  override name = "RelayError";
}

/** A request answered with an HTTP error. `code` is a stable, machine-readable reason. */
export class HttpError extends RelayError {
  override name = "HttpError";
  readonly expose: boolean;
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.expose = statusCode < 500;
  }
}

/** A dependency (key store, queue, topic, downstream API) failed; retrying later may succeed. */
export class DependencyUnavailableError extends RelayError {
  override name = "DependencyUnavailableError";
}

/**
 * Retrying cannot fix it: the message itself is refused (an alert too large for the topic, an
 * entry SNS rejects as the sender's fault). Route throws it; deliveries throw the subclass.
 */
export class PermanentError extends RelayError {
  override name = "PermanentError";
}

/** A delivery failed in a way retrying cannot fix (a 4xx from the receiver, a rejected address). */
export class PermanentDeliveryError extends PermanentError {
  override name = "PermanentDeliveryError";
}

export interface TransientErrorOptions extends ErrorOptions {
  /** Seconds the receiver asked us to wait (`Retry-After`), when it said. */
  retryAfterSeconds?: number | undefined;
  /**
   * The destination refused for its rate (Slack's 429, SES or SNS throttling): a backend with a
   * queue of its own waits on it (lambdas/delivery/chain.ts) instead of burning its retries.
   */
  rateLimited?: boolean | undefined;
}

/** A delivery failed in a way a retry may fix (network error, 5xx, 429, throttling). */
export class TransientDeliveryError extends RelayError {
  override name = "TransientDeliveryError";
  /** Seconds the receiver asked us to wait (`Retry-After`), when it said. */
  readonly retryAfterSeconds: number | undefined;
  /** Refused for its rate (see TransientErrorOptions.rateLimited). */
  readonly rateLimited: boolean;
  constructor(message: string, options?: TransientErrorOptions) {
    super(message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.rateLimited = options?.rateLimited ?? false;
  }
}

/** Settings or environment are missing or invalid: the function cannot start. */
export class ConfigurationError extends RelayError {
  override name = "ConfigurationError";
}

/**
 * An enabled backend's secret does not say where to deliver yet: the placeholder the stack
 * creates, a value that is not JSON, or JSON its schema refuses. Retryable on purpose: no send is
 * recorded as done, the platform retries and then dead-letters the alert with this message (which
 * names the secret, never its value), and a replay once the secret is filled in delivers it.
 */
export class BackendNotConfiguredError extends TransientDeliveryError {
  override name = "BackendNotConfiguredError";
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
