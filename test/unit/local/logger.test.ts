/**
 * The local relay's log lines (local/logger.ts): readable on a terminal, JSON otherwise, with no
 * made-up Lambda fields, and attacker-controlled text unable to act on the terminal.
 */
import { describe, expect, it } from "vitest";
import { lambdaContext } from "../../../local/aws/lambda-context.js";
import { createLocalLogger, defaultLogFormat, escapeText, readableLine } from "../../../local/logger.js";
import { captureOutput } from "../../capture-output.js";

describe("the local relay's logs", () => {
  it("prints JSON when stdout is not a terminal, and readable lines on one", () => {
    expect(defaultLogFormat({ isTTY: false })).toBe("json");
    expect(defaultLogFormat({ isTTY: true })).toBe("text");
  });

  it("leaves out the Lambda context fields a local process would make up", () => {
    const output = captureOutput();
    try {
      const logger = createLocalLogger("ingest", "json");
      logger.addContext(lambdaContext("ingest", 1000));
      logger.info("Webhook accepted", { accepted: 4 });
    } finally {
      output.restore();
    }
    const line = JSON.parse(output.text().trim()) as Record<string, unknown>;

    expect(line).toMatchObject({
      level: "INFO",
      message: "Webhook accepted",
      service: "ingest",
      accepted: 4,
    });
    for (const field of ["function_arn", "cold_start", "function_memory_size", "function_request_id"]) {
      expect(line).not.toHaveProperty(field);
    }
  });

  it.each(["json", "text"] as const)(
    "masks e-mail addresses and phone numbers in every %s line, message and fields alike",
    (format) => {
      const output = captureOutput();
      try {
        createLocalLogger("deliver-email", format).info("E-mail to alice@example.com failed", {
          recipient: "alice@example.com",
          phone: "+33 6 12 34 56 78",
        });
      } finally {
        output.restore();
      }

      expect(output.text()).not.toContain("alice@example.com");
      expect(output.text()).not.toContain("12 34 56");
      expect(output.text()).toContain("@example.com");
    },
  );

  it("masks lists of strings, nested values and errors too, whichever way the line is printed", () => {
    const output = captureOutput();
    try {
      const logger = createLocalLogger("deliver-sms", "json");
      logger.info("Flat line", { recipients: ["alice@example.com", "+33 6 12 34 56 78"], count: 2 });
      logger.warn("Nested line", {
        nested: { to: ["bob@example.org"] },
        error: new Error("refused +33 6 98 76 54 32"),
      });
    } finally {
      output.restore();
    }
    const [flat, nested] = output.lines();

    expect(flat).toMatchObject({ recipients: ["a***@example.com", "+33 * ** ** ** 78"], count: 2 });
    expect(nested).toMatchObject({
      nested: { to: ["b***@example.org"] },
      error: { message: "refused +33 * ** ** ** 32" },
    });
    for (const personal of ["alice@", "bob@", "12 34 56", "98 76 54"]) {
      expect(output.text()).not.toContain(personal);
    }
  });

  it("writes one readable line per event: time, level, service, message, then the fields", () => {
    const line = readableLine({
      timestamp: "2026-12-02T10:42:07.123Z",
      level: "INFO",
      service: "ingest",
      message: "Webhook accepted",
      accepted: 4,
      eventIds: ["a", "b"],
      code: "ok",
    });

    expect(line).toBe('10:42:07.123 INFO  ingest Webhook accepted accepted=4 eventIds=["a","b"] code=ok');
  });

  it("escapes what a terminal would act on: newlines, escape sequences, C1 controls, bidirectional overrides", () => {
    const title = "ok\n\u001b]0;pwned\u0007\u009b31m\u202eevil";
    const line = readableLine({ level: "INFO", service: "deliver-log", message: "Alert", title });

    const acting = [...line].filter((character) => {
      const code = character.charCodeAt(0);
      return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x202e;
    });
    expect(acting).toEqual([]);
    expect(line).toContain(escapeText(title));
    expect(escapeText(title)).toBe("ok\\n\\u001b]0;pwned\\u0007\\u009b31m\\u202eevil");
  });
});
