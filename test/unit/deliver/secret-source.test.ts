import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { emailSecretSchema, slackSecretSchema } from "../../../lambdas/shared/backend-secrets.js";
import { ConfigurationError, TransientDeliveryError } from "../../../lambdas/shared/errors.js";
import {
  parseSecret,
  secretsManagerSecretSource,
  staticSecretSource,
} from "../../../lambdas/shared/secret-source.js";

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

  it("names the invalid field, but not its value", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '{"to":["not-an-address-ops"]}' });

    const read = source().get();

    await expect(read).rejects.toThrow(ConfigurationError);
    await expect(read).rejects.toThrow(/to\.0/);
    await expect(read).rejects.not.toThrow(/not-an-address-ops/);
  });

  it("says a secret is not JSON without quoting it", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: "ops@example.com, oncall@example.com" });

    const read = source().get();

    await expect(read).rejects.toThrow(`Secret ${SECRET_ID} is not valid JSON`);
    await expect(read).rejects.not.toThrow(/ops@example/);
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
  it("returns the value it was built with", async () => {
    await expect(staticSecretSource({ to: ["ops@example.com"], adminTo: [] }).get()).resolves.toEqual({
      to: ["ops@example.com"],
      adminTo: [],
    });
  });

  it("pairs with parseSecret to validate a locally built secret", () => {
    expect(() =>
      parseSecret(slackSecretSchema, { webhookUrl: "ftp://hooks.example.com/x" }, "SLACK_WEBHOOK_URL"),
    ).toThrow(/Secret SLACK_WEBHOOK_URL is invalid: webhookUrl/);
  });
});
