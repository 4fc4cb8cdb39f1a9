/**
 * AWS entry of the route function: reads its environment once at cold start, builds the SNS
 * client and publisher at module scope (reused across invocations), and exports the handler.
 */
import { SNSClient } from "@aws-sdk/client-sns";
import { ENV } from "../contracts/environment-names.js";
import { parseEnvironment, splitList } from "../runtime/config.js";
import { createLogger } from "../runtime/logger.js";
import * as z from "../runtime/schema.js";
import { createRouteHandler } from "./chain.js";
import { SnsAlertPublisher } from "./sns-topic.js";

const environment = parseEnvironment(
  z.object({
    [ENV.alertsTopicArn]: z.string().check(z.trim(), z.minLength(1, "the alerts topic ARN is required")),
    [ENV.ownApplicationIds]: z.optional(z.string()),
  }),
);

const logger = createLogger("route");
const snsClient = new SNSClient({});

export const handler = createRouteHandler({
  publisher: new SnsAlertPublisher({
    client: snsClient,
    topicArn: environment[ENV.alertsTopicArn],
    logger,
  }),
  ownApplicationIds: splitList(environment[ENV.ownApplicationIds]),
  logger,
});
