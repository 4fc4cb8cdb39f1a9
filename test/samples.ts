/**
 * The signed Sqreen samples every tier tests with. They are a copy of `../shared/sqreen-samples`
 * (the project's reference set, beside the repository root on developers' machines and in CI), kept
 * in the repository so that a fresh clone tests on its own; CI fails if the copy drifts from the
 * reference (`.ci/run`).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SAMPLES_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "fixtures/sqreen-samples",
);
