/**
 * AWS event shapes built from what moto really holds: an API Gateway HTTP API (v2) request for
 * ingest, an SQS event from received ingest messages for route, an SNS event from the envelope a
 * backend's queue received for the deliver functions. Lambda would build the same from the same
 * messages; building them here lets the integration tier run the real handler modules in-process.
 */
import type { Message } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEventV2, Context, SQSEvent } from "aws-lambda";
import { lambdaContext as localLambdaContext } from "../../local/aws/lambda-context.js";
import { sqsEvent as lambdaSqsEvent } from "../aws-events.js";
import { TEST_REGION } from "./moto.js";

/** The API Gateway event for a POST of `body` with `headers` (names lower-cased, as API Gateway does). */
export function webhookEvent(
  body: Uint8Array,
  headers: Record<string, string>,
  requestId = `req-${Date.now()}`,
): APIGatewayProxyEventV2 {
  const lowerCased = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: "POST /v1/webhook",
    rawPath: "/v1/webhook",
    rawQueryString: "",
    headers: { ...lowerCased, "content-length": String(body.byteLength), "user-agent": "sqreen-simulator" },
    requestContext: {
      accountId: "123456789012",
      apiId: "integration",
      domainName: "integration.execute-api.us-east-1.amazonaws.com",
      domainPrefix: "integration",
      http: {
        method: "POST",
        path: "/v1/webhook",
        protocol: "HTTP/1.1",
        sourceIp: "192.0.2.1",
        userAgent: "sqreen",
      },
      requestId,
      routeKey: "POST /v1/webhook",
      stage: "$default",
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: Buffer.from(body).toString("utf8"),
    isBase64Encoded: false,
  };
}

/** The SQS event Lambda's event source mapping builds from received messages, in moto's region. */
export function sqsEvent(messages: readonly Message[], queueArn: string): SQSEvent {
  return lambdaSqsEvent(messages, queueArn, TEST_REGION);
}

export { type SnsEnvelope, snsEvent } from "../aws-events.js";

/** A Lambda context for `functionName`, as middy and Powertools read it. */
export function lambdaContext(functionName: string): Context {
  return localLambdaContext(functionName, 30_000);
}
