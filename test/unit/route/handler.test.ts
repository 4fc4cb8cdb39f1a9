import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ENV } from "../../../lambdas/contracts/environment-names.js";

describe("route handler module", () => {
  beforeEach(() => {
    vi.resetModules();
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("refuses to start without the alerts topic ARN, naming the variable", async () => {
    vi.stubEnv(ENV.alertsTopicArn, "");

    const loading = import("../../../lambdas/route/handler.js");

    // Modules are reloaded for each test, so the error class is compared by name.
    await expect(loading).rejects.toMatchObject({ name: "ConfigurationError" });
    await expect(loading).rejects.toThrow(ENV.alertsTopicArn);
  });

  it("starts with the topic ARN and an optional list of own application ids", async () => {
    vi.stubEnv(ENV.alertsTopicArn, "arn:aws:sns:eu-west-1:123456789012:alerts");
    vi.stubEnv(ENV.ownApplicationIds, "app-a, app-b");
    vi.stubEnv("AWS_REGION", "eu-west-1");

    const module = await import("../../../lambdas/route/handler.js");

    expect(module.handler).toBeTypeOf("function");
  });
});
