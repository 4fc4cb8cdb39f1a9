/**
 * The downstream services the relay's Slack and HTTP backends post to, stood in for by a local
 * server answering 200 `ok` at once. In its own process so its work is not charged to the relay.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { serveCommands } from "./ipc.js";

const received: Record<string, number> = {};

const server = createServer((request, response) => {
  request.resume();
  request.on("end", () => {
    const path = request.url ?? "/";
    received[path] = (received[path] ?? 0) + 1;
    response.writeHead(200, { "content-type": "text/plain", "content-length": 2 });
    response.end("ok");
  });
});

serveCommands({
  async start() {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  },
  async received() {
    return { ...received };
  },
});
