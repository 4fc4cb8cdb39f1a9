/**
 * The running local relay's run file (`relay.run.json` in its data directory): its webhook URL,
 * a signing secret and its enabled backends, so `npm run relay -- drill --local` can sign and
 * send a test notification with no flags. Owner-only (0600, in the 0700 data directory) because
 * it holds the secret; written at start, removed at a graceful stop, and a file left by a relay
 * that died is recognised by its pid.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { BACKENDS } from "../../lambdas/contracts/messages.js";
import { isRunning, PRIVATE_FILE_MODE, privateFile } from "./relay-store.js";

export const RUN_FILE = "relay.run.json";

const runFileSchema = z.object({
  pid: z.number().int(),
  webhookUrl: z.string().url(),
  secret: z.string(),
  backends: z.array(z.enum(BACKENDS)),
});
export type RunFile = z.infer<typeof runFileSchema>;

/** Writes the run file owner-only (the mode is set before the secret is written). */
export function writeRunFile(dataDir: string, run: RunFile): void {
  const file = privateFile(join(dataDir, RUN_FILE));
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`, { mode: PRIVATE_FILE_MODE });
}

export function removeRunFile(dataDir: string): void {
  rmSync(join(dataDir, RUN_FILE), { force: true });
}

/** The run file of the relay running on `dataDir`, or undefined when none is running. */
export function readRunFile(dataDir: string): RunFile | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, RUN_FILE), "utf8");
  } catch {
    return undefined;
  }
  const parsed = runFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success || !isRunning(parsed.data.pid)) return undefined;
  return parsed.data;
}
