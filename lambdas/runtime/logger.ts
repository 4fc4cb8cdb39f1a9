/**
 * One Powertools logger per function. Log identifiers, never whole events: requests carry
 * signatures and notifications carry e-mail addresses and IPs.
 */
import { Logger } from "@aws-lambda-powertools/logger";

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/** `alice@example.com` → `a***@example.com`: enough to tell recipients apart in a log. */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${address[0]}***${address.slice(at)}`;
}

/** `+33612345678` → `+33******78`. */
export function maskPhoneNumber(phoneNumber: string): string {
  if (phoneNumber.length <= 5) return "***";
  return `${phoneNumber.slice(0, 3)}${"*".repeat(phoneNumber.length - 5)}${phoneNumber.slice(-2)}`;
}
