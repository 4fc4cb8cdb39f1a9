/**
 * Once per `npm run test:bundles`: the runtime installed (test/bundles/runtime.ts) and the example
 * configuration synthesized offline into its own cdk.out (`cdk.out.bundles`, git-ignored), as
 * `cdk deploy` would upload it. The test files read the template and assets from there.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { findMotoServer } from "../integration/moto.js";
import { ensureBundleRuntime, PROJECT_ROOT } from "./runtime.js";

export const BUNDLES_OUT_DIR = path.join(PROJECT_ROOT, "cdk.out.bundles");
export const EXAMPLE_CONFIG = "relay.config.example.json";

declare module "vitest" {
  export interface ProvidedContext {
    bundleRuntime: { node: string; nodeVersion: string; ric: string };
    bundlesOutDir: string;
    bundlesConfig: string;
  }
}

export default function setup(project: TestProject): void {
  // Before anything slow: without moto the tier cannot run, and says so.
  findMotoServer();
  const runtime = ensureBundleRuntime((line) => console.log(line));
  console.log(
    `[bundles] ${runtime.nodeVersion} with aws-lambda-ric; synthesizing ${EXAMPLE_CONFIG} into cdk.out.bundles`,
  );
  const synth = spawnSync(
    "npx",
    ["cdk", "synth", "--quiet", "--no-notices", "-c", `relayConfig=${EXAMPLE_CONFIG}`, "-o", BUNDLES_OUT_DIR],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true" },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (synth.status !== 0) {
    throw new Error(
      `cdk synth of ${EXAMPLE_CONFIG} failed (exit ${synth.status}):\n${synth.stdout}${synth.stderr}`.slice(
        -8000,
      ),
    );
  }
  project.provide("bundleRuntime", runtime);
  project.provide("bundlesOutDir", BUNDLES_OUT_DIR);
  project.provide("bundlesConfig", path.join(PROJECT_ROOT, EXAMPLE_CONFIG));
}
