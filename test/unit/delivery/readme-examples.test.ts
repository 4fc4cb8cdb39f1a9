/**
 * The README shows what each backend really sends: its examples are rendered by the formatters
 * (backend-examples.ts), and this test fails when they drift. After changing a formatter, refresh
 * them with `UPDATE_README_EXAMPLES=1 npx vitest run test/unit/delivery/readme-examples.test.ts`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BEGIN_MARKER, backendExamples, END_MARKER } from "./backend-examples.js";

const README = fileURLToPath(new URL("../../../README.md", import.meta.url));

describe("the README's backend examples", () => {
  it("are exactly what the formatters produce", () => {
    const readme = readFileSync(README, "utf8");
    const begin = readme.indexOf(BEGIN_MARKER);
    const end = readme.indexOf(END_MARKER);
    expect(begin, "README.md lacks the backend-examples markers").toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(begin);
    const current = readme.slice(begin + BEGIN_MARKER.length, end);
    const expected = `\n${backendExamples()}\n`;

    if (process.env.UPDATE_README_EXAMPLES === "1" && current !== expected) {
      writeFileSync(README, readme.slice(0, begin + BEGIN_MARKER.length) + expected + readme.slice(end));
      return;
    }
    expect(current, "README.md's examples drifted: UPDATE_README_EXAMPLES=1 refreshes them").toBe(expected);
  });
});
