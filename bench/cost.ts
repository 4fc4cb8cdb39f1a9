/**
 * What a million notifications cost to relay to all five backends on AWS: a small, explicit model
 * over public list prices and the durations the benchmark measures. Pure: every input is an
 * argument, so the arithmetic is unit-tested and the assumptions are all in one place.
 *
 * Model (per notification, then scaled to a million):
 * - API Gateway HTTP API: one request per webhook call, metered in 512 KB increments of payload.
 * - SQS: ingest's SendMessageBatch calls (≤ 10 messages each), the event source mapping's
 *   ReceiveMessage (≤ 10 messages each) and DeleteMessageBatch calls for route; every call is billed
 *   one request per 64 KB chunk of payload. The mapping's idle long-polling is a fixed monthly
 *   cost (a few hundred thousand empty receives), not a per-notification one: left out.
 * - Lambda (arm64): one ingest invocation per webhook call, one route invocation per batch, one
 *   invocation per alert per backend, each billed its memory × wall time rounded up to the
 *   millisecond. Wall time = the CPU time measured in-process + the assumed latency of the AWS or
 *   downstream calls it waits on (Lambda bills waiting too). Warm invocations only: at a steady
 *   rate cold starts are a small share.
 * - SNS: one publish per alert (PublishBatch is billed per message, per 64 KB chunk); deliveries
 *   from SNS to Lambda are free.
 * - DynamoDB (on demand): the delivery idempotency guard writes an in-progress record and then
 *   completes it (2 writes) per delivery, and again per recipient of a fan-out (IDEMPOTENCY_WRITES).
 *   Not in the issue's list, but every delivery pays it: it is in the platform total.
 * - DynamoDB digest window writes: a slot (DIGEST_WRITES_PER_ALERT) priced like the idempotency
 *   writes in the platform total.
 * - Digests (digestCosts below, apart from the five-backend total): what the human backends'
 *   window store reads and writes per admitted alert and per window, the close messages on their
 *   own queues, and what they no longer send.
 * - DynamoDB (on demand), the delivery ledger (lambdas/ledger/dynamodb-ledger.ts): each delivery
 *   writes one entry per destination, each entry 3 write units (the table and its 2 indexes), and
 *   counts the failures recorded so far with one Query (half a read unit, eventually consistent)
 *   while it sends (LEDGER_WRITE_UNITS, LEDGER_READ_UNITS). In the platform total.
 * - Listed apart, not in the platform total: SES and SMS per-message prices (they scale with
 *   recipients, not with the relay) and CloudWatch Logs ingestion (from measured log bytes).
 * Not modelled: data transfer (in is free; out to Slack/HTTP targets is a few KB per alert), KMS
 * (SNS caches data keys), X-Ray traces beyond the free tier, free tiers themselves.
 */
import type { Backend } from "../lambdas/contracts/messages.js";
import { DEFAULT_DIGEST_POLICIES } from "../lambdas/digest/defaults.js";
import { type DigestPolicy, HUMAN_BACKENDS, MAX_QUEUE_DELAY_SECONDS } from "../lambdas/digest/seams.js";

/** us-east-1 public list prices (USD), as published on the AWS pricing pages. */
export const US_EAST_1_PRICES = {
  /** HTTP API, first 300 million requests a month; each 512 KB of a request is one more request. */
  httpApiPerMillionRequests: 1.0,
  httpApiMeteringBytes: 512 * 1024,
  /** Lambda arm64 duration, first 7.5 billion GB-s a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** SQS standard queue, after the first billion requests' tier boundary does not matter here. */
  sqsPerMillionRequests: 0.4,
  sqsMeteringBytes: 64 * 1024,
  /** SNS standard topic publishes (PublishBatch billed per message), per 64 KB chunk. */
  snsPerMillionPublishes: 0.5,
  snsMeteringBytes: 64 * 1024,
  /** SES outbound e-mail. */
  sesPerThousandEmails: 0.1,
  /** SNS SMS to a US number, before carrier fees (which vary by carrier; other countries differ widely). */
  smsPerMessageUs: 0.00581,
  /** CloudWatch Logs standard ingestion. */
  cloudWatchLogsPerGb: 0.5,
  /** DynamoDB on-demand write request units. */
  dynamoDbPerMillionWrites: 0.625,
  /** DynamoDB on-demand read request units (a strongly consistent read of up to 4 KB is one). */
  dynamoDbPerMillionReads: 0.125,
} as const;

export type Prices = { readonly [K in keyof typeof US_EAST_1_PRICES]: number };

/** SendMessageBatch, ReceiveMessage and DeleteMessageBatch move at most 10 messages per call. */
const SQS_BATCH = 10;

/** Bytes of Lambda's own log lines per invocation (START, END, REPORT), billed like any log. */
export const PLATFORM_LOG_BYTES_PER_INVOCATION = 350;

/** Memory of each function, as the CDK stack sets it (lib/relay-stack.ts, lib/constructs/relay-function.ts). */
export interface FunctionMemory {
  ingestMb: number;
  routeMb: number;
  deliverMb: number;
}

/** The stack's settings: ingest and route 512 MB (CPU-bound hashing and parsing), deliveries the 256 MB default. */
export const STACK_MEMORY: FunctionMemory = { ingestMb: 512, routeMb: 512, deliverMb: 256 };

/** A traffic shape and the durations measured (or assumed) for it. */
export interface CostScenario {
  name: string;
  /** Notifications Sqreen puts in one webhook call (1 to 1000). */
  notificationsPerRequest: number;
  /** Notifications the route function gets per invocation (event source batch, ≤ 25 in the stack). */
  routeBatchSize: number;
  /** Wire bytes of one notification (and of its queue message). */
  notificationBytes: number;
  /** Bytes of one alert on the topic. */
  alertBytes: number;
  /** Billed wall time of one ingest invocation, ms. */
  ingestMs: number;
  /** Billed wall time of one route invocation, ms. */
  routeMs: number;
  /** Billed wall time of one delivery of one alert, per backend, ms. */
  deliverMs: Readonly<Record<Backend, number>>;
  /** Application log bytes per invocation, to price CloudWatch Logs; omitted → not priced. */
  logBytes?: { ingest: number; route: number; deliver: Readonly<Record<Backend, number>> };
  /** E-mails and SMS one alert causes (recipients per alert). */
  emailsPerAlert: number;
  smsPerAlert: number;
  /** DynamoDB writes of the idempotency guard per alert, all backends together. */
  idempotencyWritesPerAlert: number;
  /** DynamoDB writes of the digest windows per alert (issue 15), all human backends together. */
  digestWritesPerAlert: number;
  /** DynamoDB write units of the delivery ledger per alert, all backends together. */
  ledgerWriteUnitsPerAlert: number;
  /** DynamoDB read units of the ledger's attempt counts per alert, all backends together. */
  ledgerReadUnitsPerAlert: number;
  memory: FunctionMemory;
}

export interface CostLine {
  item: string;
  /** USD per million notifications. */
  dollarsPerMillion: number;
  /** In the platform total (API Gateway, Lambda, SQS, SNS, DynamoDB), or listed apart. */
  inPlatformTotal: boolean;
}

export interface CostBreakdown {
  scenario: string;
  lines: CostLine[];
  /** USD per million notifications delivered to all five backends: API Gateway + Lambda + SQS + SNS + DynamoDB. */
  platformTotal: number;
}

/** `ceil(bytes / unit)` billed units, never less than one. */
export function meteredUnits(bytes: number, unitBytes: number): number {
  return Math.max(1, Math.ceil(bytes / unitBytes));
}

/** SQS requests to move `count` messages of `bytes` each in calls of ≤ 10 messages, 64 KB chunks billed. */
export function sqsRequestsFor(count: number, bytes: number, prices: Prices): number {
  let requests = 0;
  for (let remaining = count; remaining > 0; remaining -= SQS_BATCH) {
    requests += meteredUnits(Math.min(SQS_BATCH, remaining) * bytes, prices.sqsMeteringBytes);
  }
  return requests;
}

/** GB-seconds of one invocation: memory × wall time rounded up to the millisecond. */
export function gbSeconds(memoryMb: number, durationMs: number): number {
  return (memoryMb / 1024) * (Math.ceil(durationMs) / 1000);
}

/** USD per million notifications, line by line, for one scenario. */
export function costPerMillionNotifications(
  scenario: CostScenario,
  prices: Prices = US_EAST_1_PRICES,
): CostBreakdown {
  const million = 1_000_000;
  const perRequest = scenario.notificationsPerRequest;
  const batch = scenario.routeBatchSize;
  if (!(perRequest >= 1) || !(batch >= 1))
    throw new RangeError("notifications per request and batch size must be ≥ 1");
  const requests = million / perRequest;
  const routeInvocations = million / batch;
  const backends = Object.keys(scenario.deliverMs) as Backend[];
  const deliveries = million * backends.length;

  const apiGateway =
    requests *
    meteredUnits(perRequest * scenario.notificationBytes, prices.httpApiMeteringBytes) *
    (prices.httpApiPerMillionRequests / million);

  const lambdaRequests =
    (requests + routeInvocations + deliveries) * (prices.lambdaPerMillionRequests / million);
  const ingestCompute =
    requests * gbSeconds(scenario.memory.ingestMb, scenario.ingestMs) * prices.lambdaArmPerGbSecond;
  const routeCompute =
    routeInvocations * gbSeconds(scenario.memory.routeMb, scenario.routeMs) * prices.lambdaArmPerGbSecond;
  const deliverCompute = backends.reduce(
    (sum, backend) =>
      sum +
      million *
        gbSeconds(scenario.memory.deliverMb, scenario.deliverMs[backend]) *
        prices.lambdaArmPerGbSecond,
    0,
  );

  const sendRequests = requests * sqsRequestsFor(perRequest, scenario.notificationBytes, prices);
  const receiveRequests = routeInvocations * sqsRequestsFor(batch, scenario.notificationBytes, prices);
  // DeleteMessageBatch carries receipt handles only: one request per ten messages.
  const deleteRequests = routeInvocations * Math.ceil(batch / SQS_BATCH);
  const sqs = (sendRequests + receiveRequests + deleteRequests) * (prices.sqsPerMillionRequests / million);

  const sns =
    million *
    meteredUnits(scenario.alertBytes, prices.snsMeteringBytes) *
    (prices.snsPerMillionPublishes / million);

  const lines: CostLine[] = [
    { item: "API Gateway HTTP API", dollarsPerMillion: apiGateway, inPlatformTotal: true },
    { item: "Lambda requests", dollarsPerMillion: lambdaRequests, inPlatformTotal: true },
    { item: "Lambda compute: ingest", dollarsPerMillion: ingestCompute, inPlatformTotal: true },
    { item: "Lambda compute: route", dollarsPerMillion: routeCompute, inPlatformTotal: true },
    { item: "Lambda compute: deliveries", dollarsPerMillion: deliverCompute, inPlatformTotal: true },
    { item: "SQS", dollarsPerMillion: sqs, inPlatformTotal: true },
    { item: "SNS publishes", dollarsPerMillion: sns, inPlatformTotal: true },
    {
      item: "DynamoDB idempotency writes",
      dollarsPerMillion:
        million * scenario.idempotencyWritesPerAlert * (prices.dynamoDbPerMillionWrites / million),
      inPlatformTotal: true,
    },
    {
      item: "DynamoDB digest window writes",
      dollarsPerMillion:
        million * scenario.digestWritesPerAlert * (prices.dynamoDbPerMillionWrites / million),
      inPlatformTotal: true,
    },
    {
      item: "DynamoDB ledger writes",
      dollarsPerMillion:
        million * scenario.ledgerWriteUnitsPerAlert * (prices.dynamoDbPerMillionWrites / million),
      inPlatformTotal: true,
    },
    {
      item: "DynamoDB ledger reads (attempt counts)",
      dollarsPerMillion:
        million * scenario.ledgerReadUnitsPerAlert * (prices.dynamoDbPerMillionReads / million),
      inPlatformTotal: true,
    },
    {
      item: "SES e-mail (per recipient)",
      dollarsPerMillion: million * scenario.emailsPerAlert * (prices.sesPerThousandEmails / 1000),
      inPlatformTotal: false,
    },
    {
      item: "SMS, US, before carrier fees (per number)",
      dollarsPerMillion: million * scenario.smsPerAlert * prices.smsPerMessageUs,
      inPlatformTotal: false,
    },
  ];
  if (scenario.logBytes) {
    const { ingest, route, deliver } = scenario.logBytes;
    const bytes =
      requests * (ingest + PLATFORM_LOG_BYTES_PER_INVOCATION) +
      routeInvocations * (route + PLATFORM_LOG_BYTES_PER_INVOCATION) +
      backends.reduce(
        (sum, backend) => sum + million * (deliver[backend] + PLATFORM_LOG_BYTES_PER_INVOCATION),
        0,
      );
    lines.push({
      item: "CloudWatch Logs ingestion",
      dollarsPerMillion: (bytes / 1024 ** 3) * prices.cloudWatchLogsPerGb,
      inPlatformTotal: false,
    });
  }
  const platformTotal = lines
    .filter((line) => line.inPlatformTotal)
    .reduce((sum, line) => sum + line.dollarsPerMillion, 0);
  return { scenario: scenario.name, lines, platformTotal };
}

/**
 * Assumed latency (ms) of what each function waits on, added to its measured CPU time because
 * Lambda bills wall time. In-region AWS API calls take a few tens of milliseconds; third-party
 * endpoints more. These are assumptions, not measurements: the README says so.
 */
export const ASSUMED_WAIT_MS = {
  /** One wave of parallel SendMessageBatch calls (ingest sends up to 10 at once). */
  sqsSendBatch: 20,
  /** One wave of parallel PublishBatch calls from route. */
  snsPublishBatch: 20,
  /** deliver-log writes to stdout only. */
  log: 0,
  /** SES SendEmail, per recipient, sequential. */
  email: 60,
  /** SNS Publish to a phone number, per number. */
  sms: 60,
  /** A customer HTTPS endpoint answering a signed POST. */
  http: 150,
  /** Slack's incoming-webhook endpoint. */
  slack: 250,
  /** One DynamoDB conditional write of the idempotency guard (they run one after the other). */
  dynamoDbWrite: 10,
} as const;

/**
 * Idempotency writes per alert per backend, with one recipient each: the delivery's record (put,
 * then completed) plus, for fan-out backends, the recipient's record (put, then completed).
 */
export const IDEMPOTENCY_WRITES: Readonly<Record<Backend, number>> = {
  log: 2,
  email: 4,
  http: 4,
  sms: 4,
  slack: 4,
};

/**
 * Slots for the writes the digests (issue 15: a per-destination window store in a DynamoDB digest
 * table) and the delivery ledger (issue 16: a DynamoDB ledger table written from the delivery
 * chain) add per alert, all backends together, with one recipient each. 0 until those land: whoever
 * adds the writes sets the count here, and the platform total includes them.
 */
export const DIGEST_WRITES_PER_ALERT = 0;

/**
 * Ledger write units per alert per backend, with one destination each: one entry (the log
 * backend's is the whole delivery's), written to the table and its 2 indexes.
 */
export const LEDGER_WRITE_UNITS: Readonly<Record<Backend, number>> = {
  log: 3,
  email: 3,
  http: 3,
  sms: 3,
  slack: 3,
};

/** Ledger read units per delivery: one eventually consistent Query of a small partition. */
export const LEDGER_READ_UNITS = 0.5;

/** Waves of ≤ 10 parallel batch calls needed for `messages` in calls of ≤ 10 messages. */
export function batchWaves(messages: number, parallelCalls = 10): number {
  return Math.max(1, Math.ceil(Math.ceil(messages / SQS_BATCH) / parallelCalls));
}

/**
 * What the DynamoDB window store (lambdas/digest/dynamodb-window-store.ts) does per alert and per
 * window; test/unit/bench/digest-cost.test.ts counts the store's real requests against these.
 * A transactional write costs two write units per started KB of each item, a strongly consistent
 * read one read unit per started 4 KB.
 */
export const DIGEST_STORE_REQUESTS = {
  /** Reads of one admit: the alert's admission (none yet), the group's pointer, its window. */
  readsPerAdmit: 3,
  /** Items of the transaction that opens a window: admission, window, pointer (+ member if held). */
  openItems: { immediate: 3, held: 4 },
  /** Items of the transaction that joins an open window: admission, window (+ member if held). */
  joinItems: { immediate: 2, held: 3 },
  /** Single writes once a window holds an alert: markScheduled, then the close's update. */
  writesPerHeldWindow: 2,
  /** Single reads of a close besides its Query: the window. */
  readsPerClose: 1,
} as const;

/** Write units of one transactional item write, and of one single write (items under 1 KB but members). */
const TRANSACTIONAL_WRITE_UNITS = 2;
const KB = 1024;

/** One window of one group (one destination): how many alerts it sees, under which policy. */
export interface DigestWindowLoad {
  /** Alerts of the group within the window: 1 when alerts are sparse, 1000 in a burst. */
  alertsPerWindow: number;
  policy: DigestPolicy;
  /** Bytes of one member item (its DigestEntry and keys): a few hundred, more with many IPs. */
  memberBytes: number;
}

/** What one window costs in requests and what reaches its destination. */
export interface DigestWindowCounts {
  alerts: number;
  /** Alerts sent alone, and digests sent (0 or 1). */
  sentAlone: number;
  digests: number;
  dynamoDbReadUnits: number;
  dynamoDbWriteUnits: number;
  /** Close messages on the backend's queue: one per 15 minutes of the window (the longest delay). */
  queueMessages: number;
  /** Each close message is sent, received and deleted: one SQS request each (a quiet queue's batch is one message). */
  sqsRequests: number;
  /** Invocations of the backend's function for those messages. */
  closeInvocations: number;
}

/** The requests of one window of `load.alertsPerWindow` alerts of one group, as the store makes them. */
export function digestWindowCounts(load: DigestWindowLoad): DigestWindowCounts {
  const { alertsPerWindow: alerts, policy, memberBytes } = load;
  if (!(alerts >= 1)) throw new RangeError("a window has at least one alert");
  const sentAlone = Math.min(alerts, policy.immediate);
  const held = alerts - sentAlone;
  const memberUnits = TRANSACTIONAL_WRITE_UNITS * meteredUnits(memberBytes, KB);
  const requests = DIGEST_STORE_REQUESTS;
  // The first alert opens the window: alone when `immediate` allows, else held (with its member).
  const firstHeld = policy.immediate === 0;
  let writes = firstHeld
    ? (requests.openItems.held - 1) * TRANSACTIONAL_WRITE_UNITS + memberUnits
    : requests.openItems.immediate * TRANSACTIONAL_WRITE_UNITS;
  writes += Math.max(0, sentAlone - 1) * requests.joinItems.immediate * TRANSACTIONAL_WRITE_UNITS;
  const heldJoins = firstHeld ? held - 1 : held;
  writes += heldJoins * ((requests.joinItems.held - 1) * TRANSACTIONAL_WRITE_UNITS + memberUnits);
  let reads = alerts * requests.readsPerAdmit;
  let queueMessages = 0;
  if (held > 0) {
    writes += requests.writesPerHeldWindow;
    // The close reads the window, then every member in one strongly consistent Query.
    reads += requests.readsPerClose + meteredUnits(held * memberBytes, 4 * KB);
    queueMessages = Math.ceil(policy.windowSeconds / MAX_QUEUE_DELAY_SECONDS);
  }
  return {
    alerts,
    sentAlone,
    digests: held > 0 ? 1 : 0,
    dynamoDbReadUnits: reads,
    dynamoDbWriteUnits: writes,
    queueMessages,
    sqsRequests: queueMessages * 3,
    closeInvocations: queueMessages,
  };
}

/** Digests' cost per million alerts reaching one human destination, and what they spare. */
export interface DigestCost {
  window: DigestWindowCounts;
  /** USD per million alerts: the window store's reads and writes. */
  dynamoDb: number;
  /** USD per million alerts: the close messages' SQS requests. */
  sqs: number;
  /** USD per million alerts: the close invocations (requests only; each is a few ms at 256 MB). */
  lambdaRequests: number;
  /** Messages reaching the destination per million alerts (was a million without digests). */
  messagesSent: number;
}

/** Prices one window shape per million alerts to one destination. */
export function digestCosts(load: DigestWindowLoad, prices: Prices = US_EAST_1_PRICES): DigestCost {
  const window = digestWindowCounts(load);
  const windows = 1_000_000 / window.alerts;
  const perMillion = (count: number, pricePerMillion: number) =>
    (windows * count * pricePerMillion) / 1_000_000;
  return {
    window,
    dynamoDb:
      perMillion(window.dynamoDbReadUnits, prices.dynamoDbPerMillionReads) +
      perMillion(window.dynamoDbWriteUnits, prices.dynamoDbPerMillionWrites),
    sqs: perMillion(window.sqsRequests, prices.sqsPerMillionRequests),
    lambdaRequests: perMillion(window.closeInvocations, prices.lambdaPerMillionRequests),
    messagesSent: windows * (window.sentAlone + window.digests),
  };
}

/**
 * Bytes of a member item with one IP and a console link, as the store writes it (keys, entry,
 * TTL): DynamoDB counts attribute names and values.
 */
export const TYPICAL_MEMBER_BYTES = 450;

/**
 * The windows `npm run bench` prices, with each human backend's default policy: a burst (1000
 * alerts of one group within one window, as the attack) and sparse alerts (one per window).
 */
export const DIGEST_COST_LOADS: readonly { name: string; load: DigestWindowLoad }[] = HUMAN_BACKENDS.flatMap(
  (backend) => [
    {
      name: `${backend}: bursts of 1000 per window`,
      load: {
        alertsPerWindow: 1000,
        policy: DEFAULT_DIGEST_POLICIES[backend],
        memberBytes: TYPICAL_MEMBER_BYTES,
      },
    },
    {
      name: `${backend}: one alert per window`,
      load: {
        alertsPerWindow: 1,
        policy: DEFAULT_DIGEST_POLICIES[backend],
        memberBytes: TYPICAL_MEMBER_BYTES,
      },
    },
  ],
);
