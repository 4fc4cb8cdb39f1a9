/**
 * The local relay's loggers: the same Powertools loggers the functions use on AWS, printing
 * - JSON, one object per line, when stdout is not a terminal (as on AWS: for tools and files);
 * - one readable line per event on a terminal: `10:42:07.123 INFO  ingest  Webhook accepted accepted=4 ...`.
 * Either way without the Lambda context fields that would be made up locally: the function ARN
 * with a fake account, memory size, cold start, X-Ray trace, and the request id (one logger
 * serves a function's concurrent invocations here, so it would name the latest one, not this one).
 *
 * Every value in a readable line is escaped (control characters, C1 codes, bidirectional and
 * invisible format characters), because alert titles are attacker-controlled text and a terminal
 * acts on escape sequences.
 */
import { LogFormatter, Logger, LogItem, LogLevelThreshold } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";
import { maskingJsonReplacer, maskPersonalData } from "../lambdas/runtime/logger.js";

export type LocalLogFormat = "json" | "text";

/** Fields printed in the fixed columns of a readable line. */
const COLUMN_FIELDS = new Set(["timestamp", "level", "service", "message"]);

/** What the readable format escapes besides C0 controls (JSON escapes those). */
const UNSAFE_CHARACTERS =
  /[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

/** Bare when it cannot be mistaken for anything else; quoted JSON otherwise. */
const BARE_VALUE = /^[\w.:/@+,-]+$/;

/**
 * The fields of Powertools' own formatter that mean something locally (level, message, time,
 * service, the function's name), then the line's attributes, empty ones left out as Powertools
 * leaves them out. The Lambda context's other fields (cold start, ARN with a fake account,
 * memory size, request id, X-Ray trace, sampling rate) would be made up here, so they are never
 * built. Everything it needs is read once, at construction, not on every line.
 */
class LocalLogFormatter extends LogFormatter {
  /** Powertools prints local time only when TZ names another zone than UTC (LogFormatter). */
  readonly #utc = !process.env.TZ || process.env.TZ.includes("UTC");

  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const line: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.#utc ? attributes.timestamp.toISOString() : this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
    };
    const functionName = attributes.lambdaContext?.functionName;
    if (functionName) line.function_name = functionName;
    let flat = true;
    for (const name in additional) {
      const value = additional[name];
      if (value === undefined || value === null || value === "") continue;
      line[name] = value;
      flat &&= isFlatValue(value);
    }
    if (!flat) return new LogItem({ attributes: line });
    // Masked here, field by field, as the replacer would (the logger's own fields need none).
    line.message = maskPersonalData(String(line.message));
    for (const name in additional) {
      const value = line[name];
      if (typeof value === "string") line[name] = maskPersonalData(value);
      else if (Array.isArray(value)) line[name] = value.map((item: string) => maskPersonalData(item));
    }
    return new MaskedLogItem({ attributes: line });
  }
}

/**
 * A line of strings, numbers, booleans and lists of strings, already masked: printed without a
 * replacer, whose call on every value was a large part of each line. Any other line (an error, a
 * nested object) is printed through the replacer, which masks and formats it.
 */
class MaskedLogItem extends LogItem {}

function isFlatValue(value: unknown): boolean {
  return (
    typeof value === "string" ||
    typeof value === "number" ||
    typeof value === "boolean" ||
    (Array.isArray(value) && value.every((item) => typeof item === "string"))
  );
}

class LocalLogger extends Logger {
  #format: LocalLogFormat = "json";

  /** @internal set once, right after construction. */
  useFormat(format: LocalLogFormat): this {
    this.#format = format;
    return this;
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    // The formatter already left out the empty and made-up fields: printed as built.
    const attributes = log.getAttributes();
    const line =
      this.#format === "json" && log instanceof MaskedLogItem
        ? JSON.stringify(attributes)
        : this.#format === "text"
          ? readableLine(attributes, this.getJsonReplacer())
          : JSON.stringify(attributes, this.getJsonReplacer());
    const stream = logLevel >= LogLevelThreshold.WARN ? process.stderr : process.stdout;
    stream.write(`${line}\n`);
  }
}

/** JSON on a pipe or file, readable lines on a terminal. */
export function defaultLogFormat(stream: { isTTY?: boolean } = process.stdout): LocalLogFormat {
  return stream.isTTY ? "text" : "json";
}

/** A logger for one local function (`ingest`, `route`, `deliver-log`...). */
export function createLocalLogger(serviceName: string, format: LocalLogFormat = defaultLogFormat()): Logger {
  // The same masking as on AWS (lambdas/runtime/logger.ts): every string of every line.
  return new LocalLogger({
    serviceName,
    jsonReplacerFn: maskingJsonReplacer,
    logFormatter: new LocalLogFormatter(),
  }).useFormat(format);
}

/** `10:42:07.123 INFO  ingest  Webhook accepted accepted=4 eventIds=["a","b"]` */
export function readableLine(
  attributes: Readonly<Record<string, unknown>>,
  replacer?: (key: string, value: unknown) => unknown,
): string {
  const time = typeof attributes.timestamp === "string" ? attributes.timestamp.slice(11, 23) : "";
  const level = String(attributes.level ?? "").padEnd(5);
  const service = escapeText(String(attributes.service ?? ""));
  const message = escapeText(
    String(replacer ? replacer("message", attributes.message ?? "") : (attributes.message ?? "")),
  );
  const fields = Object.entries(attributes)
    .filter(([name]) => !COLUMN_FIELDS.has(name))
    .map(([name, value]) => `${escapeText(name)}=${readableValue(value, replacer)}`);
  return [time, level, service, message, ...fields].filter((part) => part.length > 0).join(" ");
}

function readableValue(raw: unknown, replacer?: (key: string, value: unknown) => unknown): string {
  const value = replacer && typeof raw === "string" ? replacer("", raw) : raw;
  if (typeof value === "string" && BARE_VALUE.test(value)) return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  // JSON escapes the C0 controls; the rest a terminal acts on is escaped after.
  return escapeUnsafe(JSON.stringify(value, replacer as (key: string, value: unknown) => unknown) ?? "");
}

/** The text with every character a terminal could act on written as an escape (`\n`, `\u001b`...). */
export function escapeText(text: string): string {
  return escapeUnsafe(
    text.replace(CONTROL_CHARACTERS, (character) => CONTROL_ESCAPES[character] ?? unicodeEscape(character)),
  );
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point: they are escaped.
const CONTROL_CHARACTERS = /[\u0000-\u001f\\]/g;
const CONTROL_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\" };

function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE_CHARACTERS, unicodeEscape);
}

function unicodeEscape(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`;
}
