/**
 * The integration tier's AWS: a `moto_server` child process on a free loopback port. The real SDK
 * clients reach it through the standard `AWS_ENDPOINT_URL` variable, so no code under lambdas/
 * knows it is being tested. A missing moto_server fails the run loudly: a tier that silently
 * skips would pass on every machine where it tests nothing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

export const INSTALL_HINT =
  'moto_server was not found. The integration tier needs it: install it with `pip install "moto[server]"` ' +
  "(Python 3.9+), make sure `moto_server` is on PATH, or set MOTO_SERVER to its full path.";

/** Region every integration test uses; moto accepts any, but resource ARNs embed it. */
export const TEST_REGION = "us-east-1";
/** moto's default account: the one its ARNs name. */
export const MOTO_ACCOUNT_ID = "123456789012";

export interface MotoServer {
  /** `http://127.0.0.1:<port>`: the value of AWS_ENDPOINT_URL. */
  endpoint: string;
  port: number;
  /** The environment SDK clients need to talk to this server and nothing else. */
  awsEnvironment: Record<string, string>;
  /** Forgets every resource (moto's `/moto-api/reset`), for a fresh state between tests. */
  reset(): Promise<void>;
  /** Stops the server and its process group; safe to call twice. */
  stop(): Promise<void>;
}

export interface StartMotoOptions {
  /** The executable; defaults to MOTO_SERVER, then `moto_server` on PATH, then pyenv's shim. */
  command?: string;
  /** How long to wait for the first answer (pyenv shims and moto's imports are slow). */
  startTimeoutMs?: number;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The moto_server executable, or throws the install hint. */
export function findMotoServer(env: Record<string, string | undefined> = process.env): string {
  const explicit = env.MOTO_SERVER;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new Error(`MOTO_SERVER=${explicit} is not an executable file. ${INSTALL_HINT}`);
  }
  const home = env.HOME ?? "/root";
  const candidates = [
    ...(env.PATH ?? "").split(path.delimiter).filter(Boolean),
    path.join(home, ".pyenv", "shims"),
    path.join(home, ".local", "bin"),
  ].map((dir) => path.join(dir, "moto_server"));
  const found = candidates.find(isExecutable);
  if (!found) throw new Error(INSTALL_HINT);
  return found;
}

/** A TCP port nothing listens on right now, on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Negative pid: the whole group, so a shim's python child dies with it.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

// A test run that crashes or is interrupted must not leave servers behind.
process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts moto_server on a free loopback port and resolves once it answers. Throws, with moto's
 * own output, when it is missing, exits early or does not answer in time.
 */
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const command = options.command ?? findMotoServer();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(command, ["-H", "127.0.0.1", "-p", String(port)], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let output = "";
  const keep = (chunk: Buffer) => {
    // Only the tail matters for a startup error; moto logs every request.
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  // A command that never started emits "error" and no "exit": either ends the wait.
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });

  const stop = async (): Promise<void> => {
    if (!running.has(child)) return;
    running.delete(child);
    killGroup(child, "SIGTERM");
    const killed = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000).unref()),
    ]);
    if (!killed) killGroup(child, "SIGKILL");
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await answers(endpoint))) {
    const failed =
      spawnError ?? (child.exitCode !== null ? new Error(`exited with code ${child.exitCode}`) : null);
    if (failed || Date.now() > deadline) {
      await stop();
      const reason = failed ? failed.message : "did not answer in time";
      const hint = (failed as NodeJS.ErrnoException | null)?.code === "ENOENT" ? `\n${INSTALL_HINT}` : "";
      throw new Error(`moto_server (${command}) ${reason} on ${endpoint}.${hint}\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  return {
    endpoint,
    port,
    awsEnvironment: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: TEST_REGION,
      AWS_DEFAULT_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_SESSION_TOKEN: "testing",
    },
    reset: async () => {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
      if (!response.ok) throw new Error(`moto reset answered ${response.status}`);
    },
    stop,
  };
}

/**
 * Points every SDK client created from now on at `moto` (standard variables only), and returns a
 * function that puts the previous environment back. Profiles are unset so a developer's
 * ~/.aws/config cannot redirect a test to a real account.
 */
export function useMotoEnvironment(moto: MotoServer): () => void {
  const overrides: Record<string, string | undefined> = {
    ...moto.awsEnvironment,
    AWS_PROFILE: undefined,
    AWS_DEFAULT_PROFILE: undefined,
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  };
  const previous: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(overrides)) {
    previous[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
