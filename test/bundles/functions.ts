/**
 * The template's functions, as Lambda would start them: the bundle (`Code.S3Key` → the cdk.out
 * asset), `Handler`, `Timeout`, `MemorySize`, the template's `Environment.Variables` resolved, and
 * the variables Lambda itself sets for nodejs24.x
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
 *
 * Where the tier's environment differs from Lambda's, on purpose:
 * - AWS_ENDPOINT_URL points every SDK client at the tier's recording endpoint (moto behind it);
 *   the credentials are the role session's stand-in, distinct per function.
 * - AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE are /dev/null so a developer's ~/.aws cannot
 *   leak in (Lambda has none).
 * - NODE_PATH is left unset: Lambda's includes /var/runtime/node_modules (the runtime's AWS SDK),
 *   which the bundles must not rely on (they bundle theirs), so a bundle that did fails here.
 * - The function's role is known from the template; what it may do is checked by iam/iam-check.ts.
 */
import type { DeployedStack } from "./deployment.js";
import type { Credentials } from "./iam/recorder.js";
import type { FunctionDefinition } from "./lambda-runtime.js";
import { type Json, resourcesOfType } from "./template.js";

/** Variables Lambda reserves: a template that sets one is refused at deploy time. */
const RESERVED = new Set([
  "_HANDLER",
  "_X_AMZN_TRACE_ID",
  "AWS_DEFAULT_REGION",
  "AWS_REGION",
  "AWS_EXECUTION_ENV",
  "AWS_LAMBDA_FUNCTION_NAME",
  "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
  "AWS_LAMBDA_FUNCTION_VERSION",
  "AWS_LAMBDA_INITIALIZATION_TYPE",
  "AWS_LAMBDA_LOG_GROUP_NAME",
  "AWS_LAMBDA_LOG_STREAM_NAME",
  "AWS_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_LAMBDA_RUNTIME_API",
  "LAMBDA_TASK_ROOT",
  "LAMBDA_RUNTIME_DIR",
]);

export interface StackFunction {
  logicalId: string;
  roleLogicalId: string;
  roleArn: string;
  /** True when the template turns active X-Ray tracing on. */
  tracing: boolean;
  /** The template's own variables, resolved (what the function's configuration shows). */
  templateEnvironment: Record<string, string>;
  /** The definition minus credentials and endpoint, which the harness adds per principal. */
  definition(endpoint: string, credentials: Credentials, nodeBinDirectory: string): FunctionDefinition;
}

function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, "/");
  return `${day}/[$LATEST]${Math.random().toString(16).slice(2).padEnd(32, "0").slice(0, 32)}`;
}

/** Every AWS::Lambda::Function of the deployed template. */
export function stackFunctions(deployed: DeployedStack): StackFunction[] {
  const { stack, resolver, deployment } = deployed;
  return resourcesOfType(stack.template, "AWS::Lambda::Function").map(([logicalId, resource]) => {
    const p = resource.Properties ?? {};
    if (p.Runtime !== "nodejs24.x")
      throw new Error(`${logicalId} runs ${String(p.Runtime)}, the tier runs nodejs24.x`);
    if (p.PackageType === "Image") throw new Error(`${logicalId} is an image function`);
    const code = p.Code as { S3Key?: string };
    if (!code?.S3Key) throw new Error(`${logicalId} has no Code.S3Key (inline code is not a bundle)`);
    const taskRoot = stack.assetDirectory(code.S3Key);
    const role = p.Role as { "Fn::GetAtt"?: [string, string] };
    const roleLogicalId = role["Fn::GetAtt"]?.[0];
    if (!roleLogicalId) throw new Error(`${logicalId}: its Role is not a role of the template`);
    const variables = ((p.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ??
      {}) as Record<string, Json>;
    const templateEnvironment = Object.fromEntries(
      Object.entries(variables).map(([name, value]) => {
        if (RESERVED.has(name))
          throw new Error(`${logicalId} sets ${name}, which Lambda reserves: the deploy would fail`);
        return [name, resolver.string(value)];
      }),
    );
    const name = resolver.ref(logicalId);
    const arn = resolver.getAtt(logicalId, "Arn");
    const logging = p.LoggingConfig as
      | { LogGroup?: Json; LogFormat?: string; ApplicationLogLevel?: string }
      | undefined;
    const logGroupName = logging?.LogGroup ? resolver.string(logging.LogGroup) : `/aws/lambda/${name}`;
    const tracing = (p.TracingConfig as { Mode?: string } | undefined)?.Mode === "Active";
    const handler = String(p.Handler ?? "index.handler");
    const timeoutSeconds = Number(p.Timeout ?? 3);
    const memoryMb = Number(p.MemorySize ?? 128);
    return {
      logicalId,
      roleLogicalId,
      roleArn: resolver.getAtt(roleLogicalId, "Arn"),
      tracing,
      templateEnvironment,
      definition(endpoint, credentials, nodeBinDirectory) {
        return {
          name,
          arn,
          handler,
          taskRoot,
          timeoutSeconds,
          memoryMb,
          logGroupName,
          environment: {
            ...templateEnvironment,
            _HANDLER: handler,
            AWS_REGION: deployment.region,
            AWS_DEFAULT_REGION: deployment.region,
            AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
            AWS_LAMBDA_FUNCTION_NAME: name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
            AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
            AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
            AWS_LAMBDA_LOG_GROUP_NAME: logGroupName,
            AWS_LAMBDA_LOG_STREAM_NAME: logStreamName(),
            ...(logging?.LogFormat === "JSON"
              ? { AWS_LAMBDA_LOG_FORMAT: "JSON", AWS_LAMBDA_LOG_LEVEL: logging.ApplicationLogLevel ?? "INFO" }
              : {}),
            ...(tracing
              ? {
                  AWS_XRAY_CONTEXT_MISSING: "LOG_ERROR",
                  AWS_XRAY_DAEMON_ADDRESS: "169.254.79.129:2000",
                  _AWS_XRAY_DAEMON_ADDRESS: "169.254.79.129",
                  _AWS_XRAY_DAEMON_PORT: "2000",
                }
              : {}),
            ...credentials,
            LAMBDA_TASK_ROOT: taskRoot,
            TZ: ":UTC",
            LANG: "en_US.UTF-8",
            PATH: `${nodeBinDirectory}:/usr/local/bin:/usr/bin:/bin`,
            AWS_ENDPOINT_URL: endpoint,
            AWS_CONFIG_FILE: "/dev/null",
            AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          },
        };
      },
    };
  });
}

/** The relay's roles in the template, found by how the template wires each function. */
export interface RelayFunctions {
  /** The function API Gateway integrates. */
  ingest: StackFunction;
  /** The function with an SQS event source mapping that is no delivery function. */
  route: StackFunction;
  /** The function each backend's `<Backend>FunctionName` output names. */
  deliver: Record<string, StackFunction>;
}

export function relayFunctions(deployed: DeployedStack, functions: StackFunction[]): RelayFunctions {
  const { template } = deployed.stack;
  const byLogicalId = new Map(functions.map((fn) => [fn.logicalId, fn]));
  const only = (ids: string[], what: string): StackFunction => {
    const unique = [...new Set(ids)];
    if (unique.length !== 1)
      throw new Error(`Expected one ${what}, found ${unique.length}: ${unique.join(", ")}`);
    const found = byLogicalId.get(unique[0] as string);
    if (!found) throw new Error(`${what} ${unique[0]} is not a function of the template`);
    return found;
  };
  const getAttTarget = (value: Json | undefined) =>
    (value as { "Fn::GetAtt"?: [string, string] })?.["Fn::GetAtt"]?.[0];
  const ingest = only(
    resourcesOfType(template, "AWS::ApiGatewayV2::Integration")
      .map(([, integration]) => getAttTarget(integration.Properties?.IntegrationUri))
      .filter((id): id is string => id !== undefined),
    "API Gateway integration target",
  );
  const deliver: Record<string, StackFunction> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    const match = /^([A-Z][a-z]+)FunctionName$/.exec(name);
    const ref = (output.Value as { Ref?: string })?.Ref;
    if (!match || !ref) continue;
    const fn = byLogicalId.get(ref);
    if (fn) deliver[(match[1] as string).toLowerCase()] = fn;
  }
  // Each human backend with digests is fed by its own queue too: route is the one other function.
  const deliverIds = new Set(Object.values(deliver).map((fn) => fn.logicalId));
  const route = only(
    resourcesOfType(template, "AWS::Lambda::EventSourceMapping")
      .map(([, mapping]) => (mapping.Properties?.FunctionName as { Ref?: string })?.Ref ?? "")
      .filter((id) => !deliverIds.has(id)),
    "function with an SQS event source besides the delivery functions",
  );
  return { ingest, route, deliver };
}
