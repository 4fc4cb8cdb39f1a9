/**
 * The redrive tool finds its queues by the deployed stack's name and outputs: check them against
 * the stack the CDK app synthesizes, so renaming either side breaks a test rather than a redrive.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../../../lambdas/contracts/messages.js";
import { STACK_NAME } from "../../../lib/relay-app.js";
import { loadRelaySettings } from "../../../lib/settings.js";
import {
  DEFAULT_STACK_NAME,
  deadLetterQueueOutputKey,
  deliveryFunctionOutputKey,
} from "../../../scripts/redrive/aws.js";
import { type Synthesized, synthesizeRelay } from "../../infra/synth.js";

describe("the stack outputs the redrive tool reads", () => {
  let synth: Synthesized;

  beforeAll(() => {
    synth = synthesizeRelay(loadRelaySettings("relay.config.example.json").settings);
  });

  it("looks for the stack the CDK app deploys", () => {
    expect(DEFAULT_STACK_NAME).toBe(STACK_NAME);
  });

  it.each(BACKENDS)("finds both dead-letter queues of the %s backend among the outputs", (backend) => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const backendOf = synth.stack.backends.find((candidate) => candidate.backend === backend);

    expect(outputs[deadLetterQueueOutputKey(backend, "delivery")]?.Value).toEqual({
      "Fn::GetAtt": [synth.logicalId(backendOf?.deliveryDeadLetterQueue ?? synth.stack), "QueueName"],
    });
    expect(outputs[deadLetterQueueOutputKey(backend, "subscription")]?.Value).toEqual({
      "Fn::GetAtt": [synth.logicalId(backendOf?.subscriptionDeadLetterQueue ?? synth.stack), "QueueName"],
    });
  });

  it.each(BACKENDS)("finds the %s delivery function among the outputs", (backend) => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const backendOf = synth.stack.backends.find((candidate) => candidate.backend === backend);

    expect(outputs[deliveryFunctionOutputKey(backend)]?.Value).toEqual({
      Ref: synth.logicalId(backendOf?.handler.function ?? synth.stack),
    });
  });
});
