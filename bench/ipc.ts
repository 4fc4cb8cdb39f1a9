/**
 * Parent/child plumbing: every measured server runs in its own Node process (so its CPU, heap and
 * RSS are its own and its log output can go to /dev/null), driven by request/answer messages over
 * the IPC channel. Children are killed when the benchmark ends, fails or is interrupted.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";

interface IpcRequest {
  id: number;
  command: string;
  argument: unknown;
}

interface IpcAnswer {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A child process answering commands. */
export interface BenchChild {
  readonly name: string;
  readonly pid: number | undefined;
  call<Result>(command: string, argument?: unknown, timeoutMs?: number): Promise<Result>;
  /** Asks the child to exit, then kills it if it has not within a second. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every child still running (process exit, Ctrl-C, a failed run): none outlives the benchmark. */
export function killAllChildren(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/**
 * Forks `bench/<script>` under tsx with stdout discarded (what the relay logs is measured as
 * written, not kept) and stderr kept: the last lines are shown if the child fails.
 */
export function startChild(script: string, env: Record<string, string> = {}): BenchChild {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = fork(path, [], {
    execArgv: [
      "--import",
      "tsx",
      ...(process.env.BENCH_CPU_PROF_DIR
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`]
        : []),
    ],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
    env: { ...process.env, ...env },
  });
  running.add(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  child.on("message", (message: IpcAnswer) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${script}: ${message.error}`));
  });
  child.on("exit", (code, signal) => {
    running.delete(child);
    for (const waiter of pending.values()) {
      waiter.reject(new Error(`${script} exited (${signal ?? code}) before answering\n${stderr}`));
    }
    pending.clear();
  });

  return {
    name: script,
    pid: child.pid,
    call<Result>(command: string, argument?: unknown, timeoutMs = 120_000): Promise<Result> {
      const id = nextId++;
      return new Promise<Result>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${script}: ${command} took over ${timeoutMs} ms\n${stderr}`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as Result);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, command, argument } satisfies IpcRequest);
      });
    },
    async stop(): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.disconnect();
      const timer = setTimeout(() => child.kill("SIGKILL"), 1000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Child side: answers each command with its handler's result; exits when the parent disconnects.
 * Every child also answers `cpu`: its CPU time so far (user + system), in microseconds, from which
 * the parent reports CPU per request.
 */
export function serveCommands(handlers: Record<string, (argument: unknown) => Promise<unknown>>): void {
  const builtIn: Record<string, (argument: unknown) => Promise<unknown>> = {
    async cpu() {
      const { user, system } = process.cpuUsage();
      return user + system;
    },
  };
  process.on("message", async (request: IpcRequest) => {
    const handler = handlers[request.command] ?? builtIn[request.command];
    let answer: IpcAnswer;
    try {
      if (!handler) throw new Error(`unknown command ${request.command}`);
      answer = { id: request.id, ok: true, result: await handler(request.argument) };
    } catch (error) {
      answer = {
        id: request.id,
        ok: false,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      };
    }
    process.send?.(answer);
  });
  process.on("disconnect", () => process.exit(0));
}
