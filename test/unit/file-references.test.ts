/**
 * Comments and documents point at files of this repository by path ("see lambdas/delivery/
 * untrusted-text.ts"); after a move such a pointer silently leads nowhere. This test fails on any
 * cited repository path that does not exist, so a move updates its readers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../lib/settings.js";

/** The folders whose files cite paths, and the top-level documents. */
const SOURCES = ["lambdas", "lib", "local", "bin", "bench", "scripts", "test", "docs", ".ci"];
const DOCUMENTS = ["README.md"];
const TEXT_FILE = /\.(ts|md|json|sh)$|^run$/;
/** A repository path: one of the source folders, then path segments, then a file extension. */
const CITED_PATH =
  /\b(?:lambdas|lib|local|bin|bench|scripts|test|docs|\.ci)\/[A-Za-z0-9_./-]+\.(?:ts|md|json|mjs|sh)\b/g;

function filesUnder(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return name === "fixtures" ? [] : filesUnder(path);
    return TEXT_FILE.test(name) ? [path] : [];
  });
}

describe("paths cited in comments and documents", () => {
  const files = [
    ...SOURCES.flatMap((folder) => filesUnder(join(PROJECT_ROOT, folder))),
    ...DOCUMENTS.map((document) => join(PROJECT_ROOT, document)),
  ];

  it("reads the repository's files", () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it("every one exists", () => {
    const missing = files.flatMap((file) =>
      [...readFileSync(file, "utf8").matchAll(CITED_PATH)]
        // Globs and placeholders (`test/**/*.test.ts`, `deliver-<name>/`) never match CITED_PATH.
        .map(([cited]) => cited)
        .filter((cited) => !existsSync(join(PROJECT_ROOT, cited)))
        .map((cited) => `${relative(PROJECT_ROOT, file)}: ${cited}`),
    );
    expect(missing).toEqual([]);
  });
});
