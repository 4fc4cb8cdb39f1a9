/**
 * Child processes for the tests that run the relay and the simulator as a user would: spawned in
 * the repository root in a process group of their own (npm → tsx → node), their output recorded,
 * and the whole group killed when a test ends, whatever happened.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { repoRoot } from "./support.js";

/** Every variable `npm start` reads: the tests set them explicitly, never inherit them. */
const RELAY_VARIABLES = [
  "SQREEN_WEBHOOK_SECRET",
  "OWN_APPLICATION_IDS",
  "EMAIL_TO",
  "EMAIL_FROM",
  "ADMIN_EMAILS",
  "SMS_TO",
  "ADMIN_PHONE_NUMBERS",
  "SLACK_WEBHOOK_URL",
  "ADMIN_SLACK_WEBHOOK_URL",
  "HTTP_FORWARD_URL",
  "HTTP_FORWARD_SECRET",
  "RELAY_DATA_DIR",
  "RELAY_CONFIG",
  "PORT",
  "HOST",
  "POWERTOOLS_DEV",
  "POWERTOOLS_LOG_LEVEL",
  "AWS_LAMBDA_LOG_LEVEL",
];

/** This environment without any relay setting, plus `variables`; npm asked not to phone home. */
export function userEnvironment(variables: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of RELAY_VARIABLES) delete env[name];
  return {
    ...env,
    npm_config_update_notifier: "false",
    npm_config_fund: "false",
    npm_config_audit: "false",
    ...variables,
  };
}

export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  hasExited(): boolean;
}

const running = new Set<RunningProcess>();

/** Starts `command args` in the repository root, in a new process group. */
export function start(command: string, args: string[], env: NodeJS.ProcessEnv): RunningProcess {
  const child = spawn(command, args, {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let ended = false;
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("error", (error) => {
      ended = true;
      err += `\n(spawn failed: ${error.message})`;
      resolve("spawn-error");
    });
    child.once("close", (code, signal) => {
      ended = true;
      resolve(code ?? signal ?? "unknown");
    });
  });
  const handle: RunningProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => ended,
  };
  running.add(handle);
  void exited.then(() => running.delete(handle));
  return handle;
}

/** Runs `command args` to completion, or fails after `timeoutMs`. */
export async function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 20_000,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const handle = start(command, args, env);
  const code = await withDeadline(handle.exited, timeoutMs, () => `${command} ${args.join(" ")}`, handle);
  return { code, stdout: handle.stdout(), stderr: handle.stderr() };
}

/** Waits for `promise`, or kills the process and fails naming `what` and showing its output. */
export async function withDeadline<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: () => string,
  handle: RunningProcess,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new Error(`timed out: ${what()}\n--- stdout\n${handle.stdout()}\n--- stderr\n${handle.stderr()}`),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `condition` holds; fails early if the process ends, and after `timeoutMs`. */
export async function waitFor(
  handle: RunningProcess,
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 25_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    const problem = handle.hasExited() ? "the process exited" : Date.now() > deadline ? "timed out" : null;
    if (problem) {
      throw new Error(
        `${problem} waiting for ${what}\n--- stdout\n${handle.stdout()}\n--- stderr\n${handle.stderr()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resolves once something answers HTTP at `origin` (any status). */
export function waitForListening(handle: RunningProcess, origin: string): Promise<void> {
  return waitFor(handle, `an HTTP answer from ${origin}`, async () => {
    try {
      const response = await fetch(origin, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return true;
    } catch {
      return false;
    }
  });
}

/** A port nobody listens on right now (the OS picks it; it is released for the child to take). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Ends every process these helpers started and that still runs: SIGTERM to its group, then SIGKILL. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (handle) => {
      signalGroup(handle, "SIGTERM");
      const ended = await Promise.race([
        handle.exited.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
      ]);
      if (!ended) {
        signalGroup(handle, "SIGKILL");
        await handle.exited;
      }
    }),
  );
}

function signalGroup(handle: RunningProcess, signal: NodeJS.Signals): void {
  const pid = handle.child.pid;
  if (pid === undefined) return;
  try {
    // The negative pid names the group: npm, tsx and the node process running the relay.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
