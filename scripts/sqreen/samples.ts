/**
 * The simulator's built-in notifications, one per type and format Sqreen sent, as objects that
 * `pythonJsonDumps` turns into the exact bytes of the shared signed samples
 * (`../shared/sqreen-samples/<name>.json`), plus a generator of large batches with distinct ids.
 */
import { randomBytes } from "node:crypto";
import { sqreenWireBytes, type WireValue } from "./wire.js";

type WireObject = { [key: string]: WireValue };

const V1_SECURITY_EVENT: WireObject = {
  sqreen_payload_type: "security_event",
  application_id: "64b7f0c2e4a1d9001f3c5a88",
  application_name: "billing",
  environment: "production",
  id: "651a90aa9f2b4d0012ab3600",
  event_category: "authentication",
  event_kind: "auth_tor_tentative",
  risk: 50,
  date_occurred: "2026-10-01T22:10:09.120000+00:00",
  humanized_description: "Connection to bob@example.com from TOR (203.0.113.9)",
  url: "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a88/events/651a90aa9f2b4d0012ab3600",
  application_account_account_keys: [{ name: "email", value: "bob@example.com" }],
  ips: [
    {
      address: "203.0.113.9",
      is_tor: true,
      hostname: null,
      geo: { code: "ROU", point: [21.28, 46.05] },
      date_resolved: "2026-10-02T08:14:03.512000+00:00",
    },
  ],
};

const V1_PULSE: WireObject = {
  sqreen_payload_type: "pulse",
  id: "651a91bb9f2b4d0012ab3700",
  application_id: "64b7f0c2e4a1d9001f3c5a77",
  application_name: "shop-api",
  environment: "production",
  pulse_genre: "account_takeover",
  pulse_category: null,
  humanized_title: "Massive account takeover attempts on carol@example.com",
  humanized_geos: "Lyon, France",
  humanized_accounts: "carol@example.com",
  date_started: "2026-10-01T21:47:00.090825+00:00",
  date_ended: null,
  blocked: true,
  url: "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/pulses/651a91bb9f2b4d0012ab3700",
  incidents_count: 3,
  user_agents_count: 2,
  accounts_count: 1,
  ip_addresses_count: 12,
};

const V1_SECURITY_RESPONSE: WireObject = {
  sqreen_payload_type: "security_response",
  id: null,
  date_created: "2026-10-01T21:47:00.097178+00:00",
  properties: { ips: [{ ip_cidr: "192.0.2.0/24" }], user_identifiers: ["carol@example.com"] },
  application: { name: "shop-api", id: "64b7f0c2e4a1d9001f3c5a77", environment: "production" },
  playbook: { id: "651a91bb9f2b4d0012ab3701", name: "Lock targeted accounts" },
};

const V1_TEST: WireObject = {
  sqreen_payload_type: "test",
  application_name: "billing",
  environment: "development",
  id: "7c2d9e4f1a3b45c6d7e8f9a0b1c2d3e4",
  event_category: "test",
  event_kind: "test_kind",
  risk: 42,
  date_occurred: "2026-10-01T20:00:00.000100+00:00",
  humanized_description: "",
  url: "http://test",
  ips: [{ address: "42.42.42.42", date_resolved: "2026-10-01T20:00:00.000200+00:00" }],
};

const V2_SECURITY_EVENT: WireObject = {
  message_id: null,
  api_version: "2",
  date_created: "2026-10-02T08:15:00.104233+00:00",
  message_type: "security_event",
  retry_count: 0,
  message: {
    risk_coefficient: 75,
    event_category: "http_error",
    event_kind: "waf",
    application_id: "64b7f0c2e4a1d9001f3c5a77",
    application_name: "shop-api",
    environment: "production",
    date_occurred: "2026-10-02T08:14:02.918000+00:00",
    event_id: "651a7c3e9f2b4d0012ab34cd",
    event_url: "https://my.sqreen.com/application/64b7f0c2e4a1d9001f3c5a77/events/651a7c3e9f2b4d0012ab34cd",
    humanized_description: "Attack tentative from 198.51.100.23",
    ips: [
      {
        address: "198.51.100.23",
        is_tor: false,
        hostname: null,
        geo: { code: "DEU", point: [13.4, 52.52], city: "Berlin" },
        date_resolved: "2026-10-02T08:14:03.512000+00:00",
      },
    ],
  },
};

const V2_ACCOUNT_TAKEOVER: WireObject = {
  message_id: null,
  api_version: "2",
  date_created: "2026-10-02T10:30:00.551000+00:00",
  message_type: "account_takeover",
  retry_count: 1,
  message: {
    incident_thread: "track_collection_5e0c2b7a91d84f36a2c4e6b8d0f1a3c5",
    incident_status: "created",
    date_started: "2026-10-02T10:02:41.300000+00:00",
    date_last_updated: "2026-10-02T10:29:12.004000+00:00",
    application_id: "64b7f0c2e4a1d9001f3c5a77",
    new_related_ips: [
      {
        address: "203.0.113.77",
        is_tor: true,
        hostname: null,
        geo: { code: "NLD", point: [4.9, 52.37], city: "Amsterdam" },
        date_resolved: "2026-10-02T08:14:03.512000+00:00",
        vpn: false,
        proxy: false,
        datacenter: true,
        critical: true,
        tags: ["tor"],
        metadata: { version: 4, private: false, global: true, network_type: "public" },
      },
    ],
  },
};

const V2_SECURITY_RESPONSE: WireObject = {
  message_id: null,
  api_version: "2",
  date_created: "2026-10-02T10:31:00.010000+00:00",
  message_type: "security_response",
  retry_count: 0,
  message: {
    properties: { ips: [{ ip_cidr: "203.0.113.77" }], user_identifiers: ["alice@example.com"] },
    application: { name: "shop-api", id: "64b7f0c2e4a1d9001f3c5a77", environment: "production" },
    playbook: { id: "651a80019f2b4d0012ab3500", name: "Block credential stuffing" },
  },
};

const V2_TEST: WireObject = {
  message_id: null,
  api_version: "2",
  date_created: "2026-10-02T09:00:00.200100+00:00",
  message_type: "test",
  retry_count: 0,
  message: {
    application_name: "shop-api",
    environment: "production",
    id: "0f4e2a9c7b1d43e8a6c5b2d1e0f9a8b7",
    event_category: "test",
    event_kind: "test_kind",
    risk: 42,
    date_occurred: "2026-10-02T09:00:00.200150+00:00",
    humanized_description: "",
    url: "http://test",
    ips: [{ address: "42.42.42.42", date_resolved: "2026-10-02T09:00:00.200170+00:00" }],
  },
};

const V2_UNKNOWN_TYPE: WireObject = {
  message_id: null,
  api_version: "2",
  date_created: "2026-10-02T11:00:00.000001+00:00",
  message_type: "custom_detection",
  retry_count: 0,
  message: {
    application_id: "64b7f0c2e4a1d9001f3c5a88",
    environment: "staging",
    humanized_description: "Custom rule matched",
  },
};

export interface BuiltInSample {
  /** The name `--sample` takes, also the shared sample's file name without `.json`. */
  name: string;
  description: string;
  notifications: WireObject[];
}

/** Every built-in sample, v1 then v2, in the order `samples` lists them. */
export const BUILT_IN_SAMPLES: readonly BuiltInSample[] = [
  {
    name: "v1-security-event",
    description: "v1 security_event: TOR login on billing (risk 50)",
    notifications: [V1_SECURITY_EVENT],
  },
  {
    name: "v1-pulse",
    description: "v1 pulse: account takeover incident on shop-api",
    notifications: [V1_PULSE],
  },
  {
    name: "v1-security-response",
    description: "v1 security_response: playbook locked targeted accounts on shop-api",
    notifications: [V1_SECURITY_RESPONSE],
  },
  {
    name: "v1-test",
    description: "v1 test: 'test your configuration' (no application id)",
    notifications: [V1_TEST],
  },
  {
    name: "v2-security-event",
    description: "v2 security_event: WAF attack from 198.51.100.23 on shop-api (risk 75)",
    notifications: [V2_SECURITY_EVENT],
  },
  {
    name: "v2-incident-account-takeover",
    description: "v2 account_takeover incident, retry_count 1 (a redelivery)",
    notifications: [V2_ACCOUNT_TAKEOVER],
  },
  {
    name: "v2-security-response",
    description: "v2 security_response: playbook blocked credential stuffing",
    notifications: [V2_SECURITY_RESPONSE],
  },
  {
    name: "v2-test",
    description: "v2 test: 'test your configuration' (no application id)",
    notifications: [V2_TEST],
  },
  {
    name: "v2-unknown-type",
    description: "v2 custom_detection: a type the relay does not know, routed generically",
    notifications: [V2_UNKNOWN_TYPE],
  },
  {
    name: "v2-mixed-batch",
    description: "v2 batch of 4: security_event, account_takeover, security_response, unknown type",
    notifications: [V2_SECURITY_EVENT, V2_ACCOUNT_TAKEOVER, V2_SECURITY_RESPONSE, V2_UNKNOWN_TYPE],
  },
];

/** The built-in sample called `name`, or undefined. */
export function findSample(name: string): BuiltInSample | undefined {
  return BUILT_IN_SAMPLES.find((sample) => sample.name === name);
}

/** The request body Sqreen sends for a sample: its exact wire bytes. */
export function sampleBody(sample: BuiltInSample): Buffer {
  return sqreenWireBytes(sample.notifications);
}

/** Sqreen sends at most this many notifications in one request. */
export const MAX_BATCH = 1000;

/** Application id the generated notifications carry: not the relay's own (see SIGNATURES.json). */
const GENERATED_APPLICATION_ID = "64b7f0c2e4a1d9001f3c5a88";
const RISKS = [10, 30, 50, 75, 95] as const;

/** `2026-10-02T08:15:00.104000+00:00`: Python's `isoformat()` of an aware UTC datetime. */
export function pythonIsoformat(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000+00:00");
}

/** A fresh 10-hex-character prefix: ids of different runs never collide. */
export function newRunId(): string {
  return randomBytes(5).toString("hex");
}

export interface GenerateOptions {
  /** Prefix every generated id starts with (10 hex characters); see `newRunId`. */
  runId: string;
  /** Index of the first notification, so consecutive batches of one run get distinct ids. */
  firstIndex?: number;
  /** Time the notifications claim; defaults to now. */
  now?: Date;
}

/**
 * `count` notifications (1 to 1000) cycling through v2 security_event, v2 account_takeover, v1
 * security_event, v1 pulse and v2 test, with risks from 10 to 95, each with its own stable
 * identity (`event_id`, `incident_thread`, `id`) built from `runId` and its index.
 */
export function generateNotifications(count: number, options: GenerateOptions): WireObject[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH) {
    throw new RangeError(`A batch holds 1 to ${MAX_BATCH} notifications, not ${count}`);
  }
  const first = options.firstIndex ?? 0;
  const date = pythonIsoformat(options.now ?? new Date());
  return Array.from({ length: count }, (_, offset) => {
    const index = first + offset;
    const id = `${options.runId}${index.toString(16).padStart(14, "0")}`;
    const risk = RISKS[index % RISKS.length] as number;
    switch (index % 5) {
      case 0:
        return {
          ...V2_SECURITY_EVENT,
          date_created: date,
          message: {
            ...(V2_SECURITY_EVENT.message as WireObject),
            risk_coefficient: risk,
            application_id: GENERATED_APPLICATION_ID,
            application_name: "billing",
            event_id: id,
            event_url: `https://my.sqreen.com/application/${GENERATED_APPLICATION_ID}/events/${id}`,
            date_occurred: date,
          },
        };
      case 1:
        return {
          ...V2_ACCOUNT_TAKEOVER,
          date_created: date,
          retry_count: 0,
          message: {
            ...(V2_ACCOUNT_TAKEOVER.message as WireObject),
            incident_thread: `track_collection_${id}`,
            application_id: GENERATED_APPLICATION_ID,
            date_last_updated: date,
          },
        };
      case 2:
        return { ...V1_SECURITY_EVENT, id, risk, date_occurred: date };
      case 3:
        return {
          ...V1_PULSE,
          id,
          application_id: GENERATED_APPLICATION_ID,
          application_name: "billing",
          url: `https://my.sqreen.com/application/${GENERATED_APPLICATION_ID}/pulses/${id}`,
          date_started: date,
        };
      default:
        return {
          ...V2_TEST,
          date_created: date,
          message: { ...(V2_TEST.message as WireObject), id, risk, date_occurred: date },
        };
    }
  });
}

/** One line per sample for `samples`. */
export function describeSamples(): string {
  const width = Math.max(...BUILT_IN_SAMPLES.map((sample) => sample.name.length));
  return BUILT_IN_SAMPLES.map((sample) => `${sample.name.padEnd(width)}  ${sample.description}`).join("\n");
}
