import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  emailSecretSchema,
  httpSecretSchema,
  slackSecretSchema,
  smsSecretSchema,
} from "../../../lambdas/contracts/backend-secrets.js";
import {
  parseSecret,
  secretsManagerSecretSource,
  staticSecretSource,
} from "../../../lambdas/delivery/secret-source.js";
import {
  BackendNotConfiguredError,
  ConfigurationError,
  TransientDeliveryError,
} from "../../../lambdas/runtime/errors.js";
import { SECRET_PLACEHOLDERS } from "../../../lib/constructs/relay-secrets.js";

const SECRET_ID = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sqreen-relay/email-AbCdEf";

describe("the Secrets Manager secret source", () => {
  const secretsManager = mockClient(SecretsManagerClient);

  beforeEach(() => {
    secretsManager.reset();
  });

  function source() {
    return secretsManagerSecretSource({
      secretId: SECRET_ID,
      schema: emailSecretSchema,
      client: new SecretsManagerClient({ region: "eu-west-1", maxAttempts: 1 }),
    });
  }

  it("reads the secret's JSON and validates it with the backend's schema", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"to":["ops@example.com"]}' });

    await expect(source().get()).resolves.toEqual({ to: ["ops@example.com"], adminTo: [] });
    expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ID });
  });

  it("reuses a fetched secret instead of asking Secrets Manager for every alert", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"to":["ops@example.com"]}' });
    const secrets = source();

    await secrets.get();
    await secrets.get();

    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it("names the secret and the invalid field, but not its value, as a retryable configuration failure", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"to":["not-an-address-ops"]}' });

    const read = source().get();

    await expect(read).rejects.toThrow(BackendNotConfiguredError);
    await expect(read).rejects.toThrow(`Secret ${SECRET_ID} is not configured (to.0:`);
    await expect(read).rejects.not.toThrow(/not-an-address-ops/);
  });

  it("says a secret is not JSON without quoting it", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: "ops@example.com, oncall@example.com" });

    const read = source().get();

    await expect(read).rejects.toThrow(BackendNotConfiguredError);
    await expect(read).rejects.toThrow(`Secret ${SECRET_ID} is not configured (its value is not valid JSON)`);
    await expect(read).rejects.not.toThrow(/ops@example/);
  });

  it("refuses the placeholder the stack creates, saying to fill it in and replay", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"to":[],"adminTo":[]}' });

    const read = source().get();

    await expect(read).rejects.toThrow(BackendNotConfiguredError);
    await expect(read).rejects.toThrow(
      `Secret ${SECRET_ID} is not configured (to: no recipient: both to and adminTo are empty): ` +
        "fill it in, then replay the dead-lettered alerts with npm run redrive",
    );
  });

  it("reads a secret that was not configured again on the next delivery, instead of its cached value", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: '{"to":[],"adminTo":[]}' })
      .resolvesOnce({ SecretString: '{"to":[],"adminTo":[]}' })
      .resolves({ SecretString: '{"to":["ops@example.com"]}' });
    const secrets = source();

    await expect(secrets.get()).rejects.toThrow(BackendNotConfiguredError);
    await expect(secrets.get()).rejects.toThrow(BackendNotConfiguredError);
    await expect(secrets.get()).resolves.toEqual({ to: ["ops@example.com"], adminTo: [] });
    await secrets.get();

    // Two placeholder reads, the filled-in one, then the cache again.
    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 3);
  });

  it("reports a missing secret as a configuration error", async () => {
    secretsManager.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: { httpStatusCode: 400 },
      }),
    );

    await expect(source().get()).rejects.toThrow(ConfigurationError);
  });

  it("reports a throttled read as transient", async () => {
    secretsManager.on(GetSecretValueCommand).rejects(
      Object.assign(new Error("Rate exceeded"), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400 },
      }),
    );

    await expect(source().get()).rejects.toThrow(TransientDeliveryError);
  });
});

describe("the static secret source", () => {
  it("returns the value it was built with, validated", async () => {
    const secrets = staticSecretSource(emailSecretSchema, { to: ["ops@example.com"] }, "EMAIL_TO");

    await expect(secrets.get()).resolves.toEqual({ to: ["ops@example.com"], adminTo: [] });
  });

  it("refuses what names no destination, naming the variables that stand in for the secret", async () => {
    const secrets = staticSecretSource(
      smsSecretSchema,
      { phoneNumbers: [], adminPhoneNumbers: [] },
      "SMS_TO, ADMIN_PHONE_NUMBERS",
    );

    await expect(secrets.get()).rejects.toThrow(BackendNotConfiguredError);
    await expect(secrets.get()).rejects.toThrow(/Secret SMS_TO, ADMIN_PHONE_NUMBERS is not configured/);
  });
});

describe("parseSecret on the placeholders the stack creates", () => {
  it.each([
    ["email", emailSecretSchema, SECRET_PLACEHOLDERS.email, "to: no recipient"],
    ["sms", smsSecretSchema, SECRET_PLACEHOLDERS.sms, "phoneNumbers: no phone number"],
    ["http", httpSecretSchema, SECRET_PLACEHOLDERS.http, "targets: no target"],
    ["slack", slackSecretSchema, SECRET_PLACEHOLDERS.slack, "webhookUrl: not the http(s) URL"],
  ] as const)(
    "refuses the %s placeholder as not configured, naming the field to fill",
    (_name, schema, value, why) => {
      expect(() => parseSecret(schema, value, "the-secret")).toThrow(BackendNotConfiguredError);
      expect(() => parseSecret(schema, value, "the-secret")).toThrow(
        `Secret the-secret is not configured (${why}`,
      );
    },
  );

  it("accepts administrators alone: they get the internal alerts", () => {
    expect(parseSecret(emailSecretSchema, { adminTo: ["admin@example.com"] }, "s")).toEqual({
      to: [],
      adminTo: ["admin@example.com"],
    });
  });

  it("refuses a Slack URL of another scheme", () => {
    expect(() =>
      parseSecret(slackSecretSchema, { webhookUrl: "ftp://hooks.example.com/x" }, "SLACK_WEBHOOK_URL"),
    ).toThrow(/Secret SLACK_WEBHOOK_URL is not configured \(webhookUrl/);
  });
});
