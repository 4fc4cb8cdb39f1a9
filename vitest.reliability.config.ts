import { defineConfig } from "vitest/config";

/**
 * The reliability tier (`npm run test:reliability`): faults injected into the whole local relay,
 * with accounting. One worker: the scenarios run real HTTP servers and timers, and their timeouts
 * must not compete for the CPU with another file.
 */
export default defineConfig({
  test: {
    include: ["test/reliability/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    // Hundreds of deliveries and their injected failures would flood the output; the accounting
    // lines are what this tier reports.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT" },
  },
});
