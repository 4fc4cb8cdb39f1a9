/**
 * The AWS endpoint the bundles are given (`AWS_ENDPOINT_URL`): a loopback HTTP server that
 * forwards every request unchanged to moto_server and records it with moto's answer. Each
 * principal (a function's code, or Lambda acting with that function's role) gets its own
 * credentials, so the access key id in a request's SigV4 `Authorization` header says who made it.
 *
 * Why not moto's own recorder (`/moto-api/recorder/...`): it records requests without moto's
 * answers and without telling callers apart by anything but their headers; this keeps both, and
 * knows the principal without parsing moto's file format. moto's IAM enforcement is not used
 * either: it ignores the Resource and Condition of statements (moto/iam/access_control.py).
 */
import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Credentials as Lambda hands them to a function (a role session). */
export interface Credentials {
  AWS_ACCESS_KEY_ID: string;
  AWS_SECRET_ACCESS_KEY: string;
  AWS_SESSION_TOKEN: string;
}

/** One request a principal sent, and what moto answered. */
export interface RecordedRequest {
  principal: string;
  /** SigV4 signing name (`sqs`, `sns`, `secretsmanager`, `dynamodb`, `ses`, ...). */
  service: string;
  region: string;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
  responseBody: Buffer;
}

const SCOPE = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

export class RecordingEndpoint {
  private server?: Server;
  private readonly principals = new Map<string, string>();
  /** Every request recorded, in order. */
  readonly requests: RecordedRequest[] = [];
  url = "";

  constructor(private readonly target: string) {}

  /** The credentials of `principal` (stable for the run). */
  credentialsFor(principal: string): Credentials {
    const digest = createHash("sha256").update(principal).digest("hex").toUpperCase();
    const accessKeyId = `ASIA${digest.slice(0, 16)}`;
    this.principals.set(accessKeyId, principal);
    return {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: digest.slice(16, 56),
      AWS_SESSION_TOKEN: `bundle-tier-session-${digest.slice(0, 24)}`,
    };
  }

  /** The requests `principal` made. */
  by(principal: string): RecordedRequest[] {
    return this.requests.filter((recorded) => recorded.principal === principal);
  }

  async listen(): Promise<void> {
    const target = new URL(this.target);
    const server = createServer((incoming, outgoing) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => {
        const body = Buffer.concat(chunks);
        const scope = SCOPE.exec(String(incoming.headers.authorization ?? ""));
        const accessKeyId = scope?.[1] ?? "";
        const forwarded = httpRequest(
          {
            host: target.hostname,
            port: target.port,
            method: incoming.method,
            path: incoming.url,
            // The Host header is kept: moto builds queue URLs from it, and they must name this endpoint.
            headers: incoming.headers,
          },
          (answer) => {
            const answerChunks: Buffer[] = [];
            answer.on("data", (chunk: Buffer) => answerChunks.push(chunk));
            answer.on("end", () => {
              const responseBody = Buffer.concat(answerChunks);
              this.requests.push({
                principal:
                  this.principals.get(accessKeyId) ?? `unknown credentials ${accessKeyId || "(none)"}`,
                service: scope?.[3] ?? "unknown",
                region: scope?.[2] ?? "unknown",
                method: incoming.method ?? "",
                path: incoming.url ?? "",
                headers: incoming.headers,
                body,
                status: answer.statusCode ?? 0,
                responseBody,
              });
              const headers = { ...answer.headers };
              delete headers["transfer-encoding"];
              headers["content-length"] = String(responseBody.byteLength);
              outgoing.writeHead(answer.statusCode ?? 502, headers);
              outgoing.end(responseBody);
            });
          },
        );
        forwarded.on("error", (error) => {
          outgoing.writeHead(502).end(`bundle tier endpoint: moto unreachable: ${error.message}`);
        });
        forwarded.end(body);
      });
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
