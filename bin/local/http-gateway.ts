/**
 * Stands in for API Gateway (HTTP API, payload v2): turns each HTTP request into the event the
 * ingest function receives on AWS, and its result back into a response. The body is passed
 * base64-encoded, as API Gateway does for binary content, so the handler sees the exact bytes.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { type LambdaHandler, lambdaContext } from "./lambda-context.js";

export type HttpApiHandler = LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

export interface HttpGatewayOptions {
  handler: HttpApiHandler;
  /**
   * Bytes of body buffered at most. Past it the rest is read and dropped, and the handler gets one
   * byte more than its limit, so it answers 413 through its own code path without the server
   * holding a huge body in memory.
   */
  maxBodyBytes: number;
  functionName?: string;
  timeoutMs?: number;
}

export function createHttpGateway(options: HttpGatewayOptions): Server {
  const functionName = options.functionName ?? "ingest";
  return createServer((request, response) => {
    readBody(request, options.maxBodyBytes + 1)
      .then(async (body) => {
        const event = toApiGatewayEvent(request, body);
        const result = await options.handler(event, lambdaContext(functionName, options.timeoutMs ?? 10_000));
        writeResult(response, result);
      })
      .catch(() => {
        // The handler maps its own errors; reaching here means the gateway itself failed.
        writeResult(response, {
          statusCode: 500,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: "internal_error", message: "Internal error" }),
        });
      });
  });
}

function readBody(request: IncomingMessage, cap: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    request.on("data", (chunk: Buffer) => {
      if (kept >= cap) return;
      const part = chunk.subarray(0, cap - kept);
      chunks.push(part);
      kept += part.length;
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

export function toApiGatewayEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  const now = new Date();
  const method = request.method ?? "GET";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ""),
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "local",
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body.toString("base64") : undefined,
    isBase64Encoded: body.length > 0,
  };
}

function writeResult(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  const body =
    result.body === undefined
      ? ""
      : result.isBase64Encoded
        ? Buffer.from(result.body, "base64")
        : result.body;
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}
