import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/infra/**/*.test.ts", "test/local/**/*.test.ts"],
    setupFiles: ["test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // CDK synth and the local stack are CPU-heavy; two workers fit this 2-core machine.
    maxWorkers: 2,
  },
});
