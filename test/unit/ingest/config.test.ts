import { describe, expect, it } from "vitest";
import { readIngestEnvironment } from "../../../lambdas/ingest/config.js";
import { ConfigurationError } from "../../../lambdas/runtime/errors.js";

const required = {
  SIGNING_KEYS_SECRET_ID: "sqreen-relay/signing-keys",
  INGEST_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingest",
};

describe("readIngestEnvironment", () => {
  it("reads the secret id and queue URL, with default limits", () => {
    expect(readIngestEnvironment(required)).toEqual({
      signingKeysSecretId: "sqreen-relay/signing-keys",
      ingestQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/ingest",
      maxBodyBytes: 4_500_000,
      keyCacheSeconds: 300,
    });
  });

  it("reads the limits when set", () => {
    const environment = readIngestEnvironment({
      ...required,
      MAX_BODY_BYTES: "1024",
      KEY_CACHE_SECONDS: "60",
    });

    expect(environment).toMatchObject({ maxBodyBytes: 1024, keyCacheSeconds: 60 });
  });

  it("fails at start, naming every missing variable", () => {
    expect(() => readIngestEnvironment({})).toThrow(ConfigurationError);
    expect(() => readIngestEnvironment({})).toThrow(/SIGNING_KEYS_SECRET_ID[\s\S]*INGEST_QUEUE_URL/);
  });

  it("refuses a limit that is not a positive whole number", () => {
    expect(() => readIngestEnvironment({ ...required, MAX_BODY_BYTES: "lots" })).toThrow(/MAX_BODY_BYTES/);
    expect(() => readIngestEnvironment({ ...required, MAX_BODY_BYTES: "0" })).toThrow(/MAX_BODY_BYTES/);
  });
});
