import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  parseSigningKeys,
  SecretsManagerSigningKeyStore,
  StaticSigningKeyStore,
} from "../../../lambdas/ingest/signing-keys.js";
import { DependencyUnavailableError } from "../../../lambdas/runtime/errors.js";

const SECRET_ID = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sqreen-relay/signing-keys-AbCdEf";

describe("parseSigningKeys", () => {
  it('reads {"keys": [...]} and trims each key', () => {
    expect(parseSigningKeys('{"keys": [" key-a ", "key-b"]}')).toEqual(["key-a", "key-b"]);
  });

  it("reads a plain string as one key", () => {
    expect(parseSigningKeys("  3f1c9a7e2b8d4f60  \n")).toEqual(["3f1c9a7e2b8d4f60"]);
  });

  it("reads several keys separated by commas or newlines, dropping empty ones", () => {
    expect(parseSigningKeys("key-a, key-b\r\nkey-c\n\n,")).toEqual(["key-a", "key-b", "key-c"]);
  });

  it("reads an empty placeholder as no key", () => {
    expect(parseSigningKeys('{"keys": []}')).toEqual([]);
    expect(parseSigningKeys('{"keys": ["", "  "]}')).toEqual([]);
    expect(parseSigningKeys("")).toEqual([]);
  });

  it("refuses JSON of another shape rather than guessing keys from it", () => {
    expect(() => parseSigningKeys('{"key": "a"}')).toThrow(/must be \{"keys"/);
    expect(() => parseSigningKeys('["a"]')).toThrow(/must be \{"keys"/);
    expect(() => parseSigningKeys('{"keys": ')).toThrow(/not valid JSON/);
  });
});

describe("StaticSigningKeyStore", () => {
  it("returns its keys, trimmed, without empty ones", async () => {
    await expect(new StaticSigningKeyStore([" a ", "", "b"]).getKeys()).resolves.toEqual(["a", "b"]);
  });
});

describe("SecretsManagerSigningKeyStore", () => {
  const secretsMock = mockClient(SecretsManagerClient);
  let clock = 0;
  const store = new SecretsManagerSigningKeyStore({
    secretId: SECRET_ID,
    maxAgeSeconds: 300,
    client: new SecretsManagerClient({ region: "eu-west-1" }),
    now: () => clock,
  });

  beforeEach(() => {
    secretsMock.reset();
    store.clearCache();
    clock = 0;
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"keys": ["key-a"]}' });
  });

  it("reads the secret once, then serves the cache", async () => {
    await store.getKeys();

    await expect(store.getKeys()).resolves.toEqual(["key-a"]);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secretsMock).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
  });

  it("reads the secret again on a forced refresh", async () => {
    await store.getKeys();
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"keys": ["key-a", "key-b"]}' });

    await expect(store.getKeys({ forceRefresh: true })).resolves.toEqual(["key-a", "key-b"]);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it("serves the cache to forced refreshes less than 10 seconds apart", async () => {
    await store.getKeys({ forceRefresh: true });
    clock += 9_999;
    await store.getKeys({ forceRefresh: true });
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);

    clock += 1;
    await store.getKeys({ forceRefresh: true });
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it("reads a placeholder secret again on the next request once 10 seconds have passed, so filled-in keys are used at once", async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"keys": []}' });
    await expect(store.getKeys()).resolves.toEqual([]);
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"keys": ["key-a"]}' });

    clock += 10_000;
    await expect(store.getKeys()).resolves.toEqual(["key-a"]);
    await expect(store.getKeys()).resolves.toEqual(["key-a"]);
    expect(secretsMock).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it("reads a malformed secret again on the next request once 10 seconds have passed", async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"keys": ' });
    await expect(store.getKeys()).rejects.toBeInstanceOf(DependencyUnavailableError);
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"keys": ["key-a"]}' });

    clock += 10_000;
    await expect(store.getKeys()).resolves.toEqual(["key-a"]);
  });

  it("reads a binary secret", async () => {
    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretBinary: new TextEncoder().encode("key-x\nkey-y") });

    await expect(store.getKeys()).resolves.toEqual(["key-x", "key-y"]);
  });

  it("rejects with DependencyUnavailableError when Secrets Manager fails", async () => {
    secretsMock.on(GetSecretValueCommand).rejects(new Error("AccessDeniedException"));

    await expect(store.getKeys()).rejects.toThrow(DependencyUnavailableError);
  });

  it("rejects with DependencyUnavailableError when the secret is malformed JSON", async () => {
    secretsMock.on(GetSecretValueCommand).resolves({ SecretString: '{"keys": "key-a"}' });

    await expect(store.getKeys()).rejects.toThrow(/malformed/);
  });

  it("names the secret as its source, for log lines", () => {
    expect(store.source).toBe(`Secrets Manager secret ${SECRET_ID}`);
  });
});
