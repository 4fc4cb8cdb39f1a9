import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import { createDeliverLogHandler } from "../../../lambdas/deliver-log/core.js";
import { createDeliverHandler } from "../../../lambdas/delivery/chain.js";
import type { DeliveryKey, DeliveryOutcome } from "../../../lambdas/delivery/outcome.js";
import { alertFromSnsEvent } from "../../../lambdas/delivery/sns-event.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../../../lambdas/runtime/errors.js";
import {
  captureLogs,
  debugLogger,
  type LogCapture,
  lambdaContext,
  loadAlert,
  loadSnsEvent,
  snsEventFor,
} from "./helpers.js";

describe("reading the alert from an SNS event", () => {
  it("returns the alert the route function published", () => {
    expect(alertFromSnsEvent(loadSnsEvent())).toEqual(loadAlert("security-event"));
  });

  it("refuses an event without exactly one record", () => {
    const event = loadSnsEvent();
    event.Records.push(...event.Records);

    expect(() => alertFromSnsEvent(event)).toThrow(PermanentDeliveryError);
    expect(() => alertFromSnsEvent({ Records: [] })).toThrow("Expected exactly one SNS record, got 0");
  });

  it("refuses a message that is not JSON", () => {
    const event = loadSnsEvent();
    const record = event.Records[0];
    if (record) record.Sns.Message = "not json";

    expect(() => alertFromSnsEvent(event)).toThrow("SNS message is not JSON");
  });

  it("refuses JSON that is not an alert, naming the fields but not their values", () => {
    const event = snsEventFor({ ...loadAlert("security-event"), severity: "apocalyptic" as "high" });

    expect(() => alertFromSnsEvent(event)).toThrow(/severity/);
    expect(() => alertFromSnsEvent(event)).not.toThrow(/apocalyptic/);
  });
});

describe("the shared delivery handler", () => {
  let logs: LogCapture;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  it("hands the event's alert to the backend and logs one line with the outcome", async () => {
    const deliver = vi.fn(async (): Promise<DeliveryOutcome> => ({ status: "delivered", delivered: 2 }));
    const handler = createDeliverHandler({ backend: "email", deliver, logger: debugLogger() });

    await handler(loadSnsEvent(), lambdaContext());

    expect(deliver).toHaveBeenCalledExactlyOnceWith(loadAlert("security-event"));
    expect(logs.lines()).toEqual([
      expect.objectContaining({
        level: "INFO",
        message: "Alert delivered by email",
        alertId: "651a7c3e9f2b4d0012ab34cd",
        type: "security_event",
        severity: "high",
        backend: "email",
        outcome: "delivered",
        delivered: 2,
      }),
    ]);
  });

  it("throws when the delivery fails, so the platform retries and then dead-letters the event", async () => {
    const deliver = vi.fn(async (): Promise<DeliveryOutcome> => {
      throw new TransientDeliveryError("HTTP target https://hooks.example.com: status 503 (transient)");
    });
    const handler = createDeliverHandler({ backend: "http", deliver, logger: debugLogger() });

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow(
      "HTTP target https://hooks.example.com: status 503 (transient)",
    );
    expect(logs.lines()).toEqual([
      expect.objectContaining({
        level: "ERROR",
        outcome: "failed",
        errorName: "TransientDeliveryError",
        retryable: true,
      }),
    ]);
  });

  it("rethrows an unexpected error by name only, as a transient failure", async () => {
    const deliver = vi.fn(async (): Promise<DeliveryOutcome> => {
      throw new TypeError("cannot read https://hooks.example.com/secret-token");
    });
    const handler = createDeliverHandler({ backend: "http", deliver, logger: debugLogger() });

    await expect(handler(loadSnsEvent(), lambdaContext())).rejects.toThrow(TransientDeliveryError);
    expect(logs.text()).not.toContain("secret-token");
  });

  it("throws on a message that is not an alert, without calling the backend", async () => {
    const deliver = vi.fn(async (): Promise<DeliveryOutcome> => ({ status: "delivered", delivered: 1 }));
    const handler = createDeliverHandler({ backend: "sms", deliver, logger: debugLogger() });

    await expect(handler({ Records: [] }, lambdaContext())).rejects.toThrow(PermanentDeliveryError);
    expect(deliver).not.toHaveBeenCalled();
  });

  it("runs the delivery through the idempotency seam keyed by backend and alert id", async () => {
    const deliver = vi.fn(async (): Promise<DeliveryOutcome> => ({ status: "delivered", delivered: 1 }));
    const guard = vi.fn((_key: DeliveryKey, run: () => Promise<DeliveryOutcome>) => run());
    const handler = createDeliverHandler({ backend: "slack", deliver, logger: debugLogger(), guard });
    const context = lambdaContext();

    await handler(loadSnsEvent(), context);

    expect(guard).toHaveBeenCalledWith(
      ["slack", "651a7c3e9f2b4d0012ab34cd"],
      expect.any(Function),
      expect.objectContaining({ awsRequestId: context.awsRequestId }),
    );
    expect(deliver).toHaveBeenCalledOnce();
  });
});

describe("the log backend", () => {
  let logs: LogCapture;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  it("writes exactly one structured line per alert, without the original and with e-mails masked", async () => {
    const handler = createDeliverLogHandler({ logger: debugLogger() });

    await handler(loadSnsEvent(), lambdaContext());

    const lines = logs.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      message: "Alert delivered by log",
      alertId: "651a7c3e9f2b4d0012ab34cd",
      title: "Attack tentative from 198.51.100.23",
      application: "shop-api",
      environment: "production",
      internal: false,
    });
    expect(lines[0]).not.toHaveProperty("original");
    expect(logs.text()).not.toContain("alice.martin@example.com");
  });

  it("tags the line of an internal alert", async () => {
    const handler = createDeliverLogHandler({ logger: debugLogger() });

    await handler(snsEventFor(loadAlert("internal")), lambdaContext());

    expect(logs.lines()[0]?.message).toBe(`${INTERNAL_ALERT_TAG} Alert delivered by log`);
  });
});
