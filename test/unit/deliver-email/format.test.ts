import { describe, expect, it } from "vitest";
import { INTERNAL_ALERT_TAG } from "../../../lambdas/contracts/alert.js";
import {
  emailHtml,
  emailRecipients,
  emailSubject,
  emailText,
} from "../../../lambdas/deliver-email/format.js";
import { alertRef } from "../../../lambdas/delivery/format.js";
import { loadAlert } from "../delivery/helpers.js";

describe("the alert e-mail", () => {
  it("has a subject naming Sqreen, the severity, the title and where it happened", () => {
    expect(emailSubject(loadAlert("security-event"))).toBe(
      "[Sqreen][HIGH] Attack tentative from 198.51.100.23 — shop-api/production",
    );
  });

  it("starts the subject of an internal alert with the internal tag", () => {
    expect(emailSubject(loadAlert("internal"))).toBe(
      `${INTERNAL_ALERT_TAG} [Sqreen][CRITICAL] Massive account takeover attempts on the relay — sqreen-relay/production`,
    );
  });

  it("leaves the scope out of the subject when the alert has none", () => {
    expect(emailSubject(loadAlert("test"))).toBe("[Sqreen][INFO] Test notification from Sqreen");
  });

  it("has a plain-text body with the title, the text, the facts and the console link", () => {
    const text = emailText(loadAlert("security-event"));

    expect(text).toContain("Attack tentative from 198.51.100.23\n");
    expect(text).toContain("against the account of alice[.]martin@example[.]com.");
    expect(text).toMatch(/Application: +shop-api/);
    expect(text).toMatch(/IPs: +198\.51\.100\.23 \(Berlin, DEU\)/);
    expect(text).toMatch(/Occurred at: +2026-10-02 08:14 UTC\n/);
    expect(text).toMatch(/Received at: +2026-10-02 08:15 UTC\n/);
    expect(text).toMatch(new RegExp(`Alert ref: +${alertRef({ id: "651a7c3e9f2b4d0012ab34cd" })}\n`));
    expect(text).toMatch(/Alert id: +651a7c3e9f2b4d0012ab34cd/);
    expect(text).toContain(
      "Open in Sqreen: https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd",
    );
  });

  it("says how many IPs the notification named beyond those the alert carries", () => {
    const text = emailText({ ...loadAlert("security-event"), ipsOmitted: 2_850 });

    expect(text).toMatch(/IPs: +198\.51\.100\.23 \(Berlin, DEU\) and 2850 more/);
  });

  it("opens the body of an internal alert with what happened to the relay's own application", () => {
    const notice = `${INTERNAL_ALERT_TAG} Sqreen opened an incident on the relay's own application sqreen-relay (production). Administrators are notified on every channel.`;

    expect(emailText(loadAlert("internal")).startsWith(`${notice}\n`)).toBe(true);
    expect(emailHtml(loadAlert("internal"))).toContain(
      `font-weight:bold;">${notice.replace("relay's", "relay&#39;s").replace("relay's", "relay&#39;s")}</p>`,
    );
  });

  it("escapes every alert field in the HTML body, and defangs its links", () => {
    const html = emailHtml(loadAlert("hostile"));

    expect(html).not.toContain("<script>");
    expect(html).toContain("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; &lt;!channel&gt;");
    expect(html).toContain("Visit &lt;hxxps://evil[.]example|this link&gt; &amp; ping &lt;@U123&gt;.");
  });

  it("turns only http(s) console links into anchors", () => {
    expect(emailHtml(loadAlert("hostile"))).not.toContain("javascript:");
    expect(emailText(loadAlert("hostile"))).not.toContain("javascript:");
    expect(emailHtml(loadAlert("security-event"))).toContain(
      '<a href="https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd">',
    );
  });

  it("keeps line breaks of a title out of the subject", () => {
    const alert = { ...loadAlert("security-event"), title: "first\r\nBcc: victim@example.com" };

    expect(emailSubject(alert)).not.toMatch(/[\r\n]/);
  });
});

describe("the e-mail recipients", () => {
  const secret = {
    to: ["ops@example.com", "Admin@example.com"],
    adminTo: ["admin@example.com", "ciso@example.com"],
  };

  it("are the `to` addresses for a normal alert, without administrators", () => {
    expect(emailRecipients({ internal: false }, secret)).toEqual(["ops@example.com", "Admin@example.com"]);
  });

  it("add the administrators for an internal alert, each address once whatever its case", () => {
    expect(emailRecipients({ internal: true }, secret)).toEqual([
      "ops@example.com",
      "Admin@example.com",
      "ciso@example.com",
    ]);
  });
});
