/**
 * The Sqreen simulator: `npm run sqreen -- --help`. Wires the real process to the CLI in
 * scripts/sqreen/cli.ts.
 */
import { readFile } from "node:fs/promises";
import { runCli } from "../scripts/sqreen/cli.js";

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  readStdin,
  readFile: (path) => readFile(path),
  fetch,
  untilInterrupted: () =>
    new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    }),
  isTTY: process.stderr.isTTY === true,
});
