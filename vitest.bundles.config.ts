import { defineConfig } from "vitest/config";

/**
 * The bundle tier: the synthesized cdk.out bundles run under Node.js 24 with the Lambda runtime
 * interface client against moto_server (test/bundles/). The global setup installs the runtime
 * and synthesizes once; one file at a time, as each starts moto and seven runtimes.
 */
export default defineConfig({
  test: {
    include: ["test/bundles/**/*.test.ts"],
    globalSetup: ["test/bundles/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
