/**
 * The ceiling: a bare Node HTTP server that reads each request body whole and answers 200 with a
 * small JSON body, and nothing else. The relay's throughput is reported as a share of what this
 * server reaches under the same load, on the same machine, in the same run.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { WEBHOOK_PATH } from "../lambdas/ingest/core.js";
import { serveCommands } from "./ipc.js";

const server = createServer((request, response) => {
  let bytes = 0;
  request.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  request.on("end", () => {
    const body = JSON.stringify({ accepted: 1, bytes });
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
  });
});
// Same keep-alive window as the relay's gateway would get from Node's defaults.
server.keepAliveTimeout = 5000;

serveCommands({
  async start() {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${WEBHOOK_PATH}` };
  },
  async rss() {
    return process.memoryUsage.rss();
  },
});
