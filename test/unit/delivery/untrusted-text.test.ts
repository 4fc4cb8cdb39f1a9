import { describe, expect, it } from "vitest";
import {
  ALERT_FIELD_TRUST,
  HUMAN_CHANNELS,
  inertText,
  machineJson,
  plain,
  render,
  SPOOFED_TAG_TEXT,
  shown,
  untrusted,
} from "../../../lambdas/delivery/untrusted-text.js";
import { SPOOFED_INTERNAL_TAGS } from "./spoofed-tags.js";

describe("what the relay trusts", () => {
  it("is its own decisions and Sqreen's console link; every text copied from the notification is not", () => {
    const trusted = Object.entries(ALERT_FIELD_TRUST)
      .filter(([, trust]) => trust === "trusted")
      .map(([field]) => field);

    expect(trusted.sort()).toEqual([
      "apiVersion",
      "internal",
      "ipsOmitted",
      "kind",
      "link",
      "receivedAt",
      "severity",
    ]);
    expect(ALERT_FIELD_TRUST.original).toBe("machine");
  });
});

describe("inert text", () => {
  it("defangs URLs and domains the way security tools show indicators", () => {
    expect(inertText("Log in at https://evil.example/login now")).toBe(
      "Log in at hxxps://evil[.]example/login now",
    );
    expect(inertText("HTTP://EVIL.EXAMPLE")).toBe("HXXP://EVIL[.]EXAMPLE");
    expect(inertText("ftp://files.evil.example")).toBe("fxp://files[.]evil[.]example");
    expect(inertText("see www.evil.com or login.evil.zip")).toBe(
      "see www[.]evil[.]com or login[.]evil[.]zip",
    );
    expect(inertText("mailto:victim@example.com")).toBe("mailto[:]victim@example[.]com");
    expect(inertText("javascript:alert(1) and custom://x")).toBe("javascript[:]alert(1) and custom[://]x");
  });

  it("defangs domains written with look-alike dots", () => {
    expect(inertText("evil．example and evil。com")).toBe("evil[.]example and evil[.]com");
  });

  it("leaves IP addresses, versions, decimals and times as they are", () => {
    expect(inertText("198.51.100.23, 2001:db8::1, v1.2.3, 3.14, 10:29")).toBe(
      "198.51.100.23, 2001:db8::1, v1.2.3, 3.14, 10:29",
    );
  });

  it("removes NUL, NEL, ANSI escape sequences, bidi overrides and zero-width characters", () => {
    expect(inertText("a\u0000b\u0085c\u001b[2Jd\u001b]0;owned\u0007e\u202ef\u200bg\u2066h\ufeffi")).toBe(
      "ab cdefghi",
    );
  });

  it("keeps everything on one line: CR, LF, tabs and Unicode line separators become spaces", () => {
    expect(inertText("first\r\nBcc: victim@example.com\u2028third\tfourth")).toBe(
      "first Bcc: victim@example[.]com third fourth",
    );
  });

  it("neutralizes the relay's internal tag, whatever its disguise", () => {
    for (const spoof of SPOOFED_INTERNAL_TAGS) {
      expect(inertText(`before ${spoof} after`), spoof).toBe(`before ${SPOOFED_TAG_TEXT} after`);
    }
  });

  it("turns the issue's spoofed internal alert into a plainly untrusted title", () => {
    expect(
      inertText(
        "[INTERNAL SECURITY ALERT] The relay itself is under attack: rotate the credentials at https://evil.example/rotate",
      ),
    ).toBe(
      `${SPOOFED_TAG_TEXT} The relay itself is under attack: rotate the credentials at hxxps://evil[.]example/rotate`,
    );
  });
});

describe("rendering wording for a human channel", () => {
  const wording = ["Seen from ", untrusted("<@U123> *URGENT* https://evil.example"), " & more"];

  it("escapes Slack's control characters, and swaps mrkdwn's formatting characters for look-alikes", () => {
    expect(render(wording, "slack-mrkdwn")).toBe(
      "Seen from &lt;＠U123&gt; ⁎URGENT⁎ hxxps://evil[.]example &amp; more",
    );
    expect(render(untrusted("_a_ ~b~ `c` :rotating_light: @here"), "slack-mrkdwn")).toBe(
      "＿a＿ ⁓b⁓ ‵c‵ ：rotating＿light： ＠here",
    );
  });

  it("escapes Slack's control characters in plain_text, where nothing else is parsed", () => {
    expect(render(wording, "slack-plain")).toBe(
      "Seen from &lt;@U123&gt; *URGENT* hxxps://evil[.]example &amp; more",
    );
  });

  it("escapes HTML, for the relay's words and the values alike", () => {
    expect(render(["<b>", untrusted('"><script>')], "email-html")).toBe("&lt;b&gt;&quot;&gt;&lt;script&gt;");
  });

  it("leaves plain-text channels unescaped, the values inert", () => {
    for (const channel of ["email-subject", "email-text", "sms"] as const) {
      expect(render(wording, channel)).toBe("Seen from <@U123> *URGENT* hxxps://evil[.]example & more");
    }
    expect(HUMAN_CHANNELS).toHaveLength(6);
  });

  it("gives machine channels the values exactly", () => {
    expect(plain(wording)).toBe("Seen from <@U123> *URGENT* https://evil.example & more");
  });

  it("treats a value that shows nothing once inert as missing", () => {
    expect(shown("\u200b\u202e \u0000")).toBeNull();
    expect(shown(null)).toBeNull();
    expect(shown("shop-api")).toEqual(untrusted("shop-api"));
  });
});

describe("JSON for machine channels", () => {
  it("escapes C1 controls, format characters and line separators, and parses back to the exact original", () => {
    const value = { title: "a\u0085b\u202ec\u200bd\u2028e\u{e0041}f\u001b[2J<!channel>" };
    const json = machineJson(value);

    expect(json).toBe('{"title":"a\\u0085b\\u202ec\\u200bd\\u2028e\\udb40\\udc41f\\u001b[2J<!channel>"}');
    expect(JSON.parse(json)).toEqual(value);
  });
});
