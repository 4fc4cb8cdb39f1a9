/**
 * Metrics as CloudWatch gets them from a function: Embedded Metric Format lines in its logs
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
 * and the template's metric filters on its log group, and the template's alarms with the metric each watches, to tell whether an alarm can see what
 * a function emits (same namespace, name and exact dimension set, as CloudWatch matches them).
 */
import type { DeployedStack } from "./deployment.js";
import type { LogLine } from "./lambda-runtime.js";
import { type Json, resourcesOfType } from "./template.js";

export interface EmittedMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  value: number;
}

interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string }[];
}

/** Every metric the EMF lines of `logs` carry, one entry per dimension set. */
export function emittedMetrics(logs: readonly LogLine[]): EmittedMetric[] {
  const metrics: EmittedMetric[] = [];
  for (const line of logs) {
    const json = line.json;
    const directives = (json?._aws as { CloudWatchMetrics?: EmfDirective[] } | undefined)?.CloudWatchMetrics;
    if (!json || !Array.isArray(directives)) continue;
    for (const directive of directives) {
      for (const metric of directive.Metrics ?? []) {
        const raw = json[metric.Name];
        const values = (Array.isArray(raw) ? raw : [raw]).map(Number).filter(Number.isFinite);
        const value = values.reduce((sum, item) => sum + item, 0);
        for (const set of directive.Dimensions ?? [[]]) {
          metrics.push({
            namespace: directive.Namespace,
            name: metric.Name,
            dimensions: Object.fromEntries(set.map((key) => [key, String(json[key])])),
            value,
          });
        }
      }
    }
  }
  return metrics;
}

export interface WatchedMetric {
  logicalId: string;
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  /** Whether `metric` is this alarm's metric. */
  matches(metric: EmittedMetric): boolean;
}

/** The metric of each of the template's alarms (each MetricStat of a metric-math alarm). */
export function metricAlarms(deployed: DeployedStack): WatchedMetric[] {
  const watched: WatchedMetric[] = [];
  const add = (logicalId: string, namespace: Json, name: Json, dimensions: Json) => {
    const resolvedDimensions = Object.fromEntries(
      ((deployed.resolver.resolve(dimensions ?? []) as { Name: string; Value: string }[]) ?? []).map((d) => [
        d.Name,
        d.Value,
      ]),
    );
    const entry = {
      logicalId,
      namespace: deployed.resolver.string(namespace),
      name: deployed.resolver.string(name),
      dimensions: resolvedDimensions,
    };
    watched.push({
      ...entry,
      matches: (metric) =>
        metric.namespace === entry.namespace &&
        metric.name === entry.name &&
        JSON.stringify(Object.entries(metric.dimensions).sort()) ===
          JSON.stringify(Object.entries(entry.dimensions).sort()),
    });
  };
  for (const [logicalId, alarm] of resourcesOfType(deployed.stack.template, "AWS::CloudWatch::Alarm")) {
    const p = alarm.Properties ?? {};
    if (p.MetricName !== undefined) add(logicalId, p.Namespace as Json, p.MetricName, p.Dimensions as Json);
    for (const query of (p.Metrics ?? []) as {
      MetricStat?: { Metric: { Namespace: Json; MetricName: Json; Dimensions?: Json } };
    }[]) {
      const metric = query.MetricStat?.Metric;
      if (metric) add(logicalId, metric.Namespace, metric.MetricName, metric.Dimensions ?? []);
    }
  }
  return watched;
}

interface MetricFilterTransformation {
  MetricName: Json;
  MetricNamespace: Json;
  MetricValue: Json;
  Dimensions?: { Key: string; Value: string }[];
}

/**
 * Every metric the template's AWS::Logs::MetricFilter resources on `logGroupName` derive from
 * `logs`. Only the JSON pattern form the stack uses is understood (`{ $.a = "x" && $.b = "y" }`,
 * top-level string fields); any other pattern throws, so a new filter the tier cannot evaluate
 * fails it instead of passing unseen.
 */
export function metricFilterMetrics(
  deployed: DeployedStack,
  logGroupName: string,
  logs: readonly LogLine[],
): EmittedMetric[] {
  const metrics: EmittedMetric[] = [];
  for (const [logicalId, filter] of resourcesOfType(deployed.stack.template, "AWS::Logs::MetricFilter")) {
    const p = filter.Properties ?? {};
    if (deployed.resolver.string(p.LogGroupName as Json) !== logGroupName) continue;
    const matches = jsonFilterPattern(logicalId, deployed.resolver.string(p.FilterPattern as Json));
    for (const transformation of (p.MetricTransformations ?? []) as unknown as MetricFilterTransformation[]) {
      const value = Number(deployed.resolver.string(transformation.MetricValue));
      if (!Number.isFinite(value)) throw new Error(`${logicalId}: metric value must be a number`);
      for (const line of logs) {
        if (!line.json || !matches(line.json)) continue;
        // A dimension's value is a field of the line (`$.backend`), as CloudWatch reads it.
        const dimensions = Object.fromEntries(
          (transformation.Dimensions ?? []).map(({ Key, Value }) => [
            Key,
            String(line.json?.[Value.replace(/^\$\./, "")] ?? ""),
          ]),
        );
        metrics.push({
          namespace: deployed.resolver.string(transformation.MetricNamespace),
          name: deployed.resolver.string(transformation.MetricName),
          dimensions,
          value,
        });
      }
    }
  }
  return metrics;
}

const EQUALITY = /^\$\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"$/;

function jsonFilterPattern(logicalId: string, pattern: string): (json: Record<string, unknown>) => boolean {
  const body = /^\{\s*(.*?)\s*\}$/.exec(pattern.trim())?.[1];
  const terms = body?.split(/\s*&&\s*/).map((term) => EQUALITY.exec(term.replace(/^\(|\)$/g, "")));
  if (!terms || terms.some((term) => term === null)) {
    throw new Error(`${logicalId}: the bundle tier cannot evaluate the filter pattern ${pattern}`);
  }
  return (json) => terms.every((term) => json[term?.[1] ?? ""] === term?.[2]);
}

/** What CloudWatch derives from one function's log lines: its EMF metrics and metric filters. */
export function metricsFromLogs(
  deployed: DeployedStack,
  logGroupName: string,
  logs: readonly LogLine[],
): EmittedMetric[] {
  return [...emittedMetrics(logs), ...metricFilterMetrics(deployed, logGroupName, logs)];
}
