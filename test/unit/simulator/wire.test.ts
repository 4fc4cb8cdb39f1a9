import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { signBody } from "../../../lambdas/ingest/signature.js";
import { BUILT_IN_SAMPLES, sampleBody } from "../../../scripts/sqreen/samples.js";
import { pyFloat, pythonFloatRepr, pythonJsonDumps, type WireValue } from "../../../scripts/sqreen/wire.js";
import { SAMPLES_DIR } from "../../samples.js";

const signatures = JSON.parse(readFileSync(path.join(SAMPLES_DIR, "SIGNATURES.json"), "utf8")) as {
  secret: string;
  signatures: Record<string, string>;
};
const sampleFiles = readdirSync(SAMPLES_DIR).filter(
  (file) => file !== "SIGNATURES.json" && file.endsWith(".json"),
);

describe("pythonJsonDumps", () => {
  it("finds the ten shared samples to check against", () => {
    expect(sampleFiles).toHaveLength(10);
  });

  it.each(sampleFiles)("re-serializes %s to its exact bytes, whose signature is the recorded one", (file) => {
    const bytes = readFileSync(path.join(SAMPLES_DIR, file));

    const reserialized = Buffer.from(
      pythonJsonDumps(JSON.parse(bytes.toString("utf8")) as WireValue),
      "utf8",
    );

    expect(reserialized.toString("utf8")).toBe(bytes.toString("utf8"));
    expect(reserialized.equals(bytes)).toBe(true);
    expect(signBody(reserialized, signatures.secret)).toBe(signatures.signatures[file]);
  });

  it("escapes like ensure_ascii=True: non-ASCII and DEL as lower-case \\uXXXX, astral as surrogate pairs", () => {
    const value = {
      city: "Zürich",
      emoji: "😀",
      ctl: "\x7f\x00\x1f\b\f\n\r\t",
      q: '"/\\',
      empty: {},
      list: [],
      nested: [{ a: null, b: true, c: false }],
    };

    // Expected: the output of Python 3's json.dumps for the same dict.
    expect(pythonJsonDumps(value)).toBe(
      '{"city": "Z\\u00fcrich", "emoji": "\\ud83d\\ude00", "ctl": "\\u007f\\u0000\\u001f\\b\\f\\n\\r\\t", ' +
        '"q": "\\"/\\\\", "empty": {}, "list": [], "nested": [{"a": null, "b": true, "c": false}]}',
    );
  });

  it("writes floats like Python's repr and integral floats marked with pyFloat with a .0", () => {
    const value = [
      pyFloat(1),
      pyFloat(52),
      pyFloat(1e16),
      pyFloat(1e15),
      0.0001,
      0.00001,
      1.5e-7,
      pyFloat(-0),
      21.28,
      123456789.125,
      -2.5e-10,
    ];

    expect(pythonJsonDumps(value)).toBe(
      "[1.0, 52.0, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 1.5e-07, -0.0, 21.28, 123456789.125, -2.5e-10]",
    );
  });

  it("writes integral numbers as Python ints, without exponent", () => {
    expect(pythonJsonDumps([0, -7, 1e21])).toBe("[0, -7, 1000000000000000000000]");
  });

  it("refuses NaN and infinities, which are not JSON", () => {
    expect(() => pythonFloatRepr(Number.NaN)).toThrow(RangeError);
    expect(() => pythonJsonDumps([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});

describe("built-in samples", () => {
  it("cover every shared sample", () => {
    expect(BUILT_IN_SAMPLES.map((sample) => `${sample.name}.json`).sort()).toEqual([...sampleFiles].sort());
  });

  it.each(BUILT_IN_SAMPLES.map((sample) => [sample.name, sample] as const))(
    "serialize %s to the shared sample's exact bytes",
    (name, sample) => {
      const expected = readFileSync(path.join(SAMPLES_DIR, `${name}.json`));

      const body = sampleBody(sample);

      expect(body.toString("utf8")).toBe(expected.toString("utf8"));
      expect(signBody(body, signatures.secret)).toBe(signatures.signatures[`${name}.json`]);
    },
  );
});
