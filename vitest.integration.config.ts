import { defineConfig } from "vitest/config";

/**
 * The integration tier: real SDK clients against moto_server (test/integration/moto.ts starts
 * one per test file). One file at a time: each starts a Python server, and the machine is small.
 */
export default defineConfig({
  test: {
    include: ["test/integration/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
