import { describe, expect, it, vi } from "vitest";
import { type Alert, INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import { InvalidNotificationError } from "../../../lambdas/contracts/normalize.js";
import { routeNotification, UnparseableMessageError } from "../../../lambdas/route/core.js";
import type { AlertPublisher } from "../../../lambdas/route/sns-topic.js";
import { DependencyUnavailableError } from "../../../lambdas/runtime/errors.js";
import { firstOf, ownApplicationId, RECEIVED_AT } from "./support.js";

/** An in-memory topic that keeps what it is given. */
function recordingPublisher(): AlertPublisher & { published: Alert[] } {
  const published: Alert[] = [];
  return {
    published,
    publish: async (alert) => {
      published.push(alert);
    },
  };
}

function dependencies(publisher: AlertPublisher = recordingPublisher()) {
  return {
    publisher,
    ownApplicationIds: [ownApplicationId],
    logger: { debug: vi.fn(), error: vi.fn() },
    now: () => new Date("2026-10-03T00:00:00.000Z"),
  };
}

describe("routeNotification", () => {
  it("publishes the normalized alert of a queued notification and resolves with it", async () => {
    const publisher = recordingPublisher();
    const notification = firstOf("v1-security-event.json");

    const alert = await routeNotification(
      JSON.stringify(notification),
      { receivedAt: RECEIVED_AT },
      dependencies(publisher),
    );

    expect(publisher.published).toEqual([alert]);
    expect(alert).toMatchObject({ id: "651a90aa9f2b4d0012ab3600", receivedAt: RECEIVED_AT, internal: false });
    expect(alert.original).toEqual(notification);
  });

  it("uses the clock for receivedAt when the message does not carry it", async () => {
    const alert = await routeNotification(JSON.stringify(firstOf("v2-test.json")), {}, dependencies());

    expect(alert.receivedAt).toBe("2026-10-03T00:00:00.000Z");
  });

  it("logs one debug line of identifiers, never the title or the notification", async () => {
    const deps = dependencies();

    await routeNotification(
      JSON.stringify(firstOf("v1-pulse.json")),
      { receivedAt: RECEIVED_AT, requestId: "request-9", messageId: "message-3" },
      deps,
    );

    expect(deps.logger.debug).toHaveBeenCalledTimes(1);
    expect(deps.logger.debug).toHaveBeenCalledWith(`${INTERNAL_ALERT_TAG} Routing alert`, {
      alertId: "651a91bb9f2b4d0012ab3700",
      type: "pulse",
      kind: "incident",
      severity: "high",
      internal: true,
      applicationId: ownApplicationId,
      environment: "production",
      requestId: "request-9",
      messageId: "message-3",
    });
    expect(JSON.stringify(deps.logger.debug.mock.calls)).not.toContain("carol@example.com");
  });

  it("logs a non-internal alert without the internal tag", async () => {
    const deps = dependencies();

    await routeNotification(JSON.stringify(firstOf("v2-unknown-type.json")), {}, deps);

    expect(deps.logger.debug).toHaveBeenCalledWith(
      "Routing alert",
      expect.objectContaining({ internal: false }),
    );
  });

  it("throws UnparseableMessageError for a body that is not JSON, without quoting it", async () => {
    const deps = dependencies();

    const routing = routeNotification('{"secret": "bob@example.com"', {}, deps);

    await expect(routing).rejects.toThrow(UnparseableMessageError);
    await expect(routing).rejects.not.toThrow(/bob@example\.com/);
    expect(deps.logger.error).toHaveBeenCalledTimes(1);
  });

  it("throws InvalidNotificationError for JSON that is not an object, and publishes nothing", async () => {
    const publisher = recordingPublisher();

    await expect(routeNotification("null", {}, dependencies(publisher))).rejects.toThrow(
      InvalidNotificationError,
    );
    expect(publisher.published).toEqual([]);
  });

  it("passes on the publisher's rejection, logging it with the internal tag", async () => {
    const failure = new DependencyUnavailableError("topic down");
    const deps = dependencies({ publish: () => Promise.reject(failure) });

    await expect(routeNotification(JSON.stringify(firstOf("v2-security-event.json")), {}, deps)).rejects.toBe(
      failure,
    );
    expect(deps.logger.error).toHaveBeenCalledWith(
      expect.stringContaining(INTERNAL_ALERT_TAG),
      expect.objectContaining({ alertId: "651a7c3e9f2b4d0012ab34cd", error: failure }),
    );
  });

  it("hands the alert to the publisher synchronously, so parallel records share a batch", () => {
    const publish = vi.fn(async () => undefined);

    void routeNotification(JSON.stringify(firstOf("v2-test.json")), {}, dependencies({ publish }));

    expect(publish).toHaveBeenCalledTimes(1);
  });
});
