import {
  InvalidParameterException,
  PublishCommand,
  SNSClient,
  ThrottledException,
} from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDeliverSmsHandler, deliverSms } from "../../../lambdas/deliver-sms/app.js";
import type { SmsSecret } from "../../../lambdas/shared/backend-secrets.js";
import { PermanentDeliveryError, TransientDeliveryError } from "../../../lambdas/shared/errors.js";
import { staticSecretSource } from "../../../lambdas/shared/secret-source.js";
import { SnsSmsSender } from "../../../lambdas/shared/sns-sms.js";
import {
  captureLogs,
  debugLogger,
  type LogCapture,
  lambdaContext,
  loadAlert,
  snsEventFor,
} from "./helpers.js";

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
      secrets: staticSecretSource(secret),
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

  it("succeeds without publishing when no number is configured", async () => {
    const outcome = await deliverSms(
      loadAlert("security-event"),
      deps({ phoneNumbers: [], adminPhoneNumbers: [] }),
    );

    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(outcome.status).toBe("skipped");
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
