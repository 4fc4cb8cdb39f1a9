/**
 * The schema library of every function: zod's `zod/mini` build, re-exported. Same package and
 * validation as classic zod, but a functional API (`z.optional(x)`, `x.check(z.minLength(1))`)
 * that esbuild tree-shakes: a bundle carries only what it uses (about 25 KB), where classic zod's
 * method chains pull the whole library (about 90 KB) into every function. Schemas
 * `import * as z from` this module, never from `zod/mini` directly, so they all get the English
 * messages below. (A namespace imported and re-exported as one value, `export { z }`, would
 * defeat the tree-shaking: `export *` keeps every name separate.)
 *
 * `zod/mini` loads no locale (every issue would read "Invalid input"); the messages that reach
 * operators, in configuration errors and dead-letter reasons, come from zod's English locale.
 * Classic zod (lib/settings.ts, the local relay) sets the same locale, so both agree in one process.
 */
import { en } from "zod/locales";
import { config } from "zod/mini";

config(en());

export * from "zod/mini";
