/**
 * Where the local stack sends e-mail and SMS instead of SES and SNS: one JSON line per message in
 * `<dir>/email.jsonl` and `<dir>/sms.jsonl`, read by people (`tail -f`) and by tests. They hold
 * recipients and alert contents: owner-only (0600 in a 0700 directory).
 */
import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { EmailMessage, EmailSender } from "../../lambdas/deliver-email/ses-email.js";
import type { SmsSender } from "../../lambdas/deliver-sms/sns-sms.js";
import { privateDirectory, privateFile } from "../store/relay-store.js";

function appendLine(file: string, record: object): string {
  const messageId = randomUUID();
  appendFileSync(file, `${JSON.stringify({ messageId, sentAt: new Date().toISOString(), ...record })}\n`);
  return messageId;
}

export class OutboxEmailSender implements EmailSender {
  private readonly file: string;
  constructor(dir: string) {
    this.file = privateFile(join(privateDirectory(dir), "email.jsonl"));
  }

  async send(message: EmailMessage): Promise<{ messageId?: string }> {
    return { messageId: appendLine(this.file, message) };
  }
}

export class OutboxSmsSender implements SmsSender {
  private readonly file: string;
  constructor(dir: string) {
    this.file = privateFile(join(privateDirectory(dir), "sms.jsonl"));
  }

  async send(phoneNumber: string, text: string): Promise<{ messageId?: string }> {
    return { messageId: appendLine(this.file, { phoneNumber, text }) };
  }
}
