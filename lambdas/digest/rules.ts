/**
 * The pure rules of digests (no I/O): which window an alert joins at one destination, what the
 * window keeps of it, and what a closed window's entries add up to. The renderers
 * (lambdas/digest/render.ts) show that aggregate; the stores and queues (lambdas/digest/seams.ts)
 * keep and trigger the windows.
 */
import { createHash } from "node:crypto";
import { type Alert, SEVERITIES, type Severity, severityRank } from "../contracts/alert.js";
import { safeLink } from "../delivery/format.js";
import type { DigestEntry, DigestGroup, HumanBackend } from "./seams.js";

/** What an alert without an application id is grouped under (as the topic's `application` attribute). */
export const UNKNOWN_GROUP_PART = "unknown";

/**
 * The stable key of a destination (an e-mail address, compared ignoring case; a phone number; a
 * webhook URL): the first 32 hex digits of SHA-256 over the backend and the destination, so the
 * same address on two backends is two keys and no store or log line holds the address itself.
 */
export function destinationKey(backend: HumanBackend, destination: string): string {
  const normalized = backend === "email" ? destination.toLowerCase() : destination;
  return createHash("sha256")
    .update(JSON.stringify([backend, normalized]))
    .digest("hex")
    .slice(0, 32);
}

/**
 * The window group of `alert` at one destination: the destination, the application (its id, or
 * `unknown`), the environment (or `unknown`) and the kind. Internal alerts are grouped the same
 * way: their administrators' destinations are destinations of their own.
 */
export function digestGroup(
  backend: HumanBackend,
  destination: string,
  alert: Pick<Alert, "applicationId" | "environment" | "kind">,
): DigestGroup {
  return {
    backend,
    destination: destinationKey(backend, destination),
    application: alert.applicationId ?? UNKNOWN_GROUP_PART,
    environment: alert.environment ?? UNKNOWN_GROUP_PART,
    kind: alert.kind,
  };
}

/** The one encoding of a group as a key (a JSON array: no part can make two groups share it). */
export function groupKey(group: DigestGroup): string {
  return JSON.stringify([group.backend, group.destination, group.application, group.environment, group.kind]);
}

/** Most IPs an entry keeps: the alert's first ones, which the digest counts. */
export const MAX_ENTRY_IPS = 5;

/** What a window keeps of a held alert: only what the digest shows. */
export function digestEntry(alert: Alert): DigestEntry {
  return {
    alertId: alert.id,
    severity: alert.severity,
    kind: alert.kind,
    category: alert.sourceType,
    ips: alert.ips.slice(0, MAX_ENTRY_IPS).map((ip) => ({ address: ip.address, country: ip.country })),
    at: alert.occurredAt ?? alert.receivedAt,
    link: safeLink(alert.link),
    applicationName: alert.applicationName,
    internal: alert.internal,
  };
}

/** Most categories, IPs and links a digest lists (the counts cover them all). */
export const DIGEST_TOP = { categories: 5, ips: 5, links: 3 } as const;

/** What a closed window's entries add up to. */
export interface DigestSummary {
  group: DigestGroup;
  /** Alerts this digest covers (the held ones): the `N alerts` every channel states. */
  count: number;
  /** Alerts of the window already sent alone. */
  sentAlone: number;
  highest: Severity;
  /** Non-zero counts, most severe first. */
  perSeverity: { severity: Severity; count: number }[];
  /** Most frequent first (ties by name), at most DIGEST_TOP.categories; `otherCategories` counts the rest. */
  categories: { name: string; count: number }[];
  otherCategories: number;
  /** Most frequent first, at most DIGEST_TOP.ips, each with the first country seen for it. */
  topIps: { address: string; country: string | null; count: number }[];
  /** Distinct IPs in all. */
  distinctIps: number;
  /** Earliest and latest event time (ISO 8601). */
  first: string;
  last: string;
  /** Distinct console links (http(s) only), first seen first, at most DIGEST_TOP.links. */
  links: string[];
  /** The application's name (the first entry's that has one), or null: the group names its id. */
  applicationName: string | null;
  /** Whether the alerts are internal (the relay's own application attacked). */
  internal: boolean;
  openedAt: number;
  closesAt: number;
}

/** The window's close, as `DigestWindowStore.close` returns it when closed. */
export interface ClosedWindow {
  group: DigestGroup;
  entries: readonly DigestEntry[];
  sentAlone: number;
  openedAt: number;
  closesAt: number;
}

/** The aggregate of a closed window; its entries must not be empty. */
export function summarizeWindow(window: ClosedWindow): DigestSummary {
  const { entries } = window;
  if (entries.length === 0) throw new Error("a digest needs at least one entry");
  const severities = new Map<Severity, number>();
  const categories = new Map<string, number>();
  const ips = new Map<string, { country: string | null; count: number }>();
  const links: string[] = [];
  let first = entries[0]?.at ?? "";
  let last = first;
  for (const entry of entries) {
    severities.set(entry.severity, (severities.get(entry.severity) ?? 0) + 1);
    categories.set(entry.category, (categories.get(entry.category) ?? 0) + 1);
    for (const ip of entry.ips) {
      const seen = ips.get(ip.address);
      if (seen) {
        seen.count += 1;
        seen.country ??= ip.country;
      } else ips.set(ip.address, { country: ip.country, count: 1 });
    }
    const link = entry.link === null ? null : safeLink(entry.link);
    if (link && !links.includes(link) && links.length < DIGEST_TOP.links) links.push(link);
    if (compareTimes(entry.at, first) < 0) first = entry.at;
    if (compareTimes(entry.at, last) > 0) last = entry.at;
  }
  const perSeverity = [...SEVERITIES]
    .reverse()
    .filter((severity) => (severities.get(severity) ?? 0) > 0)
    .map((severity) => ({ severity, count: severities.get(severity) ?? 0 }));
  const byCount = <T extends { count: number }>(a: T & { key: string }, b: T & { key: string }) =>
    b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const sortedCategories = [...categories].map(([key, count]) => ({ key, count })).sort(byCount);
  const sortedIps = [...ips].map(([key, value]) => ({ key, ...value })).sort(byCount);
  return {
    group: window.group,
    count: entries.length,
    sentAlone: window.sentAlone,
    highest: perSeverity.reduce<Severity>(
      (top, { severity }) => (severityRank(severity) > severityRank(top) ? severity : top),
      "info",
    ),
    perSeverity,
    categories: sortedCategories
      .slice(0, DIGEST_TOP.categories)
      .map(({ key, count }) => ({ name: key, count })),
    otherCategories: sortedCategories.slice(DIGEST_TOP.categories).reduce((sum, { count }) => sum + count, 0),
    topIps: sortedIps
      .slice(0, DIGEST_TOP.ips)
      .map(({ key, country, count }) => ({ address: key, country, count })),
    distinctIps: ips.size,
    first,
    last,
    links,
    applicationName: entries.find((entry) => entry.applicationName)?.applicationName ?? null,
    internal: entries.some((entry) => entry.internal === true),
    openedAt: window.openedAt,
    closesAt: window.closesAt,
  };
}

/** Orders ISO 8601 times by instant; a value that is no date sorts by its text, after dates. */
function compareTimes(a: string, b: string): number {
  const [x, y] = [Date.parse(a), Date.parse(b)];
  if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}
