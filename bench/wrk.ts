/**
 * The load generator: wrk (Debian's `wrk` package), a separate C process, so what it measures is
 * the server and not the generator (a Node generator capped the bare server at 12.6k to 19.9k
 * req/s where wrk reaches 36k on the same machine: every ratio against it was inflated).
 * bench/wrk.lua posts prepared signed requests, each wrk thread cycling over its own share.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SignedRequest } from "./load.js";

const SCRIPT = fileURLToPath(new URL("wrk.lua", import.meta.url));

export interface WrkOptions {
  url: string;
  requests: readonly SignedRequest[];
  /** wrk -t: threads (the measurements: 2). */
  threads: number;
  /** wrk -c: connections kept open, each with one request in flight. */
  connections: number;
  durationSeconds: number;
}

export interface WrkResult {
  /** Requests answered 2xx. */
  ok: number;
  /** Requests answered otherwise (wrk counts the status only when it is not 2xx or 3xx). */
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  elapsedMs: number;
  okPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Times a thread went back to its first prepared request (0: every request was sent once at most). */
  wrapped: number;
}

/** Fails with how to install wrk when it is missing: the benchmark has no other honest generator. */
export function assertWrkInstalled(): void {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary is a failure.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "npm run bench needs wrk as its load generator: apt-get install -y wrk (Debian/Ubuntu), brew install wrk (macOS)",
      );
    }
  }
}

/** Runs wrk once against `url` with `requests` (signature and body of each) and parses its summary. */
export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), "sqreen-relay-wrk-"));
  try {
    const file = join(dir, "requests.tsv");
    writeFileSync(
      file,
      options.requests.map((request) => `${request.signature}\t${request.body.toString("hex")}\n`).join(""),
      { mode: 0o600 },
    );
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        "wrk",
        [
          `-t${options.threads}`,
          `-c${options.connections}`,
          `-d${options.durationSeconds}s`,
          "--timeout",
          "10s",
          "-s",
          SCRIPT,
          options.url,
        ],
        {
          env: { ...process.env, BENCH_WRK_REQUESTS: file, BENCH_WRK_THREADS: String(options.threads) },
          maxBuffer: 1024 * 1024,
        },
        (error, out, err) =>
          error ? reject(new Error(`wrk failed: ${error.message}\n${err}`)) : resolve(out),
      );
    });
    return parseWrkSummary(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `BENCH_WRK {...}` line bench/wrk.lua prints, as a WrkResult. */
export function parseWrkSummary(stdout: string): WrkResult {
  const line = stdout.split("\n").find((text) => text.startsWith("BENCH_WRK "));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const raw = JSON.parse(line.slice("BENCH_WRK ".length)) as Record<string, number>;
  const field = (name: string): number => {
    const value = raw[name];
    if (typeof value !== "number") throw new Error(`wrk summary has no ${name}: ${line}`);
    return value;
  };
  const elapsedMs = field("durationUs") / 1000;
  const ok = field("requests") - field("non2xx");
  return {
    ok,
    non2xx: field("non2xx"),
    socketErrors: field("socketErrors"),
    timeouts: field("timeouts"),
    elapsedMs,
    okPerSecond: ok / (elapsedMs / 1000),
    p50Ms: field("p50Us") / 1000,
    p99Ms: field("p99Us") / 1000,
    wrapped: field("wrapped"),
  };
}
