#!/usr/bin/env node
import { createRelayApp } from "../lib/relay-app.js";
/**
 * CDK entry point (`cdk.json` runs it with tsx). Settings come from the file named by
 * `-c relayConfig=<file>`, else relay.config.json in the project root, else the defaults; an
 * invalid field stops the synth with a message naming it.
 */
import { InvalidSettingsError } from "../lib/settings.js";

try {
  const { app } = createRelayApp();
  app.synth();
} catch (error) {
  if (!(error instanceof InvalidSettingsError)) throw error;
  // A settings mistake is the user's to fix: say what is wrong, without a stack trace.
  console.error(error.message);
  process.exit(1);
}
