import { describe, expect, it } from "vitest";
import { signBody, verifySignature } from "../../../lambdas/ingest/signature.js";
import { SAMPLE_SECRET, sampleBytes, sampleNames, sampleSignature } from "../ingest/fixtures.js";

const body = sampleBytes("v2-security-event.json");
const signature = sampleSignature("v2-security-event.json");

describe("verifySignature", () => {
  it.each(sampleNames)("accepts %s with the signature Sqreen sent", (name) => {
    expect(verifySignature(sampleBytes(name), sampleSignature(name), [SAMPLE_SECRET])).toBe(true);
  });

  it.each(sampleNames)("signBody reproduces Sqreen's signature of %s", (name) => {
    expect(signBody(sampleBytes(name), SAMPLE_SECRET)).toBe(sampleSignature(name));
  });

  it("accepts the signature in upper-case hex", () => {
    expect(verifySignature(body, signature.toUpperCase(), [SAMPLE_SECRET])).toBe(true);
  });

  it("rejects a body with one byte changed", () => {
    const tampered = Buffer.from(body);
    tampered[10] = (tampered[10] ?? 0) ^ 0x01;

    expect(verifySignature(tampered, signature, [SAMPLE_SECRET])).toBe(false);
  });

  it("rejects a truncated signature", () => {
    expect(verifySignature(body, signature.slice(0, 63), [SAMPLE_SECRET])).toBe(false);
  });

  it("rejects a 64-character signature holding a character that is not hex", () => {
    // The right digest with its last character, or one in the middle, replaced by a non-hex one.
    const lastReplaced = `${signature.slice(0, 63)}g`;
    const middleReplaced = `${signature.slice(0, 30)}é${signature.slice(31)}`;

    expect(verifySignature(body, lastReplaced, [SAMPLE_SECRET])).toBe(false);
    expect(verifySignature(body, middleReplaced, [SAMPLE_SECRET])).toBe(false);
    expect(verifySignature(body, ` ${signature.slice(1)}`, [SAMPLE_SECRET])).toBe(false);
  });

  it("keeps verifying correctly after more keys than it prepares at once were used", () => {
    for (let index = 0; index < 40; index++) verifySignature(body, signature, [`rotated-key-${index}`]);

    expect(verifySignature(body, signature, [SAMPLE_SECRET])).toBe(true);
    expect(verifySignature(body, signature, ["rotated-key-0"])).toBe(false);
  });

  it("rejects an empty or missing signature", () => {
    expect(verifySignature(body, "", [SAMPLE_SECRET])).toBe(false);
    expect(verifySignature(body, undefined, [SAMPLE_SECRET])).toBe(false);
  });

  it("rejects a signature made with another key", () => {
    expect(verifySignature(body, signBody(body, "another-secret"), [SAMPLE_SECRET])).toBe(false);
  });

  it("rejects everything when there is no key", () => {
    expect(verifySignature(body, signature, [])).toBe(false);
  });

  it("accepts either key while two are valid during a rotation", () => {
    const newSecret = "new-webhook-secret";
    const keys = [SAMPLE_SECRET, newSecret];

    expect(verifySignature(body, signature, keys)).toBe(true);
    expect(verifySignature(body, signBody(body, newSecret), keys)).toBe(true);
    expect(verifySignature(body, signBody(body, "retired-secret"), keys)).toBe(false);
  });

  it("uses a 64-hex-character secret as text, not as hex-decoded bytes", () => {
    const hexDecodedKeySignature = signBody(body, Buffer.from(SAMPLE_SECRET, "hex").toString("latin1"));

    expect(SAMPLE_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(verifySignature(body, signature, [SAMPLE_SECRET])).toBe(true);
    expect(verifySignature(body, hexDecodedKeySignature, [SAMPLE_SECRET])).toBe(false);
  });
});
