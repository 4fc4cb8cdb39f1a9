import { describe, expect, it } from "vitest";
import { classifyAwsError, parseRetryAfter, withRetries } from "../../../lambdas/delivery/retry.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../../../lambdas/runtime/errors.js";
import { instantRetry } from "./helpers.js";

describe("reading Retry-After", () => {
  const now = new Date("2026-10-02T08:00:00Z");

  it("reads delay-seconds", () => {
    expect(parseRetryAfter("3", now)).toBe(3);
  });

  it("reads an HTTP date as the seconds until then", () => {
    expect(parseRetryAfter("Fri, 02 Oct 2026 08:00:05 GMT", now)).toBe(5);
  });

  it("never returns a negative wait for a date in the past", () => {
    expect(parseRetryAfter("Fri, 02 Oct 2026 07:00:00 GMT", now)).toBe(0);
  });

  it("ignores an absent or unreadable header", () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });
});

describe("retrying in-process", () => {
  it("does not retry a permanent failure", async () => {
    let calls = 0;

    await expect(
      withRetries(instantRetry(3), async () => {
        calls++;
        throw new PermanentDeliveryError("status 400");
      }),
    ).rejects.toThrow(PermanentDeliveryError);
    expect(calls).toBe(1);
  });

  it("backs off between transient failures, within the policy's longest wait", async () => {
    const retry = instantRetry(3);

    await expect(
      withRetries(retry, async () => {
        throw new TransientDeliveryError("status 503");
      }),
    ).rejects.toThrow(TransientDeliveryError);
    expect(retry.waits).toHaveLength(2);
    for (const wait of retry.waits) expect(wait).toBeLessThanOrEqual(retry.maxDelayMs);
  });
});

describe("classifying AWS SDK failures", () => {
  it("treats throttling as transient even though it comes as a 400", () => {
    const error = Object.assign(new Error("Maximum sending rate exceeded."), {
      name: "Throttling",
      $metadata: { httpStatusCode: 400 },
    });

    expect(classifyAwsError(error, "SES SendEmail")).toBeInstanceOf(TransientDeliveryError);
  });

  it("treats server errors and unanswered requests as transient", () => {
    const serverError = Object.assign(new Error("boom"), {
      name: "InternalFailure",
      $metadata: { httpStatusCode: 500 },
    });
    const networkError = Object.assign(new Error("socket hang up"), { name: "Error" });

    expect(classifyAwsError(serverError, "x")).toBeInstanceOf(TransientDeliveryError);
    expect(classifyAwsError(networkError, "x")).toBeInstanceOf(TransientDeliveryError);
  });

  it("treats other client errors as permanent, naming the error but not quoting its message", () => {
    const error = Object.assign(new Error("Email address is not verified: ops@example.com"), {
      name: "MessageRejected",
      $metadata: { httpStatusCode: 400 },
    });

    const classified = classifyAwsError(error, "SES SendEmail to o***@example.com");

    expect(classified).toBeInstanceOf(PermanentDeliveryError);
    expect(classified.message).toBe(
      "SES SendEmail to o***@example.com failed: MessageRejected (permanent, status 400)",
    );
  });
});
