import { MessageRejected, SESClient, SendEmailCommand } from "@aws-sdk/client-ses";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type EmailSecret, emailSecretSchema } from "../../../lambdas/contracts/backend-secrets.js";
import { createDeliverEmailHandler, deliverEmail } from "../../../lambdas/deliver-email/core.js";
import { SesEmailSender } from "../../../lambdas/deliver-email/ses-email.js";
import { staticSecretSource } from "../../../lambdas/delivery/secret-source.js";
import {
  BackendNotConfiguredError,
  PermanentDeliveryError,
  TransientDeliveryError,
} from "../../../lambdas/runtime/errors.js";
import {
  captureLogs,
  debugLogger,
  type LogCapture,
  lambdaContext,
  loadAlert,
  loadSnsEvent,
  snsEventFor,
} from "../delivery/helpers.js";

const FROM = "alerts@relay.example.com";
const SECRET: EmailSecret = {
  to: ["ops.team@example.com", "oncall.person@example.com"],
  adminTo: ["security.admin@example.com", "ops.team@example.com"],
};

function throttling(): Error {
  return Object.assign(new Error("Maximum sending rate exceeded."), {
    name: "Throttling",
    $fault: "client",
    $metadata: { httpStatusCode: 400 },
  });
}

describe("the email backend", () => {
  const ses = mockClient(SESClient);
  let logs: LogCapture;

  beforeEach(() => {
    ses.reset();
    ses.on(SendEmailCommand).resolves({ MessageId: "0102018f-example" });
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  function deps(secret: EmailSecret = SECRET) {
    return {
      secrets: staticSecretSource(emailSecretSchema, secret, "email test secret"),
      sender: new SesEmailSender(new SESClient({ region: "eu-west-1", maxAttempts: 1 })),
      from: FROM,
      logger: debugLogger(),
    };
  }

  it("sends one e-mail per `to` recipient of a normal alert, and none to administrators", async () => {
    const outcome = await deliverEmail(loadAlert("security-event"), deps());

    expect(ses).toHaveReceivedCommandTimes(SendEmailCommand, 2);
    expect(ses).toHaveReceivedNthCommandWith(SendEmailCommand, 1, {
      Source: FROM,
      Destination: { ToAddresses: ["ops.team@example.com"] },
      Message: expect.objectContaining({
        Subject: {
          Data: "[Sqreen][HIGH] Attack tentative from 198.51.100.23 — shop-api/production",
          Charset: "UTF-8",
        },
      }),
    });
    expect(ses).toHaveReceivedNthCommandWith(SendEmailCommand, 2, {
      Destination: { ToAddresses: ["oncall.person@example.com"] },
    });
    expect(outcome).toEqual({
      status: "delivered",
      delivered: 2,
      destinations: [
        { destination: "o***@example.com", status: "delivered" },
        { destination: "o***@example.com", status: "delivered" },
      ],
      details: { recipients: ["o***@example.com", "o***@example.com"] },
    });
  });

  it("adds the administrators for an internal alert, each address once", async () => {
    await deliverEmail(loadAlert("internal"), deps());

    const recipients = ses
      .commandCalls(SendEmailCommand)
      .map((call) => call.args[0].input.Destination?.ToAddresses);
    expect(recipients).toEqual([
      ["ops.team@example.com"],
      ["oncall.person@example.com"],
      ["security.admin@example.com"],
    ]);
  });

  it("sends the plain-text and the HTML body", async () => {
    await deliverEmail(loadAlert("security-event"), deps());

    const body = ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Message?.Body;
    expect(body?.Text?.Data).toContain("Alert id:");
    expect(body?.Html?.Data).toContain("<table");
  });

  it("skips an alert that is not internal when only administrators are configured, saying why", async () => {
    const handler = createDeliverEmailHandler(deps({ to: [], adminTo: ["security.admin@example.com"] }));

    await handler(snsEventFor(loadAlert("security-event")), lambdaContext());

    expect(ses).not.toHaveReceivedCommand(SendEmailCommand);
    expect(logs.lines().at(-1)).toMatchObject({
      outcome: "skipped",
      delivered: 0,
      reason:
        "the secret lists administrators only (adminTo, to is empty), and they get internal alerts only",
    });
  });

  it("sends an internal alert to the administrators when only they are configured", async () => {
    await deliverEmail(loadAlert("internal"), deps({ to: [], adminTo: ["security.admin@example.com"] }));

    expect(ses).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(ses).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: ["security.admin@example.com"] },
    });
  });

  it("fails, retryably, when the secret lists nobody at all, and sends nothing", async () => {
    const delivery = deliverEmail(loadAlert("internal"), deps({ to: [], adminTo: [] }));

    await expect(delivery).rejects.toThrow(BackendNotConfiguredError);
    expect(ses).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it("fails permanently when SES rejects the message, after trying every recipient", async () => {
    ses.on(SendEmailCommand, { Destination: { ToAddresses: ["ops.team@example.com"] } }).rejects(
      new MessageRejected({
        message: "Email address is not verified: ops.team@example.com",
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const delivery = deliverEmail(loadAlert("security-event"), deps());

    await expect(delivery).rejects.toThrow(PermanentDeliveryError);
    await expect(delivery).rejects.toThrow(/1 of 2 recipients.*o\*\*\*@example.com.*MessageRejected/);
    expect(ses).toHaveReceivedCommandTimes(SendEmailCommand, 2);
  });

  it("fails transiently when SES throttles", async () => {
    ses.on(SendEmailCommand).rejects(throttling());

    await expect(deliverEmail(loadAlert("security-event"), deps())).rejects.toThrow(TransientDeliveryError);
  });

  it("throws from the handler so the platform retries, and never logs an address unmasked", async () => {
    ses.on(SendEmailCommand).rejects(
      new MessageRejected({
        message: "Email address is not verified: ops.team@example.com",
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const handler = createDeliverEmailHandler(deps());

    await expect(handler(snsEventFor(loadAlert("internal")), lambdaContext())).rejects.toThrow(
      PermanentDeliveryError,
    );

    const text = logs.text();
    expect(text).toContain("s***@example.com");
    for (const address of [...SECRET.to, ...SECRET.adminTo, "alice.martin@example.com"]) {
      expect(text).not.toContain(address);
    }
  });

  it("logs the masked recipients of a successful delivery and no address", async () => {
    const handler = createDeliverEmailHandler(deps());

    await handler(loadSnsEvent(), lambdaContext());

    expect(logs.lines().at(-1)).toMatchObject({
      outcome: "delivered",
      recipients: ["o***@example.com", "o***@example.com"],
    });
    expect(logs.text()).not.toMatch(/ops\.team@|oncall\.person@|alice\.martin@/);
  });
});
