/**
 * Captures what the process writes where the Powertools logger prints: outside POWERTOOLS_DEV it
 * builds its own `node:console` Console over `process.stdout` (info, debug) and `process.stderr`
 * (warn, error), so its lines go through those streams' `write`, not through `console.log`. They
 * are kept from the terminal while captured.
 */
import { vi } from "vitest";

export interface OutputCapture {
  /** Everything written to stdout and stderr so far, in order. */
  text(): string;
  /** The JSON lines written so far. */
  lines(): Record<string, unknown>[];
  restore(): void;
}

export function captureOutput(): OutputCapture {
  const chunks: string[] = [];
  const record = (chunk: unknown): boolean => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, "write").mockImplementation(record);
  const stderr = vi.spyOn(process.stderr, "write").mockImplementation(record);
  return {
    text: () => chunks.join(""),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line.trim().startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      stdout.mockRestore();
      stderr.mockRestore();
    },
  };
}
