import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { retentionDays } from "../../lib/relay-stack.js";
import {
  InvalidSettingsError,
  loadRelaySettings,
  PROJECT_ROOT,
  parseRelaySettings,
} from "../../lib/settings.js";

const fixture = (name: string): string => path.join("test/infra/fixtures", name);

describe("loading the relay settings for synth", () => {
  it("reads the file named by the relayConfig context", () => {
    const { settings, file } = loadRelaySettings(fixture("only-log-with-imports.relay.json"));
    expect(file).toBe(path.join(PROJECT_ROOT, "test/infra/fixtures/only-log-with-imports.relay.json"));
    expect(settings.api.throttlingRateLimit).toBe(7);
  });

  it("falls back to the defaults when no file is named and relay.config.json does not exist", () => {
    const emptyRoot = mkdtempSync(path.join(tmpdir(), "relay-settings-"));
    const { settings, file } = loadRelaySettings(undefined, emptyRoot);
    expect(file).toBeUndefined();
    expect(settings.backends.log.enabled).toBe(true);
    expect(settings.backends.email.enabled).toBe(false);
  });

  it("names the bad field of an invalid file", () => {
    expect(() => loadRelaySettings(fixture("invalid-severity.relay.json"))).toThrow(
      /backends\.sms\.filter\.minSeverity/,
    );
  });

  it("requires a sender when the email backend is enabled", () => {
    expect(() => loadRelaySettings(fixture("email-without-sender.relay.json"))).toThrow(
      /backends\.email\.from/,
    );
  });

  it("reads relay.config.json from the project root when no file is named, and says when it is not JSON", () => {
    // Written here rather than kept as a fixture: every JSON file of the repository must parse.
    const root = mkdtempSync(path.join(tmpdir(), "relay-settings-"));
    writeFileSync(path.join(root, "relay.config.json"), '{ "backends": { "log": { "enabled": true } },\n');
    expect(() => loadRelaySettings(undefined, root)).toThrow(/relay\.config\.json: not JSON/);
  });

  it("refuses a named file that does not exist", () => {
    expect(() => loadRelaySettings(fixture("missing.relay.json"))).toThrow(InvalidSettingsError);
  });
});

describe("the defaults of the relay settings", () => {
  it("are the README's: log on, every other backend off, SMS from high severity, 4.5 MB bodies", () => {
    expect(parseRelaySettings({})).toEqual({
      ownApplicationIds: [],
      ingest: { maxBodyBytes: 4_500_000, keyCacheSeconds: 300 },
      api: { throttlingRateLimit: 50, throttlingBurstLimit: 100 },
      local: { dataDir: ".relay", maxPendingDeliveries: 50_000, drainSeconds: 10 },
      backends: {
        log: { enabled: true, filter: { minSeverity: "info" } },
        email: {
          enabled: false,
          filter: { minSeverity: "info" },
          digest: { immediate: 3, windowSeconds: 300 },
        },
        http: { enabled: false, filter: { minSeverity: "info" }, timeoutSeconds: 10 },
        sms: {
          enabled: false,
          filter: { minSeverity: "high" },
          digest: { immediate: 1, windowSeconds: 600 },
        },
        slack: {
          enabled: false,
          filter: { minSeverity: "info" },
          digest: { immediate: 3, windowSeconds: 60 },
        },
      },
      logRetentionDays: 30,
      tracing: "off",
    });
  });

  it("are the same for a section left out and a section written empty", () => {
    const empty = { ingest: {}, api: {}, backends: { log: {}, email: {}, http: {}, sms: {}, slack: {} } };

    expect(parseRelaySettings(empty)).toEqual(parseRelaySettings({}));
  });

  it("fill in the fields a written section leaves out", () => {
    const settings = parseRelaySettings({
      backends: { sms: { enabled: true } },
      ingest: { keyCacheSeconds: 60 },
    });

    expect(settings.backends.sms).toEqual({
      enabled: true,
      filter: { minSeverity: "high" },
      digest: { immediate: 1, windowSeconds: 600 },
    });
    expect(settings.ingest).toEqual({ maxBodyBytes: 4_500_000, keyCacheSeconds: 60 });
  });

  it("take each digest field left out from the backend's default, and `false` turns digests off", () => {
    const settings = parseRelaySettings({
      backends: { slack: { digest: { windowSeconds: 120 } }, email: { digest: false } },
    });
    expect(settings.backends.slack.digest).toEqual({ immediate: 3, windowSeconds: 120 });
    expect(settings.backends.email.digest).toBe(false);
    expect(() => parseRelaySettings({ backends: { sms: { digest: { windowSeconds: 5 } } } })).toThrow(
      /backends\.sms\.digest/,
    );
  });
});

describe("the CDK app given invalid settings", () => {
  it("stops before synthesizing, with a message naming the field and no stack trace", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "bin/app.ts"], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      env: {
        ...process.env,
        // How the CDK CLI hands `-c relayConfig=...` and the output directory to the app.
        CDK_CONTEXT_JSON: JSON.stringify({ relayConfig: fixture("invalid-severity.relay.json") }),
        CDK_OUTDIR: mkdtempSync(path.join(tmpdir(), "relay-cdk-invalid-")),
      },
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("backends.sms.filter.minSeverity");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("the log retention", () => {
  it("keeps a period CloudWatch accepts as it is", () => {
    expect(retentionDays(30)).toBe(30);
  });

  it("rounds any other period up to the next one CloudWatch accepts", () => {
    expect(retentionDays(45)).toBe(60);
  });
});
