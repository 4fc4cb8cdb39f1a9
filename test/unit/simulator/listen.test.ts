/**
 * `npm run sqreen -- listen`: the real Slack and HTTP backends deliver to it, and it prints what
 * their receivers would show, refusing an HTTP delivery whose signature does not verify.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { httpSecretSchema, slackSecretSchema } from "../../../lambdas/contracts/backend-secrets.js";
import { deliverHttp } from "../../../lambdas/deliver-http/core.js";
import { deliverSlack } from "../../../lambdas/deliver-slack/core.js";
import { createSlackPoster } from "../../../lambdas/deliver-slack/slack.js";
import { staticSecretSource } from "../../../lambdas/delivery/secret-source.js";
import { LISTEN_PATHS, type Listener, startListener, terminalText } from "../../../scripts/sqreen/listen.js";
import { debugLogger, loadAlert } from "../delivery/helpers.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NO_RETRY = { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 };

describe("the listen receiver", () => {
  let printed: string[];
  let listener: Listener;
  beforeEach(async () => {
    printed = [];
    listener = await startListener({ port: 0, httpSecret: SECRET, print: (text) => printed.push(text) });
  });
  afterEach(async () => {
    await listener.close();
  });

  it("prints a Slack message block by block, as the channel would show it", async () => {
    const alert = loadAlert("security-event");
    await deliverSlack(alert, {
      secrets: staticSecretSource(
        slackSecretSchema,
        { webhookUrl: `${listener.origin}${LISTEN_PATHS.slack}` },
        "test",
      ),
      poster: createSlackPoster({ timeoutMs: 5_000, retry: NO_RETRY }),
    });

    expect(printed).toHaveLength(1);
    expect(printed[0]).toContain("Slack (alerts channel)");
    expect(printed[0]).toMatch(new RegExp(`^ +# .*${alert.title.replace(/[.]/g, "\\.")}$`, "m"));
    expect(printed[0]).toContain("[Open in Sqreen]");
  });

  it("prints an HTTP delivery once its Standard Webhooks signature verifies, and refuses one signed with another secret", async () => {
    const alert = loadAlert("security-event");
    const deliver = (signingSecret: string) =>
      deliverHttp(alert, {
        secrets: staticSecretSource(
          httpSecretSchema,
          { targets: [{ url: `${listener.origin}${LISTEN_PATHS.http}`, signingSecret }] },
          "test",
        ),
        logger: debugLogger(),
        timeoutMs: 5_000,
        retry: NO_RETRY,
      });

    await deliver(SECRET);
    await expect(deliver("whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==")).rejects.toThrow(/401/);

    expect(printed[0]).toContain("(signature verified)");
    expect(printed[0]).toContain(`alert ${alert.id} (${alert.severity}, ${alert.kind})`);
    expect(printed[1]).toContain("HTTP delivery REFUSED");
  });

  it("keeps terminal escapes and control characters out of what it prints", () => {
    expect(terminalText("\u001b]0;owned\u0007evil\u001b[2J\u0000 text\u202e")).toBe("evil  text");
  });
});
