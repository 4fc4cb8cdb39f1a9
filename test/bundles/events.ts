/**
 * The events AWS services hand the functions, built from the template and from what moto holds:
 * - API Gateway HTTP API: a request is matched against the template's routes as API Gateway does
 *   (`METHOD /path`, then `ANY /path`, then `$default`); no route means API Gateway's own 404
 *   `{"message":"Not Found"}` and no invocation. A matched route's integration gets a payload
 *   format 2.0 event carrying the route key; its answer is mapped back as API Gateway maps it.
 * - SQS: the event source mapping's batch of received messages.
 * - SNS: the one-record event a subscription delivers, from the envelope its capture queue got.
 */
import { randomUUID } from "node:crypto";
import type { DeployedStack } from "./deployment.js";
import { type Json, resourcesOfType } from "./template.js";

export interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
  /**
   * Hand the body to the function base64-encoded (`isBase64Encoded: true`), as API Gateway does
   * for a body it treats as binary; plain text otherwise.
   */
  base64?: boolean;
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface MatchedRoute {
  routeKey: string;
  /** The function the route's AWS_PROXY integration invokes. */
  functionLogicalId: string;
  payloadFormatVersion: string;
}

/** API Gateway's answer when no route matches. */
export const API_GATEWAY_NOT_FOUND: HttpResponse = {
  statusCode: 404,
  headers: { "content-type": "application/json" },
  body: '{"message":"Not Found"}',
};

/** The stage's name, and the path prefix it adds (none for `$default`). */
export function apiStage(deployed: DeployedStack): string {
  const stages = resourcesOfType(deployed.stack.template, "AWS::ApiGatewayV2::Stage");
  const name = stages[0]?.[1].Properties?.StageName;
  return typeof name === "string" ? name : "$default";
}

/** The route API Gateway picks for `method` and `path`, from the template's routes. */
export function matchRoute(deployed: DeployedStack, method: string, path: string): MatchedRoute | undefined {
  const { template } = deployed.stack;
  const routes = resourcesOfType(template, "AWS::ApiGatewayV2::Route").map(
    ([, route]) => route.Properties ?? {},
  );
  const byKey = new Map(routes.map((route) => [String(route.RouteKey), route]));
  const pathMatches = (routePath: string) => {
    // `{name}` matches one segment, `{name+}` the rest of the path.
    const pattern = routePath
      .split("/")
      .map((segment) =>
        /^\{[^}]+\+\}$/.test(segment)
          ? ".+"
          : /^\{[^}]+\}$/.test(segment)
            ? "[^/]+"
            : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("/");
    return new RegExp(`^${pattern}$`).test(path);
  };
  const exact = byKey.get(`${method.toUpperCase()} ${path}`) ?? byKey.get(`ANY ${path}`);
  const candidates = exact
    ? [exact]
    : routes.filter((route) => {
        const [routeMethod, routePath] = String(route.RouteKey).split(" ");
        return (
          routePath &&
          (routeMethod === "ANY" || routeMethod === method.toUpperCase()) &&
          pathMatches(routePath)
        );
      });
  const route = candidates[0] ?? byKey.get("$default");
  if (!route) return undefined;
  const target = deployed.resolver.string(route.Target as Json);
  const integrationId = target.replace(/^integrations\//, "");
  const integration = resourcesOfType(template, "AWS::ApiGatewayV2::Integration").find(
    ([logicalId]) => deployed.resolver.ref(logicalId) === integrationId,
  );
  if (!integration) throw new Error(`Route ${String(route.RouteKey)} targets no integration of the template`);
  const properties = integration[1].Properties ?? {};
  if (properties.IntegrationType !== "AWS_PROXY") {
    throw new Error(`Integration ${integration[0]} is ${String(properties.IntegrationType)}, not AWS_PROXY`);
  }
  const functionLogicalId = (properties.IntegrationUri as { "Fn::GetAtt"?: [string, string] })[
    "Fn::GetAtt"
  ]?.[0];
  if (!functionLogicalId)
    throw new Error(`Integration ${integration[0]} does not invoke a function of the template`);
  return {
    routeKey: String(route.RouteKey),
    functionLogicalId,
    payloadFormatVersion: String(properties.PayloadFormatVersion ?? "1.0"),
  };
}

/** The payload format 2.0 event API Gateway builds for `request` on `route`. */
export function httpApiEvent(
  deployed: DeployedStack,
  request: HttpRequest,
  route: MatchedRoute,
): Record<string, unknown> {
  if (route.payloadFormatVersion !== "2.0")
    throw new Error(`Payload format ${route.payloadFormatVersion} is not modelled`);
  const apiId = [...resourcesOfType(deployed.stack.template, "AWS::ApiGatewayV2::Api")].map(([id]) =>
    deployed.resolver.ref(id),
  )[0];
  const { region, accountId } = deployed.deployment;
  const headers = Object.fromEntries(
    Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const body = request.body ? Buffer.from(request.body) : undefined;
  if (body) headers["content-length"] = String(body.byteLength);
  const now = Date.now();
  const [pathOnly, query = ""] = request.path.split("?");
  return {
    version: "2.0",
    routeKey: route.routeKey,
    rawPath: pathOnly,
    rawQueryString: query,
    headers,
    requestContext: {
      accountId,
      apiId,
      domainName: `${apiId}.execute-api.${region}.amazonaws.com`,
      domainPrefix: apiId,
      http: {
        method: request.method.toUpperCase(),
        path: pathOnly,
        protocol: "HTTP/1.1",
        sourceIp: "192.0.2.10",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: `${randomUUID().slice(0, 8)}=`,
      routeKey: route.routeKey,
      stage: apiStage(deployed),
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body
      ? {
          body: request.base64 ? body.toString("base64") : body.toString("utf8"),
          isBase64Encoded: request.base64 === true,
        }
      : { isBase64Encoded: false }),
  };
}

/**
 * What API Gateway answers for a payload 2.0 function result: a result with `statusCode` is used
 * as is; anything else is taken for a JSON body with status 200.
 */
export function httpApiResponse(payload: unknown): HttpResponse {
  if (payload && typeof payload === "object" && "statusCode" in payload) {
    const result = payload as {
      statusCode: number;
      headers?: Record<string, string>;
      body?: string;
      isBase64Encoded?: boolean;
    };
    const body = result.body ?? "";
    return {
      statusCode: result.statusCode,
      headers: Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
      ),
      body: result.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body,
    };
  }
  return { statusCode: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(payload) };
}

export { type SnsEnvelope, snsEvent, sqsEvent } from "../aws-events.js";
