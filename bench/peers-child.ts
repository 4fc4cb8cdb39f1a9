/**
 * The servers the relay's front door is measured against, in the same run and under the same
 * load, each in its own process (so its CPU time is its own):
 * - `bare`: `node:http` reading the body whole and answering 200, nothing else. The ceiling: what
 *   Node's HTTP server reaches on this machine.
 * - `floor`: the same plus the work no webhook receiver can skip: HMAC-SHA256 of the raw body
 *   compared in constant time with `X-Sqreen-Integrity`, and `JSON.parse`.
 * - `fastify`: Fastify 5 with the raw body kept as bytes, the same HMAC and parse: what a user
 *   would write to receive these webhooks.
 * Each answers `{"accepted": N}` (N notifications in the body) as the relay does.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { WEBHOOK_PATH } from "../lambdas/ingest/core.js";
import { serveCommands } from "./ipc.js";

export type PeerKind = "bare" | "floor" | "fastify";

/** 200 and the notification count when `body`'s HMAC under `key` is `signature`, else 401. */
function verifyAndParse(body: Buffer, signature: string | undefined, key: string): [number, string] {
  const expected = createHmac("sha256", key).update(body).digest();
  const given = Buffer.from(signature ?? "", "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return [401, '{"error":"invalid_signature"}'];
  }
  const parsed: unknown = JSON.parse(body.toString("utf8"));
  return [200, JSON.stringify({ accepted: Array.isArray(parsed) ? parsed.length : 0 })];
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function nodeServer(kind: "bare" | "floor", key: string): Server {
  return createServer(async (request, response) => {
    const body = await readBody(request);
    const [status, answer] =
      kind === "bare"
        ? [200, JSON.stringify({ accepted: 1 })]
        : verifyAndParse(body, request.headers["x-sqreen-integrity"] as string | undefined, key);
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(answer),
    });
    response.end(answer);
  });
}

async function fastifyServer(key: string): Promise<string> {
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) =>
    done(null, body),
  );
  app.post(WEBHOOK_PATH, async (request, reply) => {
    const [status, answer] = verifyAndParse(
      request.body as Buffer,
      request.headers["x-sqreen-integrity"] as string | undefined,
      key,
    );
    return reply.code(status).type("application/json").send(answer);
  });
  return app.listen({ port: 0, host: "127.0.0.1" });
}

serveCommands({
  async start(argument) {
    const { kind, signingKey } = argument as { kind: PeerKind; signingKey: string };
    if (kind === "fastify") return { url: `${await fastifyServer(signingKey)}${WEBHOOK_PATH}` };
    const server = nodeServer(kind, signingKey);
    // The same keep-alive window as the relay's front door (FRONT_DOOR_LIMITS.idleTimeoutMs).
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${WEBHOOK_PATH}` };
  },
});
