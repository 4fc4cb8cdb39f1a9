import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { verifySignature } from "../../../lambdas/ingest/signature.js";
import { type CliIo, runCli, USAGE } from "../../../scripts/sqreen/cli.js";
import { SAMPLES_DIR } from "../../samples.js";

const { secret, signatures } = JSON.parse(
  readFileSync(path.join(SAMPLES_DIR, "SIGNATURES.json"), "utf8"),
) as {
  secret: string;
  signatures: Record<string, string>;
};
const url = "http://127.0.0.1:3000/v1/webhook";

interface Sent {
  url: string;
  body: Buffer;
  headers: Record<string, string>;
}

/** A CLI environment with captured output and a relay answering `status` (or per request). */
function fakeIo(
  options: { status?: number | ((index: number) => number); env?: CliIo["env"]; stdin?: string } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const sent: Sent[] = [];
  const io: CliIo = {
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    env: options.env ?? {},
    readStdin: async () => Buffer.from(options.stdin ?? "", "utf8"),
    readFile: async (file) => readFileSync(file),
    fetch: async (target, init) => {
      const index = sent.length;
      sent.push({
        url: target,
        body: Buffer.from(init.body as Uint8Array),
        headers: init.headers as Record<string, string>,
      });
      const status = typeof options.status === "function" ? options.status(index) : (options.status ?? 200);
      return new Response(JSON.stringify({ status }), { status });
    },
    untilInterrupted: async () => {},
    isTTY: false,
  };
  return { io, sent, stdout: () => out.join(""), stderr: () => err.join("") };
}

describe("sqreen send", () => {
  it("POSTs a sample's exact bytes signed like Sqreen and exits 0 on a 2xx answer", async () => {
    const { io, sent, stdout } = fakeIo();

    const code = await runCli(["send", "--url", url, "--secret", secret, "--sample", "v1-pulse"], io);

    expect(code).toBe(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.url).toBe(url);
    expect(sent[0]?.body.equals(readFileSync(path.join(SAMPLES_DIR, "v1-pulse.json")))).toBe(true);
    expect(sent[0]?.headers).toEqual({
      "Content-Type": "application/json",
      "X-Sqreen-Integrity": signatures["v1-pulse.json"],
    });
    expect(stdout()).toMatch(/^200 in \d+\.\d ms\n\{"status":200\}\n$/);
  });

  it("reads the secret from SQREEN_WEBHOOK_SECRET and sends a file untouched", async () => {
    const file = path.join(SAMPLES_DIR, "v2-mixed-batch.json");
    const { io, sent } = fakeIo({ env: { SQREEN_WEBHOOK_SECRET: secret } });

    const code = await runCli(["send", "--url", url, "--file", file], io);

    expect(code).toBe(0);
    expect(sent[0]?.headers["X-Sqreen-Integrity"]).toBe(signatures["v2-mixed-batch.json"]);
  });

  it("with --tamper sends a signature that does not verify, and exits 1 when the relay answers 401", async () => {
    const { io, sent } = fakeIo({ status: 401 });

    const code = await runCli(["send", "--url", url, "--secret", secret, "--tamper"], io);

    expect(code).toBe(1);
    const request = sent[0] as Sent;
    expect(verifySignature(request.body, request.headers["X-Sqreen-Integrity"], [secret])).toBe(false);
  });

  it("with --count sends that many requests and prints a summary, exiting 1 if any failed", async () => {
    const { io, sent, stdout } = fakeIo({ status: (index) => (index === 3 ? 503 : 200) });

    const code = await runCli(
      ["send", "--url", url, "--secret", secret, "--count", "10", "--concurrency", "4"],
      io,
    );

    expect(code).toBe(1);
    expect(sent).toHaveLength(10);
    expect(stdout()).toContain("ok 9, failed 1 (200 ×9, 503 ×1)");
    expect(stdout()).toMatch(/latency p50 \d+\.\d ms, p99 \d+\.\d ms/);
    expect(stdout()).toContain('first failure: 503 {"status":503}');
  });

  it("with --batch and --count gives every notification of every request its own id", async () => {
    const { io, sent } = fakeIo();

    const code = await runCli(
      ["send", "--url", url, "--secret", secret, "--batch", "50", "--count", "3"],
      io,
    );

    const notifications = sent.flatMap((request) => JSON.parse(request.body.toString("utf8")) as unknown[]);
    const ids = new Set(
      notifications.map((n) => JSON.stringify(n).match(/"(?:event_id|id|incident_thread)":"([^"]+)"/)?.[1]),
    );
    expect(code).toBe(0);
    expect(notifications).toHaveLength(150);
    expect(ids.size).toBe(150);
    for (const request of sent) {
      expect(verifySignature(request.body, request.headers["X-Sqreen-Integrity"], [secret])).toBe(true);
    }
  });

  it("exits 1 and says so when no answer comes", async () => {
    const { io, stdout } = fakeIo();
    io.fetch = async () => {
      throw new TypeError("fetch failed");
    };

    const code = await runCli(["send", "--url", url, "--secret", secret], io);

    expect(code).toBe(1);
    expect(stdout()).toMatch(/^no answer in .*\nfetch failed\n$/);
  });
});

describe("sqreen sign", () => {
  it("prints the signature of standard input's exact bytes", async () => {
    const stdin = readFileSync(path.join(SAMPLES_DIR, "v1-test.json"), "utf8");
    const { io, stdout } = fakeIo({ stdin });

    const code = await runCli(["sign", "--secret", secret], io);

    expect(code).toBe(0);
    expect(stdout()).toBe(`${signatures["v1-test.json"]}\n`);
  });

  it("prints the signature of a built-in sample", async () => {
    const { io, stdout } = fakeIo();

    await runCli(["sign", "--secret", secret, "--sample", "v2-unknown-type"], io);

    expect(stdout()).toBe(`${signatures["v2-unknown-type.json"]}\n`);
  });
});

describe("sqreen samples and body", () => {
  it("lists the ten samples", async () => {
    const { io, stdout } = fakeIo();

    expect(await runCli(["samples"], io)).toBe(0);
    expect(stdout().trim().split("\n")).toHaveLength(10);
  });

  it("prints a sample's wire bytes", async () => {
    const { io, stdout } = fakeIo();

    await runCli(["body", "--sample", "v2-test"], io);

    expect(stdout()).toBe(readFileSync(path.join(SAMPLES_DIR, "v2-test.json"), "utf8"));
  });
});

describe("bad command lines", () => {
  it.each([
    [[], "Missing command"],
    [["fly"], 'Unknown command "fly"'],
    [["send", "--secret", secret], "send needs --url"],
    [["send", "--url", url], "Give --secret or set SQREEN_WEBHOOK_SECRET"],
    [["send", "--url", "ftp://x", "--secret", secret], "--url must be http:// or https://"],
    [["send", "--url", url, "--secret", secret, "--count", "0"], "--count must be an integer from 1"],
    [
      ["send", "--url", url, "--secret", secret, "--batch", "1001"],
      "--batch must be an integer from 1 to 1000",
    ],
    [["send", "--url", url, "--secret", secret, "--sample", "nope"], 'Unknown sample "nope"'],
    [["send", "--url", url, "--secret", secret, "--sample", "v1-test", "--batch", "2"], "at most one of"],
    [["samples", "--url", url], '--url does not apply to "samples"'],
    [["send", "--bogus"], "Unknown option '--bogus'"],
  ])("%j exits 2 with the reason and the usage", async (argv, reason) => {
    const { io, sent, stderr } = fakeIo();

    const code = await runCli(argv, io);

    expect(code).toBe(2);
    expect(sent).toHaveLength(0);
    expect(stderr()).toContain(reason);
    expect(stderr()).toContain(USAGE);
  });

  it("prints the usage on --help and exits 0", async () => {
    const { io, stdout } = fakeIo();

    expect(await runCli(["send", "--help"], io)).toBe(0);
    expect(stdout()).toBe(USAGE);
  });
});
