/**
 * Test fixtures for ingest: the shared signed Sqreen samples, and API Gateway HTTP API (payload
 * v2) events and Lambda contexts built the way API Gateway and Lambda deliver them.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { lambdaContext as localLambdaContext } from "../../../local/aws/lambda-context.js";
import { SAMPLES_DIR } from "../../samples.js";

export interface SignaturesFile {
  secret: string;
  signatures: Record<string, string>;
}

const signaturesFile = JSON.parse(
  readFileSync(path.join(SAMPLES_DIR, "SIGNATURES.json"), "utf8"),
) as SignaturesFile;

/** The webhook secret every sample is signed with. */
export const SAMPLE_SECRET = signaturesFile.secret;

/** File names of the signed samples (`v2-test.json`, ...). */
export const sampleNames: readonly string[] = readdirSync(SAMPLES_DIR)
  .filter((name) => name.endsWith(".json") && name !== "SIGNATURES.json")
  .sort();

/** The exact bytes of a sample, as Sqreen sent them. */
export function sampleBytes(name: string): Buffer {
  return readFileSync(path.join(SAMPLES_DIR, name));
}

/** The sample's notifications, parsed. */
export function sampleNotifications(name: string): Record<string, unknown>[] {
  return JSON.parse(sampleBytes(name).toString("utf8")) as Record<string, unknown>[];
}

/** The `X-Sqreen-Integrity` Sqreen sent with a sample (SIGNATURES.json). */
export function sampleSignature(name: string): string {
  const signature = signaturesFile.signatures[name];
  if (!signature) throw new Error(`SIGNATURES.json has no signature for ${name}`);
  return signature;
}

export interface WebhookEventOptions {
  body?: Uint8Array | string;
  /** `X-Sqreen-Integrity`; omitted when undefined. */
  signature?: string;
  headers?: Record<string, string>;
  method?: string;
  path?: string;
  /** Deliver the body base64-encoded, as API Gateway does for binary content. */
  base64?: boolean;
  requestId?: string;
}

/** An API Gateway HTTP API v2 event for a request to the relay (`POST /v1/webhook` by default). */
export function webhookEvent(options: WebhookEventOptions = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? "POST";
  const rawPath = options.path ?? "/v1/webhook";
  const bytes =
    typeof options.body === "string" ? Buffer.from(options.body, "utf8") : Buffer.from(options.body ?? []);
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.signature !== undefined) headers["x-sqreen-integrity"] = options.signature;
  const base64 = options.base64 ?? false;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "",
    headers,
    requestContext: {
      accountId: "123456789012",
      apiId: "api-test",
      domainName: "api-test.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "api-test",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.10", userAgent: "Sqreen" },
      requestId: options.requestId ?? "req-0001",
      routeKey: "$default",
      stage: "$default",
      time: "02/Oct/2026:10:30:00 +0000",
      timeEpoch: Date.UTC(2026, 9, 2, 10, 30, 0),
    },
    body: options.body === undefined ? undefined : base64 ? bytes.toString("base64") : bytes.toString("utf8"),
    isBase64Encoded: base64,
  };
}

/** The ISO time of `webhookEvent`'s `requestContext.timeEpoch`. */
export const EVENT_RECEIVED_AT = new Date(Date.UTC(2026, 9, 2, 10, 30, 0)).toISOString();

/** A Lambda context, as middy and Powertools read it. */
export function lambdaContext(): Context {
  return localLambdaContext("ingest", 10_000);
}

/**
 * `count` v2 security events built from the shared sample, each with its own event id, as the
 * JSON body Sqreen would send.
 */
export function securityEventBatch(count: number): string {
  const [template] = sampleNotifications("v2-security-event.json");
  const message = template?.message as Record<string, unknown>;
  const notifications = Array.from({ length: count }, (_, index) => ({
    ...template,
    message: { ...message, event_id: `evt-${String(index).padStart(4, "0")}` },
  }));
  return JSON.stringify(notifications);
}
