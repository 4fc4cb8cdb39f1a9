import {
  InvalidParameterException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SmsSecret, smsSecretSchema } from "../../../lambdas/contracts/backend-secrets.js";
import { createDeliverSmsHandler, deliverSms } from "../../../lambdas/deliver-sms/core.js";
import { SnsSmsSender } from "../../../lambdas/deliver-sms/sns-sms.js";
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
  snsEventFor,
} from "../delivery/helpers.js";

const SECRET: SmsSecret = {
  phoneNumbers: ["+33612345678", "+33698765432"],
  adminPhoneNumbers: ["+14155550100", "+33612345678"],
};

describe("the SMS backend", () => {
  const sns = mockClient(SNSClient);
  let logs: LogCapture;

  beforeEach(() => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "sms-message-id" });
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  function deps(secret: SmsSecret = SECRET) {
    return {
      secrets: staticSecretSource(smsSecretSchema, secret, "sms test secret"),
      sender: new SnsSmsSender(new SNSClient({ region: "eu-west-1", maxAttempts: 1 })),
      logger: debugLogger(),
    };
  }

  it("publishes one transactional SMS per number of a normal alert, none to administrators", async () => {
    await deliverSms(loadAlert("security-event"), deps());

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(sns).toHaveReceivedNthCommandWith(PublishCommand, 1, {
      PhoneNumber: "+33612345678",
      Message: expect.stringMatching(/^Sqreen HIGH shop-api\/production; Security event: Attack tentative/),
      MessageAttributes: { "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Transactional" } },
    });
    expect(sns).toHaveReceivedNthCommandWith(PublishCommand, 2, { PhoneNumber: "+33698765432" });
  });

  it("adds the administrators' numbers for an internal alert, each number once", async () => {
    await deliverSms(loadAlert("internal"), deps());

    const numbers = sns.commandCalls(PublishCommand).map((call) => call.args[0].input.PhoneNumber);
    expect(numbers).toEqual(["+33612345678", "+33698765432", "+14155550100"]);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message).toMatch(/^INTERNAL ALERT/);
  });

  it("skips an alert that is not internal when only administrators' numbers are configured, saying why", async () => {
    const outcome = await deliverSms(
      loadAlert("security-event"),
      deps({ phoneNumbers: [], adminPhoneNumbers: ["+14155550100"] }),
    );

    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(outcome).toEqual({
      status: "skipped",
      delivered: 0,
      reason:
        "the secret lists administrators' numbers only (adminPhoneNumbers, phoneNumbers is empty), " +
        "and they get internal alerts only",
    });
  });

  it("fails, retryably, when no number is configured at all, and publishes nothing", async () => {
    const delivery = deliverSms(loadAlert("internal"), deps({ phoneNumbers: [], adminPhoneNumbers: [] }));

    await expect(delivery).rejects.toThrow(BackendNotConfiguredError);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it("tries every number when one fails, then fails permanently for a rejected number", async () => {
    sns.on(PublishCommand, { PhoneNumber: "+33612345678" }).rejects(
      new InvalidParameterException({
        message: "Invalid parameter: PhoneNumber",
        $metadata: { httpStatusCode: 400 },
      }),
    );

    const delivery = deliverSms(loadAlert("internal"), deps());

    await expect(delivery).rejects.toThrow(PermanentDeliveryError);
    await expect(delivery).rejects.toThrow("SMS failed for 1 of 3 numbers");
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 3);
  });

  it("fails transiently when SNS throttles", async () => {
    sns
      .on(PublishCommand)
      .rejects(new ThrottledException({ message: "Rate exceeded", $metadata: { httpStatusCode: 429 } }));

    await expect(deliverSms(loadAlert("security-event"), deps())).rejects.toThrow(TransientDeliveryError);
  });

  it("throws from the handler and never logs a phone number unmasked", async () => {
    sns.on(PublishCommand, { PhoneNumber: "+14155550100" }).rejects(
      new ThrottledException({
        message: "Rate exceeded for +14155550100",
        $metadata: { httpStatusCode: 429 },
      }),
    );
    const handler = createDeliverSmsHandler(deps());

    await expect(handler(snsEventFor(loadAlert("internal")), lambdaContext())).rejects.toThrow(
      TransientDeliveryError,
    );

    const text = logs.text();
    expect(text).toContain("+14*******00");
    for (const phoneNumber of [...SECRET.phoneNumbers, ...SECRET.adminPhoneNumbers]) {
      expect(text).not.toContain(phoneNumber);
    }
  });
});
