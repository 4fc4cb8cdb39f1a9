/**
 * The synthesized stack as the bundle tier reads it: the CloudFormation template and the asset
 * directories of cdk.out, and CloudFormation's intrinsic functions resolved against the physical
 * names and ARNs the tier created (test/bundles/deployment.ts). Nothing here knows the relay's source
 * layout: functions, roles, queues and secrets are found through the template alone.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, Json>;
  Metadata?: Record<string, Json>;
  DependsOn?: string | string[];
}

export interface Template {
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, { Value: Json; Description?: string }>;
}

/** The template and assets of one cdk.out stack. */
export interface SynthesizedStack {
  /** The stack's name (`SqreenRelay`): CloudFormation's `AWS::StackName`. */
  stackName: string;
  template: Template;
  /** Directory of the cdk.out the stack was read from. */
  outDir: string;
  /** The local directory of a Lambda code asset, from its `Code.S3Key`. */
  assetDirectory(s3Key: string): string;
}

interface AssetManifest {
  files?: Record<
    string,
    { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
  >;
}

/** Reads `<stackName>.template.json` and its asset manifest from `outDir`. */
export function readSynthesizedStack(outDir: string, stackName: string): SynthesizedStack {
  const template = JSON.parse(
    readFileSync(path.join(outDir, `${stackName}.template.json`), "utf8"),
  ) as Template;
  const assets = JSON.parse(
    readFileSync(path.join(outDir, `${stackName}.assets.json`), "utf8"),
  ) as AssetManifest;
  const byObjectKey = new Map<string, string>();
  for (const file of Object.values(assets.files ?? {})) {
    for (const destination of Object.values(file.destinations)) {
      byObjectKey.set(destination.objectKey, path.join(outDir, file.source.path));
    }
  }
  return {
    stackName,
    template,
    outDir,
    assetDirectory(s3Key) {
      const directory = byObjectKey.get(s3Key);
      if (!directory) throw new Error(`No asset in ${outDir} for S3 key ${s3Key}`);
      return directory;
    },
  };
}

/** The resources of one type, as `[logicalId, resource]` pairs. */
export function resourcesOfType(template: Template, type: string): [string, TemplateResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** The resource `logicalId`, or throws naming it. */
export function resource(template: Template, logicalId: string): TemplateResource {
  const found = template.Resources[logicalId];
  if (!found) throw new Error(`The template has no resource ${logicalId}`);
  return found;
}

/** What a created resource resolves to: `Ref` and each `Fn::GetAtt` attribute. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

/** The pseudo parameters the tier deploys with: moto's account, the tier's region. */
export interface Deployment {
  region: string;
  accountId: string;
  stackName: string;
  partition?: string;
  urlSuffix?: string;
}

/**
 * Resolves `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split` and the pseudo
 * parameters against `physical`. A reference to a resource the tier did not create, or an
 * intrinsic it does not know, throws: a value guessed would make the tier test something else.
 */
export class Resolver {
  constructor(
    private readonly deployment: Deployment,
    private readonly physical: Map<string, PhysicalResource>,
  ) {}

  private pseudo(name: string): string | undefined {
    switch (name) {
      case "AWS::Region":
        return this.deployment.region;
      case "AWS::AccountId":
        return this.deployment.accountId;
      case "AWS::Partition":
        return this.deployment.partition ?? "aws";
      case "AWS::StackName":
        return this.deployment.stackName;
      case "AWS::URLSuffix":
        return this.deployment.urlSuffix ?? "amazonaws.com";
      case "AWS::StackId":
        return `arn:aws:cloudformation:${this.deployment.region}:${this.deployment.accountId}:stack/${this.deployment.stackName}/bundles`;
      default:
        return undefined;
    }
  }

  /** True when `value` resolves with what is created so far. */
  canResolve(value: Json): boolean {
    try {
      this.resolve(value);
      return true;
    } catch {
      return false;
    }
  }

  ref(logicalId: string): string {
    const pseudo = this.pseudo(logicalId);
    if (pseudo !== undefined) return pseudo;
    const found = this.physical.get(logicalId);
    if (!found) throw new Error(`Ref ${logicalId}: the tier created no such resource`);
    return found.ref;
  }

  getAtt(logicalId: string, attribute: string): string {
    const found = this.physical.get(logicalId);
    if (!found) throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: the tier created no such resource`);
    const value = found.attributes[attribute];
    if (value === undefined)
      throw new Error(`Fn::GetAtt ${logicalId}.${attribute}: attribute unknown to the tier`);
    return value;
  }

  /** `value` with every intrinsic function replaced by its string. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== "object") return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = value[key] as Json;
      switch (key) {
        case "Ref":
          return this.ref(argument as string);
        case "Fn::GetAtt": {
          const [logicalId, attribute] = Array.isArray(argument)
            ? (argument as [string, string])
            : ((argument as string).split(".") as [string, string]);
          return this.getAtt(logicalId, attribute);
        }
        case "Fn::Join": {
          const [separator, parts] = argument as [string, Json[]];
          const resolved = this.resolve(parts as Json);
          return (resolved as Json[]).map((part) => String(part)).join(separator);
        }
        case "Fn::Sub":
          return this.sub(argument);
        case "Fn::Select": {
          const [index, list] = argument as [Json, Json];
          const items = this.resolve(list) as Json[];
          return items[Number(this.resolve(index))] ?? null;
        }
        case "Fn::Split": {
          const [separator, text] = argument as [string, Json];
          return String(this.resolve(text)).split(separator);
        }
        default:
          if (key.startsWith("Fn::") || key === "Condition") {
            throw new Error(
              `The bundle tier cannot resolve ${key} (${JSON.stringify(argument).slice(0, 120)})`,
            );
          }
      }
    }
    return Object.fromEntries(Object.entries(value).map(([name, member]) => [name, this.resolve(member)]));
  }

  /** A resolved value that must be a string. */
  string(value: Json): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== "string") throw new Error(`Expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private sub(argument: Json): string {
    const [text, variables] = Array.isArray(argument)
      ? (argument as [string, Record<string, Json>])
      : [argument as string, {} as Record<string, Json>];
    return text.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(this.resolve(variables[name] as Json));
      const pseudo = this.pseudo(name);
      if (pseudo !== undefined) return pseudo;
      const dot = name.indexOf(".");
      return dot > 0 ? this.getAtt(name.slice(0, dot), name.slice(dot + 1)) : this.ref(name);
    });
  }
}
