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
 * - Route batches: the mapping waits up to its batching window (1 s) to fill a batch of 25, with
 *   at most 5 instances (STACK_SHAPE); at ASSUMED_RATE_PER_SECOND each instance's poller gathers
 *   rate × window / concurrency messages, so batches of 20 at 100 a second (routeBatchAtRate),
 *   even when Sqreen sends one notification per request.
 * - Lambda (arm64): one ingest invocation per webhook call, one route invocation per batch, one
 *   invocation per alert per backend, one per digest close message, each billed its memory × wall
 *   time rounded up to the millisecond. Wall time = the CPU time measured in-process + the assumed
 *   latency of the AWS or downstream calls it waits on (Lambda bills waiting too). Warm
 *   invocations only: at a steady rate cold starts are a small share.
 * - SNS: one publish per alert (PublishBatch is billed per message, per 64 KB chunk); deliveries
 *   from SNS to Lambda are free.
 * - DynamoDB (on demand), idempotency: one send record per message sent by a guarded backend
 *   (GUARDED_BACKENDS: not log), put in progress then completed, 2 writes (IDEMPOTENCY_WRITES);
 *   a held alert sends nothing (its digest does, once per window). Reads: none on the happy path
 *   (the conditional put hands back an existing record).
 * - DynamoDB digest windows: what the window store (lambdas/digest/dynamodb-window-store.ts) does
 *   per window of each human backend's default policy (digestWindowCounts, its counts checked
 *   against the store's requests by test/unit/bench/digest-cost.test.ts): per admit 2 eventually
 *   consistent reads and a TransactWriteItems billed 2 write units per item; the window's own
 *   writes, its close's reads and its close messages (SQS, Lambda) shared by its alerts. `burst`:
 *   1000 alerts of one group per window; `alone`: one alert per window, each renewing its group's
 *   past window in place (it held nothing: no new window, no pointer).
 * - DynamoDB delivery ledger (lambdas/ledger/dynamodb-ledger.ts): each delivery writes one entry per
 *   destination, 1 write unit (the sparse `byDay` index holds only failures, deferrals, dead
 *   letters and redrives: none on the happy path), and counts the failures recorded so far with
 *   one eventually consistent Query, half a read unit.
 * - DynamoDB storage: idempotency records, digest items and ledger entries kept their 14 days,
 *   with point-in-time recovery billed on the same bytes.
 * - Secrets Manager: GetSecretValue once per warm instance per cache period (ingest's keys, each
 *   backend's secret), amortized over the time a million notifications take at ASSUMED_RATE.
 * - KMS: SQS queues use SQS-managed keys (no KMS requests); the topic's customer key is asked for a
 *   data key per publishing principal per reuse period (5 minutes), amortized likewise; the key's
 *   $1 a month is fixed, not per notification.
 * - X-Ray: off in the stack by default (settings.tracing); with `"active"`, Lambda's fixed
 *   sampling records 1 request a second and 5% of the rest, per function, one trace each: listed
 *   apart, as what switching it on costs.
 * - CloudWatch Logs ingestion: measured application log bytes, one API Gateway access log line per
 *   request, and Lambda's own lines per invocation only where the functions' system log level
 *   lets them through (STACK_SHAPE.systemLogLevel: WARN drops START, END and REPORT).
 * - Listed apart, not in the platform total: destination charges (SES and SMS per-message prices,
 *   which scale with recipients, not with the relay) and X-Ray when switched on.
 * Not modelled: data transfer (in is free; out to Slack/HTTP targets is a few KB per alert), free
 * tiers, fixed monthly costs (the KMS key, alarms, the dashboard, idle long-polling).
 */
import { BACKENDS, type Backend, GUARDED_BACKENDS } from "../lambdas/contracts/messages.js";
import { DEFAULT_SECRET_MAX_AGE_SECONDS } from "../lambdas/delivery/secret-source.js";
import { DEFAULT_DIGEST_POLICIES } from "../lambdas/digest/defaults.js";
import {
  type DigestPolicy,
  HUMAN_BACKENDS,
  type HumanBackend,
  MAX_QUEUE_DELAY_SECONDS,
} from "../lambdas/digest/seams.js";
import { DEFAULT_KEY_CACHE_SECONDS } from "../lambdas/ingest/config.js";

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
  /** DynamoDB on-demand write and read request units, standard table class. */
  dynamoDbPerMillionWrites: 0.625,
  dynamoDbPerMillionReads: 0.125,
  /** DynamoDB storage, and point-in-time recovery on the same bytes, per GB-month. */
  dynamoDbStoragePerGbMonth: 0.25,
  dynamoDbPitrPerGbMonth: 0.2,
  /** Secrets Manager API calls. */
  secretsManagerPer10kCalls: 0.05,
  /** KMS requests (GenerateDataKey, Decrypt). */
  kmsPer10kRequests: 0.03,
  /** X-Ray traces recorded. */
  xrayPerMillionTraces: 5.0,
} as const;

export type Prices = { readonly [K in keyof typeof US_EAST_1_PRICES]: number };

/** SendMessageBatch, ReceiveMessage and DeleteMessageBatch move at most 10 messages per call. */
export const SQS_BATCH = 10;

/**
 * The stack's shape the model prices, each checked against the synthesized stack
 * (test/infra/cost-model.test.ts): the functions, the route mapping's batch, batching window and
 * concurrency, the tables and the ledger's one index, tracing, the functions' log settings, and
 * which queues and topics ask KMS for keys.
 */
export const STACK_SHAPE = {
  functions: ["ingest", "route", ...BACKENDS.map((backend) => `deliver-${backend}` as const)],
  routeBatchSize: 25,
  routeMaxBatchingWindowSeconds: 1,
  routeMaxConcurrency: 5,
  /** The idempotency table, the digest table and the delivery ledger. */
  tables: 3,
  /** The ledger's indexes: `byDay` only, sparse (lambdas/ledger/dynamodb-ledger.ts). */
  ledgerIndexes: 1,
  /** settings.tracing's default: no function traces. */
  tracing: "off",
  loggingFormat: "JSON",
  systemLogLevel: "WARN",
  /** The alerts topic (priced) and the alarms' topic (published to on an alarm only: not priced). */
  kmsEncryptedTopics: 2,
  kmsEncryptedQueues: 0,
} as const;

/** Bytes of Lambda's own INFO lines per invocation (START, END, REPORT), billed like any log. */
export const PLATFORM_INFO_LOG_BYTES_PER_INVOCATION = 350;

/** Lambda's own log bytes per invocation at a function's system log level: WARN and ERROR drop the INFO lines. */
export function platformLogBytesPerInvocation(systemLogLevel: "DEBUG" | "INFO" | "WARN"): number {
  return systemLogLevel === "WARN" ? 0 : PLATFORM_INFO_LOG_BYTES_PER_INVOCATION;
}

/** One API Gateway access log line (lib/relay-stack.ts's custom format, JSON), bytes. */
export const ACCESS_LOG_BYTES_PER_REQUEST = 300;

/**
 * Bytes DynamoDB bills per idempotency record: its 100 bytes of item overhead, the key (prefix
 * and SHA-256 hex), status, two expirations and the recorded send result.
 */
export const IDEMPOTENCY_RECORD_BYTES = 300;
/** Bytes per digest item (admission or member: hashed keys, mode, window id, a DigestEntry). */
export const DIGEST_ITEM_BYTES = 400;
/** Bytes per ledger entry: keys, ids, backend, masked destination, outcome, times, TTL. */
export const LEDGER_ENTRY_BYTES = 350;
/** Records, digest items and ledger entries are kept 14 days (IDEMPOTENCY_EXPIRY_SECONDS). */
export const RECORD_RETENTION_DAYS = 14;

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
  /** Idempotency records kept per alert (one per send), each IDEMPOTENCY_RECORD_BYTES. */
  idempotencyRecordsPerAlert: number;
  /** DynamoDB write units of the digest windows per alert (issue 15), all human backends together. */
  digestWritesPerAlert: number;
  /** DynamoDB read units of the digest windows per alert. */
  digestReadsPerAlert: number;
  /** Digest items kept per alert (admission, member, its share of its window's), each DIGEST_ITEM_BYTES. */
  digestItemsPerAlert: number;
  /** SQS requests of the windows' close messages per alert (each sent, received, deleted). */
  digestSqsRequestsPerAlert: number;
  /** Invocations of the human backends' functions for those close messages, per alert. */
  digestCloseInvocationsPerAlert: number;
  /** DynamoDB write units of the delivery ledger per alert, all backends together. */
  ledgerWritesPerAlert: number;
  /** DynamoDB read units of the ledger's attempt counts per alert, all backends together. */
  ledgerReadsPerAlert: number;
  /** Ledger entries kept per alert, each LEDGER_ENTRY_BYTES. */
  ledgerEntriesPerAlert: number;
  memory: FunctionMemory;
  /** Bytes of Lambda's own log lines per invocation (platformLogBytesPerInvocation). */
  platformLogBytesPerInvocation: number;
  /** Whether the functions trace actively (settings.tracing): X-Ray in the total, or apart. */
  tracingActive: boolean;
  /** Traces X-Ray would record per million notifications with tracing active (xrayTraces). */
  xrayTraces: number;
  /** Secrets Manager calls and KMS requests per million notifications (timeBasedCallsPerMillion). */
  secretsManagerCalls: number;
  kmsRequests: number;
}

export interface CostLine {
  item: string;
  /** USD per million notifications. */
  dollarsPerMillion: number;
  /** In the platform total (everything the stack pays for), or listed apart (destination charges, options off). */
  inPlatformTotal: boolean;
}

export interface CostBreakdown {
  scenario: string;
  lines: CostLine[];
  /** USD per million notifications delivered to all five backends, destination charges apart. */
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

  const closeInvocations = million * scenario.digestCloseInvocationsPerAlert;
  const lambdaRequests =
    (requests + routeInvocations + deliveries + closeInvocations) *
    (prices.lambdaPerMillionRequests / million);
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
  const closeRequests = million * scenario.digestSqsRequestsPerAlert;
  const sqs =
    (sendRequests + receiveRequests + deleteRequests + closeRequests) *
    (prices.sqsPerMillionRequests / million);

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
      item: "DynamoDB digest reads",
      dollarsPerMillion: million * scenario.digestReadsPerAlert * (prices.dynamoDbPerMillionReads / million),
      inPlatformTotal: true,
    },
    {
      item: "DynamoDB storage and point-in-time recovery",
      dollarsPerMillion:
        ((million *
          (scenario.idempotencyRecordsPerAlert * IDEMPOTENCY_RECORD_BYTES +
            scenario.digestItemsPerAlert * DIGEST_ITEM_BYTES +
            scenario.ledgerEntriesPerAlert * LEDGER_ENTRY_BYTES)) /
          1e9) *
        (RECORD_RETENTION_DAYS / 30) *
        (prices.dynamoDbStoragePerGbMonth + prices.dynamoDbPitrPerGbMonth),
      inPlatformTotal: true,
    },
    {
      item: "Secrets Manager calls",
      dollarsPerMillion: scenario.secretsManagerCalls * (prices.secretsManagerPer10kCalls / 10_000),
      inPlatformTotal: true,
    },
    {
      item: "KMS requests",
      dollarsPerMillion: scenario.kmsRequests * (prices.kmsPer10kRequests / 10_000),
      inPlatformTotal: true,
    },
    {
      item: scenario.tracingActive ? "X-Ray traces" : "X-Ray traces if tracing were active (off)",
      dollarsPerMillion: scenario.xrayTraces * (prices.xrayPerMillionTraces / million),
      inPlatformTotal: scenario.tracingActive,
    },
    {
      item: "DynamoDB delivery ledger writes",
      dollarsPerMillion:
        million * scenario.ledgerWritesPerAlert * (prices.dynamoDbPerMillionWrites / million),
      inPlatformTotal: true,
    },
    {
      item: "DynamoDB ledger reads (attempt counts)",
      dollarsPerMillion: million * scenario.ledgerReadsPerAlert * (prices.dynamoDbPerMillionReads / million),
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
    const platform = scenario.platformLogBytesPerInvocation;
    const bytes =
      requests * (ingest + platform + ACCESS_LOG_BYTES_PER_REQUEST) +
      routeInvocations * (route + platform) +
      closeInvocations * platform +
      backends.reduce((sum, backend) => sum + million * (deliver[backend] + platform), 0);
    lines.push({
      item: "CloudWatch Logs ingestion",
      dollarsPerMillion: (bytes / 1024 ** 3) * prices.cloudWatchLogsPerGb,
      inPlatformTotal: true,
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
  /** One DynamoDB request (a guard's conditional write, a digest read or transaction, a ledger write); they run one after the other. */
  dynamoDbWrite: 10,
} as const;

/** Each send record is put in progress, then completed: 2 writes per destination. */
export const WRITES_PER_SEND_RECORD = 2;

/**
 * Idempotency writes per alert per backend, with one destination each: the send's record for the
 * guarded backends (GUARDED_BACKENDS), nothing for log. Was 2 more each, log included (the
 * delivery-level record): 18 per alert, now 8.
 */
export const IDEMPOTENCY_WRITES: Readonly<Record<Backend, number>> = Object.fromEntries(
  BACKENDS.map((backend) => [
    backend,
    (GUARDED_BACKENDS as readonly Backend[]).includes(backend) ? WRITES_PER_SEND_RECORD : 0,
  ]),
) as Record<Backend, number>;

/**
 * What the guard, the digests and the ledger store and request per alert, with one destination
 * per backend, in either shape: `alone` (every alert sent by itself: a quiet hour, each opens its
 * own window) or `burst` (a million alerts fall into few groups: windows of 1000, each window's
 * first few go out alone, the rest in its digest). A held alert is not sent, so a human backend
 * writes send records only for what its windows send (the alerts alone, the digest).
 */
export type DigestShape = "alone" | "burst";

/** Alerts of one group per window in each shape. */
export const ALERTS_PER_WINDOW: Readonly<Record<DigestShape, number>> = { alone: 1, burst: 1000 };

/** One window of `backend`'s default policy in `shape`: a quiet group's renews its past one in place. */
export function shapeWindowLoad(backend: HumanBackend, shape: DigestShape): DigestWindowLoad {
  return {
    alertsPerWindow: ALERTS_PER_WINDOW[shape],
    policy: DEFAULT_DIGEST_POLICIES[backend],
    memberBytes: TYPICAL_MEMBER_BYTES,
    renewed: shape === "alone",
  };
}

export interface StoredPerAlert {
  idempotencyWrites: number;
  idempotencyRecords: number;
  digestWrites: number;
  digestReads: number;
  digestItems: number;
  digestSqsRequests: number;
  digestCloseInvocations: number;
}

export function storedPerAlert(shape: DigestShape): StoredPerAlert {
  const human = new Set<Backend>(HUMAN_BACKENDS);
  const stored: StoredPerAlert = {
    idempotencyWrites: 0,
    idempotencyRecords: 0,
    digestWrites: 0,
    digestReads: 0,
    digestItems: 0,
    digestSqsRequests: 0,
    digestCloseInvocations: 0,
  };
  for (const backend of BACKENDS) {
    if (!human.has(backend)) {
      stored.idempotencyWrites += IDEMPOTENCY_WRITES[backend];
      continue;
    }
    const window = digestWindowCounts(shapeWindowLoad(backend as HumanBackend, shape));
    const perAlert = (count: number) => count / window.alerts;
    stored.idempotencyWrites += perAlert(IDEMPOTENCY_WRITES[backend] * (window.sentAlone + window.digests));
    stored.digestWrites += perAlert(window.dynamoDbWriteUnits);
    stored.digestReads += perAlert(window.dynamoDbReadUnits);
    stored.digestItems += perAlert(window.storedItems);
    stored.digestSqsRequests += perAlert(window.sqsRequests);
    stored.digestCloseInvocations += perAlert(window.closeInvocations);
  }
  stored.idempotencyRecords = stored.idempotencyWrites / WRITES_PER_SEND_RECORD;
  return stored;
}

/** Ledger entries per alert: one per delivery, five backends with one destination each (log's is the whole delivery's). */
export const LEDGER_ENTRIES_PER_ALERT = BACKENDS.length;
/**
 * Write units of one ledger entry that went well: the table's, and none for the `byDay` index,
 * which holds only the outcomes an operator follows (DAY_INDEXED_OUTCOMES).
 */
export const LEDGER_WRITE_UNITS_PER_SETTLED_ENTRY = 1;
/** The ledger's write units per alert on the happy path. */
export const LEDGER_WRITES_PER_ALERT = LEDGER_ENTRIES_PER_ALERT * LEDGER_WRITE_UNITS_PER_SETTLED_ENTRY;
/** The ledger's read units per alert: per delivery, one eventually consistent Query of its partition. */
export const LEDGER_READS_PER_ALERT = LEDGER_ENTRIES_PER_ALERT * 0.5;

/** The steady rate the time-based charges (Secrets Manager, KMS, X-Ray's reservoir) are spread over. */
export const ASSUMED_RATE_PER_SECOND = 100;
/** Warm instances per function at that rate (the route mapping's maximum concurrency is 5). */
export const ASSUMED_WARM_INSTANCES = 5;
/** SNS reuses a topic's data key for 5 minutes per publishing principal. */
export const SNS_DATA_KEY_REUSE_SECONDS = 300;
/** X-Ray's default sampling rule: 1 request a second, then 5%, per function. */
export const XRAY_RESERVOIR_PER_SECOND = 1;
export const XRAY_FIXED_RATE = 0.05;

/** Seconds a million notifications take at ASSUMED_RATE_PER_SECOND. */
export function secondsPerMillion(rate = ASSUMED_RATE_PER_SECOND): number {
  return 1_000_000 / rate;
}

/** Traces recorded for `invocations` of one function spread over `seconds`. */
export function xrayTraces(invocations: number, seconds: number): number {
  const perSecond = invocations / seconds;
  const reservoir = Math.min(perSecond, XRAY_RESERVOIR_PER_SECOND);
  return seconds * (reservoir + XRAY_FIXED_RATE * (perSecond - reservoir));
}

/** Calls made once per warm instance per `periodSeconds`, over `seconds`. */
export function periodicCalls(
  periodSeconds: number,
  seconds: number,
  instances = ASSUMED_WARM_INSTANCES,
): number {
  return instances * Math.ceil(seconds / periodSeconds);
}

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
  /**
   * Reads of one admit that wins its first round: the group's pointer and its window, eventually
   * consistent (the transaction's conditions decide; a replay is known by its admission's).
   */
  readsPerAdmit: 2,
  /** Read units of each: half of one, eventually consistent, items under 4 KB. */
  readUnitsPerAdmitRead: 0.5,
  /** Items of the transaction that opens a window: admission, window, pointer. */
  openItems: 3,
  /** Items of the transaction that renews a window that held nothing, in place: admission, window. */
  renewItems: 2,
  /** Items of the transaction that joins an open window: admission, window. */
  joinItems: 2,
  /** A held alert's member: one plain write before its transaction (a write unit per started KB). */
  memberWrites: 1,
  /** Single writes once a window holds an alert: markScheduled, then the close's update. */
  writesPerHeldWindow: 2,
  /** Single reads of a close besides its Query: the window. */
  readsPerClose: 1,
  /** The close reads each member's admission (BatchGetItem, strongly consistent): a read unit each. */
  admissionReadsPerMember: 1,
} as const;

/** Write units of one transactional item write (items under 1 KB); a plain write is one per started KB. */
const TRANSACTIONAL_WRITE_UNITS = 2;
const KB = 1024;

/** One window of one group (one destination): how many alerts it sees, under which policy. */
export interface DigestWindowLoad {
  /** Alerts of the group within the window: 1 when alerts are sparse, 1000 in a burst. */
  alertsPerWindow: number;
  policy: DigestPolicy;
  /** Bytes of one member item (its DigestEntry and keys): a few hundred, more with many IPs. */
  memberBytes: number;
  /**
   * The group's window before this one held nothing (a quiet group), so an alert sent alone
   * starts this one in its item (DIGEST_STORE_REQUESTS.renewItems) instead of a new window and
   * pointer. @default false
   */
  renewed?: boolean;
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
  /** Items the window leaves in the table for its retention (admissions, members, window, pointer). */
  storedItems: number;
}

/** The requests of one window of `load.alertsPerWindow` alerts of one group, as the store makes them. */
export function digestWindowCounts(load: DigestWindowLoad): DigestWindowCounts {
  const { alertsPerWindow: alerts, policy, memberBytes } = load;
  if (!(alerts >= 1)) throw new RangeError("a window has at least one alert");
  const sentAlone = Math.min(alerts, policy.immediate);
  const held = alerts - sentAlone;
  const requests = DIGEST_STORE_REQUESTS;
  const memberUnits = requests.memberWrites * meteredUnits(memberBytes, KB);
  // The first alert opens the window: alone when `immediate` allows, else held (with its member).
  const firstHeld = policy.immediate === 0;
  const renewed = (load.renewed ?? false) && !firstHeld;
  const openUnits = (renewed ? requests.renewItems : requests.openItems) * TRANSACTIONAL_WRITE_UNITS;
  const joinUnits = requests.joinItems * TRANSACTIONAL_WRITE_UNITS;
  let writes = openUnits + (firstHeld ? memberUnits : 0);
  writes += Math.max(0, sentAlone - 1) * joinUnits;
  const heldJoins = firstHeld ? held - 1 : held;
  writes += heldJoins * (joinUnits + memberUnits);
  let reads = alerts * requests.readsPerAdmit * requests.readUnitsPerAdmitRead;
  let queueMessages = 0;
  if (held > 0) {
    writes += requests.writesPerHeldWindow;
    // The close reads the window, every member in one strongly consistent Query, then their admissions.
    reads +=
      requests.readsPerClose +
      meteredUnits(held * memberBytes, 4 * KB) +
      held * requests.admissionReadsPerMember;
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
    // Every alert's admission, every held alert's member, the window and the group's pointer (a
    // renewed window's are its past one's).
    storedItems: alerts + held + (renewed ? 0 : 2),
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
    { name: `${backend}: bursts of 1000 per window`, load: shapeWindowLoad(backend, "burst") },
    { name: `${backend}: one alert per window`, load: shapeWindowLoad(backend, "alone") },
  ],
);

/** What the benchmark measures in process (bench/run.ts's handlers section): the model's inputs. */
export interface MeasuredCostInputs {
  /** Mean CPU time of one ingest call, by notifications per request (1, 10), ms. */
  ingestMs: Record<number, number>;
  ingestLogBytes: Record<number, number>;
  requestBytes: Record<number, number>;
  /** Mean CPU time of one route invocation, by batch size (1, 25), ms. */
  routeMs: Record<number, number>;
  routeLogBytes: Record<number, number>;
  deliverMs: Record<Backend, number>;
  deliverLogBytes: Record<Backend, number>;
  alertBytes: number;
}

/**
 * The route batch the mapping forms at `rate` notifications a second: each of its pollers (one
 * per instance, at most `concurrency`) waits up to the batching window, so it gathers
 * rate × window / concurrency messages, between 1 and the batch size.
 */
export function routeBatchAtRate(
  rate = ASSUMED_RATE_PER_SECOND,
  shape: Pick<
    typeof STACK_SHAPE,
    "routeBatchSize" | "routeMaxBatchingWindowSeconds" | "routeMaxConcurrency"
  > = STACK_SHAPE,
): number {
  const gathered = Math.floor((rate * shape.routeMaxBatchingWindowSeconds) / shape.routeMaxConcurrency);
  return Math.min(shape.routeBatchSize, Math.max(1, gathered));
}

/** A per-batch measurement at `batch`, linear between the two batch sizes measured (1 and 25). */
export function perBatch(measured: Readonly<Record<number, number>>, batch: number): number {
  const one = measured[1] ?? 0;
  const full = measured[STACK_SHAPE.routeBatchSize] ?? one;
  return one + ((full - one) * (batch - 1)) / (STACK_SHAPE.routeBatchSize - 1);
}

export interface ScenarioOptions {
  name: string;
  notificationsPerRequest: 1 | 10;
  routeBatchSize: number;
  shape: DigestShape;
  /** @default STACK_SHAPE.tracing */
  tracing?: "off" | "active";
}

/** Billed wall time (measured CPU plus the documented waits on AWS and downstream services) and counts of one scenario. */
export function costScenario(inputs: MeasuredCostInputs, options: ScenarioOptions): CostScenario {
  const { name, notificationsPerRequest, routeBatchSize, shape } = options;
  const stored = storedPerAlert(shape);
  const human = new Set<Backend>(HUMAN_BACKENDS);
  const wait = ASSUMED_WAIT_MS;
  // An admit waits on its reads, then its transaction (a held one on its member's write between).
  const admitMs = (DIGEST_STORE_REQUESTS.readsPerAdmit + 1) * wait.dynamoDbWrite;
  const memberMs = DIGEST_STORE_REQUESTS.memberWrites * wait.dynamoDbWrite;
  const deliverMs = {} as Record<Backend, number>;
  for (const backend of BACKENDS) {
    const sendMs = wait[backend] + IDEMPOTENCY_WRITES[backend] * wait.dynamoDbWrite;
    let waitMs = sendMs;
    if (human.has(backend)) {
      // A held alert waits on its admit only; one sent alone on its admit, then its send.
      const window = digestWindowCounts(shapeWindowLoad(backend as HumanBackend, shape));
      const heldShare = (window.alerts - window.sentAlone) / window.alerts;
      waitMs = admitMs + heldShare * memberMs + (1 - heldShare) * sendMs;
    }
    // The ledger's write after the send (its attempt count runs during the send).
    deliverMs[backend] = (inputs.deliverMs[backend] ?? 0) + waitMs + wait.dynamoDbWrite;
  }
  const requests = 1_000_000 / notificationsPerRequest;
  const routeInvocations = 1_000_000 / routeBatchSize;
  const seconds = secondsPerMillion();
  const xray =
    xrayTraces(requests, seconds) +
    xrayTraces(routeInvocations, seconds) +
    BACKENDS.length * xrayTraces(1_000_000, seconds);
  // Ingest's signing keys and each backend's secret but log's, per warm instance per cache period.
  const secretsManagerCalls =
    periodicCalls(DEFAULT_KEY_CACHE_SECONDS, seconds) +
    (BACKENDS.length - 1) * periodicCalls(DEFAULT_SECRET_MAX_AGE_SECONDS, seconds);
  // Route's instances are the topic's publishing principals (one role, a data key each).
  const kmsRequests = periodicCalls(SNS_DATA_KEY_REUSE_SECONDS, seconds);
  const digestShapeSends = shape === "burst" ? 0 : 1;
  return {
    name,
    notificationsPerRequest,
    routeBatchSize,
    notificationBytes: (inputs.requestBytes[notificationsPerRequest] ?? 0) / notificationsPerRequest,
    alertBytes: inputs.alertBytes,
    ingestMs:
      (inputs.ingestMs[notificationsPerRequest] ?? 0) +
      batchWaves(notificationsPerRequest) * wait.sqsSendBatch,
    routeMs: perBatch(inputs.routeMs, routeBatchSize) + batchWaves(routeBatchSize) * wait.snsPublishBatch,
    deliverMs,
    logBytes: {
      ingest: inputs.ingestLogBytes[notificationsPerRequest] ?? 0,
      route: perBatch(inputs.routeLogBytes, routeBatchSize),
      deliver: inputs.deliverLogBytes,
    },
    emailsPerAlert: digestShapeSends,
    smsPerAlert: digestShapeSends,
    idempotencyWritesPerAlert: stored.idempotencyWrites,
    idempotencyRecordsPerAlert: stored.idempotencyRecords,
    digestWritesPerAlert: stored.digestWrites,
    digestReadsPerAlert: stored.digestReads,
    digestItemsPerAlert: stored.digestItems,
    digestSqsRequestsPerAlert: stored.digestSqsRequests,
    digestCloseInvocationsPerAlert: stored.digestCloseInvocations,
    ledgerWritesPerAlert: LEDGER_WRITES_PER_ALERT,
    ledgerReadsPerAlert: LEDGER_READS_PER_ALERT,
    ledgerEntriesPerAlert: LEDGER_ENTRIES_PER_ALERT,
    memory: STACK_MEMORY,
    platformLogBytesPerInvocation: platformLogBytesPerInvocation(STACK_SHAPE.systemLogLevel),
    tracingActive: (options.tracing ?? STACK_SHAPE.tracing) === "active",
    xrayTraces: xray,
    secretsManagerCalls,
    kmsRequests,
  };
}
