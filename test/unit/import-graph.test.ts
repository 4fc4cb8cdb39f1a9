/**
 * The repository has no import cycle (type-only imports count: they tie the modules' meanings
 * together as much as value imports do). The graph is read with TypeScript's own import scanner
 * from every TypeScript file git tracks, relative imports only (packages cannot import us back).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");

function trackedTypeScript(): string[] {
  const listed = execFileSync("git", ["ls-files", "-z", "--", "*.ts"], { cwd: ROOT, encoding: "utf8" });
  return listed
    .split("\0")
    .filter((file) => file.length > 0 && existsSync(join(ROOT, file)))
    .map((file) => normalize(file));
}

function importsOf(file: string, known: ReadonlySet<string>): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => normalize(join(dirname(file), name.replace(/\.js$/, ".ts"))))
    .filter((target) => known.has(target));
}

/** Each cycle once, as the path that closes it (depth-first search, colouring the nodes). */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}

describe("import graph", () => {
  it("finds a cycle when there is one (so the check below can fail)", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(findCycles(graph)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
  });

  it("has no cycle in the repository", () => {
    const files = trackedTypeScript();
    const known = new Set(files);
    const graph = new Map(files.map((file) => [file, importsOf(file, known)]));
    expect(graph.get(normalize("local/pipeline.ts"))).toContain(normalize("local/environment.ts"));
    expect(findCycles(graph).map((cycle) => cycle.join(" → "))).toEqual([]);
  });
});
