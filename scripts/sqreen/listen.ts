/**
 * `npm run sqreen -- listen`: a local receiver standing in for Slack and for an HTTP-forward
 * target, so a newcomer sees what those two backends deliver without writing a server. It prints
 * each Slack message as Slack would lay it out (Block Kit summarized, one line per block) and each
 * HTTP delivery once its Standard Webhooks signature is verified with the secret (the
 * `standardwebhooks` library, as a receiver would). Listens on 127.0.0.1 only.
 *
 * What it prints comes from alerts, which quote attacker-controlled text: control characters and
 * terminal escapes are removed before anything reaches the terminal.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import stripAnsi from "strip-ansi";

/** Where the relay's backends point: SLACK_WEBHOOK_URL, ADMIN_SLACK_WEBHOOK_URL, HTTP_FORWARD_URL. */
export const LISTEN_PATHS = { slack: "/slack", slackAdmin: "/slack/admin", http: "/http" } as const;

/** The default port of `listen`. */
export const DEFAULT_LISTEN_PORT = 4000;

/** Largest request read; a Slack message or an alert is far smaller. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Text fit for a terminal: no escape sequence, no control character, one line. */
export function terminalText(text: string): string {
  return stripAnsi(text)
    .replace(/[\p{Cc}\p{Cf}]+/gu, " ")
    .trim();
}

interface SlackText {
  text?: string;
}
interface SlackBlock {
  type?: string;
  text?: SlackText;
  fields?: SlackText[];
  elements?: (SlackText & { url?: string })[];
}

/** The lines a Slack message shows: its header, sections, fields, context and buttons. */
export function summarizeSlackMessage(body: string): string[] {
  let message: { text?: string; blocks?: SlackBlock[] };
  try {
    message = JSON.parse(body) as typeof message;
  } catch {
    return ["(not JSON: Slack would answer invalid_payload)"];
  }
  const lines: string[] = [];
  for (const block of message.blocks ?? []) {
    const texts = [block.text?.text, ...(block.fields ?? []).map((field) => field.text)];
    switch (block.type) {
      case "header":
        lines.push(`# ${terminalText(block.text?.text ?? "")}`);
        break;
      case "actions":
        for (const element of block.elements ?? []) {
          const label = typeof element.text === "object" ? (element.text as SlackText).text : element.text;
          lines.push(`[${terminalText(label ?? "button")}] ${terminalText(element.url ?? "")}`);
        }
        break;
      case "context":
        lines.push(terminalText((block.elements ?? []).map((element) => element.text ?? "").join(" ")));
        break;
      default:
        for (const text of texts) if (text) lines.push(terminalText(text));
    }
  }
  if (lines.length === 0 && message.text) lines.push(terminalText(message.text));
  return lines;
}

/** The lines an HTTP delivery shows once verified: the event type and the alert's identity. */
export function summarizeHttpDelivery(payload: unknown): string[] {
  const { type, data } = (payload ?? {}) as { type?: unknown; data?: Record<string, unknown> };
  const field = (name: string) => terminalText(String(data?.[name] ?? ""));
  return [
    `${terminalText(String(type ?? "(no type)"))}: alert ${field("id")} (${field("severity")}, ${field("kind")})`,
    field("title"),
  ];
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

export interface ListenerOptions {
  port?: number;
  /** The HTTP backend's Standard Webhooks secret (`whsec_...`); HTTP deliveries are refused 401 without it. */
  httpSecret?: string | undefined;
  print(text: string): void;
}

export interface Listener {
  origin: string;
  close(): Promise<void>;
}

/** Starts the receiver on 127.0.0.1; see the module comment. */
export async function startListener(options: ListenerOptions): Promise<Listener> {
  const verifier = options.httpSecret ? new Webhook(options.httpSecret) : undefined;
  const print = (title: string, lines: readonly string[]) =>
    options.print(
      `${[`── ${new Date().toISOString()} ${title}`, ...lines.map((line) => `   ${line}`)].join("\n")}\n`,
    );
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) request.destroy();
      else chunks.push(chunk);
    });
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const path = (request.url ?? "").split("?")[0];
      const answer = (status: number, text: string) => {
        response.writeHead(status, { "content-type": "text/plain" });
        response.end(text);
      };
      if (request.method !== "POST") return answer(405, "POST only");
      if (path === LISTEN_PATHS.slack || path === LISTEN_PATHS.slackAdmin) {
        print(
          `Slack (${path === LISTEN_PATHS.slack ? "alerts" : "admin"} channel)`,
          summarizeSlackMessage(body),
        );
        return answer(200, "ok");
      }
      if (path === LISTEN_PATHS.http) {
        if (!verifier) {
          print("HTTP delivery REFUSED", ["no --http-secret given: the signature cannot be verified"]);
          return answer(401, "no secret to verify with");
        }
        const headers = {
          "webhook-id": headerValue(request.headers, "webhook-id"),
          "webhook-timestamp": headerValue(request.headers, "webhook-timestamp"),
          "webhook-signature": headerValue(request.headers, "webhook-signature"),
        };
        let payload: unknown;
        try {
          payload = verifier.verify(body, headers);
        } catch (error) {
          print("HTTP delivery REFUSED", [
            `signature not verified: ${error instanceof Error ? error.message : "invalid"}`,
          ]);
          return answer(401, "invalid signature");
        }
        print(
          `HTTP delivery ${terminalText(headers["webhook-id"])} (signature verified)`,
          summarizeHttpDelivery(payload),
        );
        return answer(204, "");
      }
      return answer(404, `not a listen path: ${Object.values(LISTEN_PATHS).join(", ")}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? DEFAULT_LISTEN_PORT, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
