/**
 * Builds the CDK app: settings from a JSON file, the relay stack, and the cdk-nag AwsSolutions
 * checks. bin/app.ts calls this; the infrastructure tests call it too, so they test what deploys.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { RelayStack } from "./relay-stack.js";
import { loadRelaySettings, PROJECT_ROOT, type RelaySettings } from "./settings.js";

/** Name of the deployed CloudFormation stack. */
export const STACK_NAME = "SqreenRelay";
/** Context key naming the settings file: `cdk synth -c relayConfig=my.json`. */
export const RELAY_CONFIG_CONTEXT = "relayConfig";
/** The `context` of cdk.json (feature flags), so tests synthesize with the same flags as the CLI. */
export function cdkJsonContext(root: string = PROJECT_ROOT): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(root, "cdk.json"), "utf8")) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

export interface RelayAppOptions {
  /** Settings to deploy; when absent they are loaded from the `relayConfig` context or the default file. */
  readonly settings?: RelaySettings;
  /** Extra App properties (tests pass context, e.g. to skip bundling, and an outdir). */
  readonly appProps?: AppProps;
  /**
   * Register cdk-nag's AwsSolutions checks, which fail the synth on any unacknowledged finding.
   * Tests turn this off to run the checks themselves and see each finding as a test failure.
   * @default true
   */
  readonly nag?: boolean;
}

/** Creates the app with the SqreenRelay stack and the cdk-nag AwsSolutions checks registered. */
export function createRelayApp(options: RelayAppOptions = {}): { app: App; stack: RelayStack } {
  const app = new App(options.appProps);
  const settings =
    options.settings ??
    loadRelaySettings(app.node.tryGetContext(RELAY_CONFIG_CONTEXT) as string | undefined).settings;
  const stack = new RelayStack(app, STACK_NAME, {
    description: "Sqreen security webhook relay: verifies, queues and redispatches alerts to every backend",
    settings,
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
