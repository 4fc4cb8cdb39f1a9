/**
 * Environment variable names shared by the CDK stack (which sets them) and the functions (which
 * parse them at cold start). Values are identifiers and limits only: never a secret, an address
 * or a phone number.
 */
export const ENV = {
  /** ingest: ARN or name of the signing-keys secret. */
  signingKeysSecretId: "SIGNING_KEYS_SECRET_ID",
  /** ingest: seconds fetched signing keys are cached. */
  keyCacheSeconds: "KEY_CACHE_SECONDS",
  /** ingest: URL of the ingest queue. */
  ingestQueueUrl: "INGEST_QUEUE_URL",
  /** ingest: largest accepted body, in bytes. */
  maxBodyBytes: "MAX_BODY_BYTES",
  /** route: ARN of the alerts topic. */
  alertsTopicArn: "ALERTS_TOPIC_ARN",
  /** route: the relay's own Sqreen application ids, comma-separated. */
  ownApplicationIds: "OWN_APPLICATION_IDS",
  /** deliver-*: ARN or name of the backend's secret (recipients, URLs, signing keys). */
  backendSecretId: "BACKEND_SECRET_ID",
  /** deliver-email: the verified SES sender address. */
  emailFrom: "EMAIL_FROM",
  /** deliver-http: per-attempt timeout in seconds. */
  httpTimeoutSeconds: "HTTP_TIMEOUT_SECONDS",
  /** deliver-*: DynamoDB table for idempotent delivery. */
  idempotencyTableName: "IDEMPOTENCY_TABLE_NAME",
  /** deliver-email|sms|slack with digests: DynamoDB table of the digest windows. */
  digestTableName: "DIGEST_TABLE_NAME",
  /** deliver-email|sms|slack with digests: URL of the backend's own queue (window closes, deliveries that wait). */
  digestQueueUrl: "DIGEST_QUEUE_URL",
  /** deliver-email|sms|slack with digests: alerts of a group sent at once per window (settings' digest.immediate). */
  digestImmediate: "DIGEST_IMMEDIATE",
  /** deliver-email|sms|slack with digests: seconds a window stays open (settings' digest.windowSeconds). */
  digestWindowSeconds: "DIGEST_WINDOW_SECONDS",
  /** deliver-*: DynamoDB table of the delivery ledger (lambdas/ledger/dynamodb-ledger.ts). */
  ledgerTableName: "LEDGER_TABLE_NAME",
  /** deliver-*: CloudWatch namespace of the delivery metrics (Powertools Metrics reads it). */
  metricsNamespace: "POWERTOOLS_METRICS_NAMESPACE",
} as const;
