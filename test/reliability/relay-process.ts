/**
 * The local relay as its own process, started the way `npm start` starts it (node with the tsx
 * loader on bin/local.ts, configured by environment variables and a settings file), so the crash
 * and abuse suites can kill it with -9, stop it with SIGTERM, and read its memory from /proc.
 * Its stdout is the log backend's output: the "Alert delivered by log" lines are counted as they
 * arrive, so a process killed mid-run still has every line it wrote counted.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AlertCounts, benchEnvironment, sleep } from "./harness.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface RelayProcessOptions {
  dataDir: string;
  /** Settings as JSON, written to `settingsFile` (RELAY_CONFIG). */
  settings: unknown;
  settingsFile: string;
  receiverUrl: string;
  port: number;
  signingKey: string;
  /** The backends' variables; the bench's five backends pointed at `receiverUrl` by default. */
  backendEnvironment?: Record<string, string>;
}

export class RelayProcess {
  /** Successful log-backend lines per alert, over every run of the process. */
  readonly logDeliveries = new AlertCounts();
  /** Of those, the lines not marked `duplicate` (a replay of a recorded delivery logs its line again, marked). */
  readonly freshLogDeliveries = new AlertCounts();
  /** Runs started, and how each ended. */
  readonly exits: Array<number | string> = [];
  child: ChildProcess | undefined;
  output = "";
  #partial = "";
  #exited: Promise<number | string> | undefined;

  constructor(private readonly options: RelayProcessOptions) {
    writeFileSync(options.settingsFile, JSON.stringify(options.settings));
  }

  get webhookUrl(): string {
    return `http://127.0.0.1:${this.options.port}/v1/webhook`;
  }

  /** Starts a run and resolves once it answers HTTP. */
  async start(): Promise<void> {
    const env = {
      ...process.env,
      ...(this.options.backendEnvironment ?? benchEnvironment(this.options.receiverUrl)),
      PORT: String(this.options.port),
      HOST: "127.0.0.1",
      SQREEN_WEBHOOK_SECRET: this.options.signingKey,
      RELAY_CONFIG: this.options.settingsFile,
      RELAY_DATA_DIR: this.options.dataDir,
      // The log backend's lines are what this suite counts.
      POWERTOOLS_LOG_LEVEL: "INFO",
    };
    const child = spawn(process.execPath, ["--import", "tsx", "bin/local.ts"], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.#partial = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => this.#read(chunk));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.output = (this.output + chunk).slice(-20_000);
    });
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        const outcome = code ?? signal ?? "unknown";
        this.exits.push(outcome);
        resolve(outcome);
      });
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the relay exited at start:\n${this.output}`);
      try {
        const response = await fetch(`http://127.0.0.1:${this.options.port}/`, {
          signal: AbortSignal.timeout(1_000),
        });
        await response.arrayBuffer();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`the relay did not listen in 30 s:\n${this.output}`);
        await sleep(50);
      }
    }
  }

  /** kill -9: no handler runs, nothing is flushed. */
  async kill(): Promise<void> {
    this.child?.kill("SIGKILL");
    await this.#exited;
  }

  /** SIGTERM; resolves with the exit code and how long the stop took. */
  async terminate(): Promise<{ code: number | string; ms: number }> {
    const started = Date.now();
    this.child?.kill("SIGTERM");
    const code = (await this.#exited) ?? "unknown";
    return { code, ms: Date.now() - started };
  }

  /** Resident memory of the running process, in MB (from /proc). */
  rssMb(): number {
    const pid = this.child?.pid;
    if (pid === undefined || this.child?.exitCode !== null) return 0;
    try {
      const status = readFileSync(join("/proc", String(pid), "status"), "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round(kb / 1024);
    } catch {
      return 0;
    }
  }

  #read(chunk: string): void {
    if (process.env.RELAY_PROCESS_STDOUT) appendFileSync(process.env.RELAY_PROCESS_STDOUT, chunk);
    const text = this.#partial + chunk;
    const lines = text.split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      // Internal alerts' lines start with the tag: `[INTERNAL SECURITY ALERT] Alert delivered by log`.
      if (!line.includes('Alert delivered by log"')) continue;
      const alertId = /"alertId":"([^"]+)"/.exec(line)?.[1];
      if (!alertId) continue;
      this.logDeliveries.increment(alertId);
      if (!line.includes('"duplicate":true')) this.freshLogDeliveries.increment(alertId);
    }
  }
}
