/**
 * Notifications that pass the request checks but used to be accepted and then fail to travel
 * (issue 11, defect 6): one naming thousands of IPs, whose Alert outgrew an SNS message; ids too
 * long for an SQS message attribute, or holding a lone UTF-16 surrogate, which SQS refuses.
 * Shared by the unit and integration tiers; built on the v2 security-event sample.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { WireValue } from "../scripts/sqreen/wire.js";
import { SAMPLES_DIR } from "./samples.js";

type Notification = { [key: string]: WireValue };

function securityEvent(): Notification {
  const [notification] = JSON.parse(
    readFileSync(path.join(SAMPLES_DIR, "v2-security-event.json"), "utf8"),
  ) as Notification[];
  if (!notification) throw new Error("the v2-security-event sample holds no notification");
  return notification;
}

/** The sample security event with `message.event_id` replaced. */
export function securityEventWithId(eventId: string): Notification {
  const notification = securityEvent();
  (notification.message as Notification).event_id = eventId;
  return notification;
}

/** IPs in the case: 2,900 in a 176 KB notification. */
export const MANY_IPS = 2_900;

/**
 * A security event naming `count` distinct IPs (each with its Tor flag and country, as Sqreen
 * sends them), about 176 KB serialized for the default count.
 */
export function securityEventWithIps(count = MANY_IPS, eventId = `many-ips-${count}`): Notification {
  const notification = securityEventWithId(eventId);
  (notification.message as Notification).ips = Array.from(
    { length: count },
    (_, index): Notification => ({
      address: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
      is_tor: index % 7 === 0,
      geo: { code: "DEU" },
    }),
  );
  return notification;
}

/** A lone high surrogate: valid in JSON text (`\ud83d`), refused by SQS in an attribute. */
export const LONE_SURROGATE = "\ud83d";
