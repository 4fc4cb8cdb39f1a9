/**
 * The log backend's record: the alert as one structured JSON log line, for CloudWatch Logs
 * Insights queries and metric filters.
 *
 * Decision: the `original` Sqreen notification is never logged. It carries personal data (user
 * identifiers, e-mail addresses of attacked accounts, full request details) and would make the
 * log group a second, less protected copy of it; the HTTP backend forwards it to receivers that
 * need it. IPs stay: they are what an operator acts on, and they are already in the log group's
 * retention policy.
 *
 * The log is a machine channel: title and text are the alert's own, not rendered for people (no
 * defanging); the JSON line escapes them. The logger masks the personal data of every line
 * (`createLogger`, lambdas/runtime/logger.ts), these fields included.
 */
import type { Alert } from "../contracts/alert.js";
import { alertRef } from "../delivery/format.js";

export interface AlertLogRecord {
  alertId: string;
  /** The short reference people see in the SMS, e-mail and Slack message (alertRef). */
  alertRef: string;
  type: string;
  kind: Alert["kind"];
  severity: Alert["severity"];
  title: string;
  text: string;
  applicationId: string | null;
  application: string | null;
  environment: string | null;
  link: string | null;
  ips: { address: string; isTor: boolean | null; country: string | null; city: string | null }[];
  /** IPs the notification named beyond `ips`. */
  ipsOmitted: number;
  internal: boolean;
  occurredAt: string | null;
  receivedAt: string;
}

/** The fields of the alert's log line: everything but `original`. */
export function alertLogRecord(alert: Alert): AlertLogRecord {
  return {
    alertId: alert.id,
    alertRef: alertRef(alert),
    type: alert.sourceType,
    kind: alert.kind,
    severity: alert.severity,
    title: alert.title,
    text: alert.text,
    applicationId: alert.applicationId,
    application: alert.applicationName,
    environment: alert.environment,
    link: alert.link,
    ips: alert.ips.map(({ address, isTor, country, city }) => ({ address, isTor, country, city })),
    ipsOmitted: alert.ipsOmitted,
    internal: alert.internal,
    occurredAt: alert.occurredAt,
    receivedAt: alert.receivedAt,
  };
}
