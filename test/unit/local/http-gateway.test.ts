/**
 * The front door's shared body budget (local/aws/http-gateway.ts), in process with a tiny budget:
 * a large body with a declared length is refused 503 before a byte of it is read when the budget
 * cannot hold it whole, its share is held until its answer has gone, a chunked body is cut once it
 * outgrows the budget, and a body the budget holds reaches the ingest core byte for byte.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { VerifiedIngestRequest } from "../../../lambdas/ingest/core.js";
import { signBody } from "../../../lambdas/ingest/signature.js";
import { StaticSigningKeyStore } from "../../../lambdas/ingest/signing-keys.js";
import { createHttpGateway, type HttpGateway } from "../../../local/aws/http-gateway.js";

const KEY = randomBytes(32).toString("hex");
/** Each request holds up to 64 KiB outside the budget; this budget holds one 200 KB body beyond that. */
const BUDGET_BYTES = 200_000;
const LARGE_BYTES = 200_000;

const silent = { info() {}, warn() {}, error() {} };

describe("the front door's body budget", () => {
  let gateway: HttpGateway | undefined;
  const accepted: VerifiedIngestRequest[] = [];

  afterEach(async () => {
    accepted.length = 0;
    const server = gateway?.server;
    gateway = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function start(): Promise<number> {
    gateway = createHttpGateway({
      accept: async (request) => {
        accepted.push(request);
        return { statusCode: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' };
      },
      maxBodyBytes: 4_500_000,
      keys: new StaticSigningKeyStore([KEY]),
      logger: silent,
      limits: { maxBufferedBodyBytes: BUDGET_BYTES },
    });
    const server = gateway.server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  /** Sends a head (and optionally part of a body) and keeps the connection; resolves the status line. */
  function openRequest(port: number, head: string, firstBytes?: Buffer) {
    const socket = connect(port, "127.0.0.1");
    socket.write(head);
    if (firstBytes) socket.write(firstBytes);
    let received = "";
    const status = new Promise<number>((resolve) => {
      socket.on("data", (chunk) => {
        received += chunk.toString("latin1");
        const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
        if (match) resolve(Number(match[1]));
      });
      socket.on("close", () => resolve(0));
    });
    socket.on("error", () => {});
    return { socket, status, text: () => received };
  }

  const headFor = (length: number, signature: string) =>
    `POST /v1/webhook HTTP/1.1\r\nHost: x\r\nX-Sqreen-Integrity: ${signature}\r\nContent-Length: ${length}\r\n\r\n`;

  it("refuses a declared body the budget cannot hold with 503 before reading it, and admits again once the holder is answered", async () => {
    const port = await start();
    const bogus = "cd".repeat(32);
    // The first large body holds the budget while it is being sent.
    const holder = openRequest(port, headFor(LARGE_BYTES, bogus), Buffer.alloc(1_000, 0x20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The second is answered from its head alone: none of its body is sent.
    const refused = openRequest(port, headFor(LARGE_BYTES, bogus));
    expect(await refused.status).toBe(503);
    expect(refused.text()).toContain("server_busy");
    refused.socket.destroy();
    // The holder finishes (a forged body: 401) and gives its share back.
    holder.socket.write(Buffer.alloc(LARGE_BYTES - 1_000, 0x20));
    expect(await holder.status).toBe(401);
    holder.socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));

    const body = Buffer.from(JSON.stringify([{ pad: "x".repeat(LARGE_BYTES) }]));
    const admitted = openRequest(port, headFor(body.length, signBody(body, KEY)), body);
    expect(await admitted.status).toBe(200);
    admitted.socket.destroy();
    expect(accepted).toHaveLength(1);
    expect(Buffer.compare(accepted[0]?.body as Buffer, body)).toBe(0);
  });

  it("cuts a chunked body with 503 once it outgrows the budget", async () => {
    const port = await start();
    const request = openRequest(
      port,
      `POST /v1/webhook HTTP/1.1\r\nHost: x\r\nX-Sqreen-Integrity: ${"ab".repeat(32)}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    const chunk = Buffer.alloc(16_384, 0x20);
    const frame = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from("\r\n"),
    ]);
    for (let sent = 0; sent < 64 * 1024 + BUDGET_BYTES + 4 * chunk.length; sent += chunk.length) {
      request.socket.write(frame);
    }
    expect(await request.status).toBe(503);
    expect(request.text()).toContain("server_busy");
    request.socket.destroy();
  });
});
