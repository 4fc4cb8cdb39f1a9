/**
 * The only place runtime code reads `process.env`. Each handler declares a zod schema for the
 * variables it needs and parses them once, at cold start; a missing or bad variable stops the
 * function with a message naming it.
 */

import { ConfigurationError } from "./errors.js";
import * as z from "./schema.js";

/**
 * zod's issues as `path: reason` lines (`(root)` for the value itself). Paths and reasons only,
 * never the values: environments, secrets, settings and alerts may hold personal data.
 */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
}

export function parseEnvironment<Schema extends z.core.$ZodType>(
  schema: Schema,
  env: Record<string, string | undefined> = process.env,
): z.infer<Schema> {
  const result = z.safeParse(schema, env);
  if (result.success) return result.data;
  const problems = formatIssues(result.error.issues);
  throw new ConfigurationError(`Invalid environment:\n  ${problems.join("\n  ")}`);
}

/** `"a, b,,c"` → `["a", "b", "c"]`: the format of every list-valued environment variable. */
export function splitList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
