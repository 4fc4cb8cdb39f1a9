/** AWS entry of deliver-log: SNS-subscribed, asynchronous; needs no environment. */
import { createLogger } from "../shared/logger.js";
import { createDeliverLogHandler } from "./app.js";

export const handler = createDeliverLogHandler({ logger: createLogger("deliver-log") });
