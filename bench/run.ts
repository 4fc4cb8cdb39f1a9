/**
 * `npm run bench`: measures the relay against the limits of the machine it runs on and writes
 * bench/results.json. Every figure is the median of several runs, with min and max; ratios pair
 * runs measured side by side. Each section's module says what it measures and how.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BACKENDS, type Backend } from "../lambdas/contracts/messages.js";
import { bundleFunctions, FUNCTIONS, measureImports } from "./cold-start.js";
import {
  ASSUMED_WAIT_MS,
  batchWaves,
  type CostBreakdown,
  type CostScenario,
  costPerMillionNotifications,
  IDEMPOTENCY_WRITES,
  LEDGER_READ_UNITS,
  LEDGER_WRITE_UNITS,
  STACK_MEMORY,
} from "./cost.js";
import { type Figure, formatMarkdownTable, formatTable } from "./figures.js";
import type { HandlerRun } from "./handlers-child.js";
import { type BenchChild, killAllChildren, startChild } from "./ipc.js";
import { type LoadResult, runLoad, signedRequests } from "./load.js";
import type { RelayRunReport } from "./relay-child.js";
import { measureSignature } from "./signature.js";
import { ratioSpread, spread } from "./stats.js";

/** Sizes of the whole run: about two minutes on two cores. */
const PLAN = {
  signature: { rounds: 7, smallSliceMs: 150, largeSliceMs: 300 },
  ingest: { runs: 5, singleCalls: 3000, batchCalls: 40, maxMs: 2500 },
  costInputs: { runs: 3, calls: 300, maxMs: 1500 },
  relay: { runs: 3, durationMs: 8000, warmupMs: 2000, concurrency: 32, poolPerRun: 12_000 },
  coldStart: { runs: 7 },
} as const;

const RESULTS_FILE = fileURLToPath(new URL("results.json", import.meta.url));
const MB = 1024 * 1024;
const figures: Figure[] = [];
const details: Record<string, unknown> = {};

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function add(figure: Figure): void {
  figures.push(figure);
}

async function signatureSection(): Promise<void> {
  for (const [label, bytes, sliceMs] of [
    ["2 KB", 2 * 1024, PLAN.signature.smallSliceMs],
    ["2 MB", 2 * MB, PLAN.signature.largeSliceMs],
  ] as const) {
    log(`signature over ${label} bodies`);
    const rounds = measureSignature(bytes, PLAN.signature.rounds, sliceMs);
    const key = label === "2 KB" ? "2kb" : "2mb";
    add({
      id: `signature.${key}.ratio`,
      name: `Signature check, ${label} body: verifySignature / bare HMAC-SHA256`,
      unit: "ratio",
      value: ratioSpread(
        rounds.map((round) => round.verifyBytesPerSecond),
        rounds.map((round) => round.bareBytesPerSecond),
      ),
      target: { comparison: "atLeast", value: 0.9 },
    });
    add({
      id: `signature.${key}.throughput`,
      name: `Signature check, ${label} body: throughput`,
      unit: "MB/s",
      value: spread(rounds.map((round) => round.verifyBytesPerSecond / MB)),
    });
  }
}

/** Median of a per-run field. */
function medianOf(runs: readonly HandlerRun[], field: keyof HandlerRun): number {
  return spread(runs.map((run) => run[field])).median;
}

interface CostInputs {
  ingestMs: Record<number, number>;
  ingestLogBytes: Record<number, number>;
  requestBytes: Record<number, number>;
  routeMs: Record<number, number>;
  routeLogBytes: Record<number, number>;
  deliverMs: Record<Backend, number>;
  deliverLogBytes: Record<Backend, number>;
  alertBytes: number;
}

async function handlersSection(child: BenchChild): Promise<CostInputs> {
  const runOf = (command: string, argument: object) => child.call<HandlerRun>(command, argument);
  const inputs: CostInputs = {
    ingestMs: {},
    ingestLogBytes: {},
    requestBytes: {},
    routeMs: {},
    routeLogBytes: {},
    deliverMs: {} as Record<Backend, number>,
    deliverLogBytes: {} as Record<Backend, number>,
    alertBytes: 0,
  };
  for (const [notifications, calls, target] of [
    [1, PLAN.ingest.singleCalls, 2],
    [1000, PLAN.ingest.batchCalls, 60],
  ] as const) {
    log(`ingest handler, ${notifications} notification(s) per request`);
    const options = { notifications, calls, maxMs: PLAN.ingest.maxMs };
    await runOf("ingest", options); // warm-up: JIT and caches, not measured
    const runs: HandlerRun[] = [];
    for (let run = 0; run < PLAN.ingest.runs; run++) runs.push(await runOf("ingest", options));
    const label = notifications === 1 ? "1 notification" : "1000 notifications";
    const key = `ingest.n${notifications}`;
    add({
      id: `${key}.p50`,
      name: `Ingest handler, warm, ${label}: p50`,
      unit: "ms",
      value: spread(runs.map((r) => r.p50Ms)),
    });
    add({
      id: `${key}.p99`,
      name: `Ingest handler, warm, ${label}: p99`,
      unit: "ms",
      value: spread(runs.map((r) => r.p99Ms)),
      target: { comparison: "atMost", value: target },
    });
    add({
      id: `${key}.throughput`,
      name: `Ingest handler, warm, ${label}: throughput`,
      unit: "req/s",
      value: spread(runs.map((r) => r.callsPerSecond)),
    });
    inputs.ingestMs[notifications] = medianOf(runs, "meanMs");
    inputs.ingestLogBytes[notifications] = medianOf(runs, "logBytesPerCall");
    inputs.requestBytes[notifications] = medianOf(runs, "inputBytes");
  }

  log("cost inputs: ingest of 10, route batches of 1 and 25, each delivery");
  const { runs: costRuns, calls, maxMs } = PLAN.costInputs;
  const repeat = async (command: string, argument: object): Promise<HandlerRun[]> => {
    await runOf(command, { ...argument, calls, maxMs });
    const runs: HandlerRun[] = [];
    for (let run = 0; run < costRuns; run++) runs.push(await runOf(command, { ...argument, calls, maxMs }));
    return runs;
  };
  const ten = await repeat("ingest", { notifications: 10 });
  inputs.ingestMs[10] = medianOf(ten, "meanMs");
  inputs.ingestLogBytes[10] = medianOf(ten, "logBytesPerCall");
  inputs.requestBytes[10] = medianOf(ten, "inputBytes");
  for (const batchSize of [1, 25]) {
    const runs = await repeat("route", { batchSize });
    inputs.routeMs[batchSize] = medianOf(runs, "meanMs");
    inputs.routeLogBytes[batchSize] = medianOf(runs, "logBytesPerCall");
  }
  for (const backend of BACKENDS) {
    const runs = await repeat("deliver", { backend });
    inputs.deliverMs[backend] = medianOf(runs, "meanMs");
    inputs.deliverLogBytes[backend] = medianOf(runs, "logBytesPerCall");
    inputs.alertBytes = medianOf(runs, "inputBytes");
  }
  details.measuredHandlerMs = {
    ingestPerRequest: inputs.ingestMs,
    routePerBatch: inputs.routeMs,
    deliverPerAlert: inputs.deliverMs,
  };
  return inputs;
}

async function relaySection(): Promise<void> {
  const sink = startChild("sink-child.ts");
  const ceiling = startChild("ceiling-child.ts");
  const relay = startChild("relay-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" });
  const volatile = startChild("relay-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" });
  const frontDoor = startChild("relay-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" });
  try {
    const key = randomBytes(32).toString("hex");
    const { url: sinkUrl } = await sink.call<{ url: string }>("start");
    const { url: ceilingUrl } = await ceiling.call<{ url: string }>("start");
    const { webhookUrl } = await relay.call<{ webhookUrl: string }>("start", { signingKey: key, sinkUrl });
    const { webhookUrl: volatileUrl } = await volatile.call<{ webhookUrl: string }>("start", {
      signingKey: key,
      sinkUrl,
      volatile: true,
    });
    const { webhookUrl: frontDoorUrl } = await frontDoor.call<{ webhookUrl: string }>("start", {
      signingKey: key,
      sinkUrl,
      ingestOnly: true,
    });
    const { concurrency, durationMs, warmupMs, poolPerRun } = PLAN.relay;

    log("relay over HTTP: warm-up");
    const warmup = signedRequests(2000, key);
    await runLoad({ url: ceilingUrl, requests: warmup, concurrency, durationMs: warmupMs, reuse: true });
    const warmBegin = await relay.call<{ rssStartBytes: number }>("beginRun");
    await runLoad({ url: webhookUrl, requests: warmup, concurrency, durationMs: warmupMs, reuse: false });
    await relay.call<RelayRunReport>("endRun", warmBegin);
    await runLoad({ url: frontDoorUrl, requests: warmup, concurrency, durationMs: warmupMs, reuse: false });
    const volatileWarm = await volatile.call<{ rssStartBytes: number }>("beginRun");
    await runLoad({
      url: volatileUrl,
      requests: signedRequests(2000, key),
      concurrency,
      durationMs: warmupMs,
      reuse: false,
    });
    await volatile.call<RelayRunReport>("endRun", volatileWarm);

    const ceilings: LoadResult[] = [];
    const relays: LoadResult[] = [];
    const frontDoors: LoadResult[] = [];
    const volatiles: LoadResult[] = [];
    const reports: RelayRunReport[] = [];
    for (let run = 0; run < PLAN.relay.runs; run++) {
      const requests = signedRequests(poolPerRun, key);
      log(
        `relay over HTTP: run ${run + 1}/${PLAN.relay.runs}, ceiling then relay, ${durationMs / 1000} s each`,
      );
      ceilings.push(await runLoad({ url: ceilingUrl, requests, concurrency, durationMs, reuse: true }));
      const begin = await relay.call<{ rssStartBytes: number }>("beginRun");
      relays.push(await runLoad({ url: webhookUrl, requests, concurrency, durationMs, reuse: false }));
      reports.push(await relay.call<RelayRunReport>("endRun", begin));
      frontDoors.push(await runLoad({ url: frontDoorUrl, requests, concurrency, durationMs, reuse: true }));
      const volatileBegin = await volatile.call<{ rssStartBytes: number }>("beginRun");
      volatiles.push(
        await runLoad({
          url: volatileUrl,
          requests: signedRequests(poolPerRun, key),
          concurrency,
          durationMs,
          reuse: false,
        }),
      );
      await volatile.call<RelayRunReport>("endRun", volatileBegin);
    }
    const sinkReceived = await sink.call<Record<string, number>>("received");
    const perRun = relays.map((result, index) => ({
      load: result,
      ceiling: ceilings[index],
      relay: reports[index],
    }));
    details.relayRuns = perRun;
    details.sinkReceived = sinkReceived;
    const ceilingRate = ceilings.map((result) => result.okPerSecond);
    const relayRate = relays.map((result) => result.okPerSecond);

    add({
      id: "relay.ratio",
      name: "Local relay, 32 senders: accepted req/s / bare Node HTTP server",
      unit: "ratio",
      value: ratioSpread(relayRate, ceilingRate),
      target: { comparison: "atLeast", value: 0.5 },
    });
    add({
      id: "relay.durabilityRatio",
      name: "Local relay, 32 senders: accepted req/s, durable (database on disk, fsynced acceptances) / in-memory database",
      unit: "ratio",
      value: ratioSpread(
        relayRate,
        volatiles.map((result) => result.okPerSecond),
      ),
    });
    add({
      id: "relay.volatileThroughput",
      name: "Local relay on an in-memory database (no durability): accepted requests/s",
      unit: "req/s",
      value: spread(volatiles.map((result) => result.okPerSecond)),
    });
    add({
      id: "relay.frontDoorRatio",
      name: "Front door only (API Gateway stand-in + ingest, queue in memory): accepted req/s / bare Node HTTP server",
      unit: "ratio",
      value: ratioSpread(
        frontDoors.map((result) => result.okPerSecond),
        ceilingRate,
      ),
      target: { comparison: "atLeast", value: 0.5 },
    });
    add({
      id: "relay.frontDoorP99",
      name: "Front door only: answer latency p99",
      unit: "ms",
      value: spread(frontDoors.map((r) => r.p99Ms)),
    });
    add({
      id: "relay.throughput",
      name: "Local relay: accepted requests/s",
      unit: "req/s",
      value: spread(relayRate),
    });
    add({
      id: "relay.ceiling",
      name: "Ceiling: bare Node HTTP server, requests/s",
      unit: "req/s",
      value: spread(ceilingRate),
    });
    add({
      id: "relay.p50",
      name: "Local relay: answer latency p50",
      unit: "ms",
      value: spread(relays.map((r) => r.p50Ms)),
    });
    add({
      id: "relay.p99",
      name: "Local relay: answer latency p99",
      unit: "ms",
      value: spread(relays.map((r) => r.p99Ms)),
    });
    add({
      id: "relay.deliveredP99",
      name: "Local relay: accept → delivered by all 5 backends, p99",
      unit: "ms",
      value: spread(reports.map((r) => r.acceptToDeliveredP99Ms)),
    });
    add({
      id: "relay.lost",
      name: "Local relay: accepted notifications not delivered by every backend",
      unit: "count",
      value: spread(
        reports.map((r) => r.lost + r.deadLetters + Math.max(0, r.accepted * r.backends - sum(r.delivered))),
      ),
      target: { comparison: "atMost", value: 0 },
    });
    add({
      id: "relay.rssStart",
      name: "Local relay: RSS at run start",
      unit: "MB",
      value: spread(reports.map((r) => r.rssStartBytes / MB)),
    });
    add({
      id: "relay.rssPeak",
      name: "Local relay: RSS peak",
      unit: "MB",
      value: spread(reports.map((r) => r.rssPeakBytes / MB)),
    });
    await relay.call("close");
    await frontDoor.call("close");
    await volatile.call("close");
  } finally {
    await Promise.all([relay.stop(), volatile.stop(), frontDoor.stop(), ceiling.stop(), sink.stop()]);
  }
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((total, value) => total + value, 0);
}

async function coldStartSection(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sqreen-relay-bundles-"));
  try {
    log("cold start: bundling every function as the stack does");
    const bundles = await bundleFunctions(dir);
    log("cold start: timing imports in fresh processes");
    const rounds = measureImports(bundles, PLAN.coldStart.runs);
    details.bundles = bundles.map(({ name, bytes, sourceMapBytes }) => ({ name, bytes, sourceMapBytes }));
    details.bareNodeMs = spread(rounds.map((round) => round.bareMs));
    for (const bundle of bundles) {
      add({
        id: `coldStart.${bundle.name}.size`,
        name: `Bundle size: ${bundle.name} (AWS SDK included)`,
        unit: "KB",
        value: spread([bundle.bytes / 1024]),
        target: { comparison: "atMost", value: 300 },
      });
    }
    for (const name of FUNCTIONS) {
      add({
        id: `coldStart.${name}.import`,
        name: `Import beyond bare node -e 0: ${name}`,
        unit: "ms",
        value: spread(rounds.map((round) => round.beyondBareMs[name])),
        target: { comparison: "atMost", value: 40 },
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Billed wall time: measured CPU plus the documented waits on AWS and downstream services. */
function scenarioOf(
  inputs: CostInputs,
  name: string,
  notificationsPerRequest: 1 | 10,
  routeBatchSize: 1 | 25,
): CostScenario {
  const deliverMs = {} as Record<Backend, number>;
  for (const backend of BACKENDS) {
    deliverMs[backend] =
      (inputs.deliverMs[backend] ?? 0) +
      ASSUMED_WAIT_MS[backend] +
      IDEMPOTENCY_WRITES[backend] * ASSUMED_WAIT_MS.dynamoDbWrite +
      // The ledger's write after the send (its attempt count runs during the send).
      ASSUMED_WAIT_MS.dynamoDbWrite;
  }
  return {
    name,
    notificationsPerRequest,
    routeBatchSize,
    notificationBytes: (inputs.requestBytes[notificationsPerRequest] ?? 0) / notificationsPerRequest,
    alertBytes: inputs.alertBytes,
    ingestMs:
      (inputs.ingestMs[notificationsPerRequest] ?? 0) +
      batchWaves(notificationsPerRequest) * ASSUMED_WAIT_MS.sqsSendBatch,
    routeMs:
      (inputs.routeMs[routeBatchSize] ?? 0) + batchWaves(routeBatchSize) * ASSUMED_WAIT_MS.snsPublishBatch,
    deliverMs,
    logBytes: {
      ingest: inputs.ingestLogBytes[notificationsPerRequest] ?? 0,
      route: inputs.routeLogBytes[routeBatchSize] ?? 0,
      deliver: inputs.deliverLogBytes,
    },
    emailsPerAlert: 1,
    smsPerAlert: 1,
    idempotencyWritesPerAlert: BACKENDS.reduce((total, backend) => total + IDEMPOTENCY_WRITES[backend], 0),
    ledgerWriteUnitsPerAlert: BACKENDS.reduce((total, backend) => total + LEDGER_WRITE_UNITS[backend], 0),
    ledgerReadUnitsPerAlert: BACKENDS.length * LEDGER_READ_UNITS,
    memory: STACK_MEMORY,
  };
}

function costSection(inputs: CostInputs): CostBreakdown[] {
  const breakdowns = [
    costPerMillionNotifications(
      scenarioOf(inputs, "quiet: 1 notification per request, routed one at a time", 1, 1),
    ),
    costPerMillionNotifications(
      scenarioOf(inputs, "busy: 10 notifications per request, route batches of 25", 10, 25),
    ),
  ];
  const [quiet, busy] = breakdowns as [CostBreakdown, CostBreakdown];
  add({
    id: "cost.quiet",
    name: "Cost per million notifications to 5 backends (1/request, batch 1)",
    unit: "$",
    value: spread([quiet.platformTotal]),
  });
  add({
    id: "cost.busy",
    name: "Cost per million notifications to 5 backends (10/request, batch 25)",
    unit: "$",
    value: spread([busy.platformTotal]),
  });
  return breakdowns;
}

async function main(): Promise<void> {
  const started = Date.now();
  process.on("SIGINT", () => {
    killAllChildren();
    process.exit(130);
  });
  let cost: CostBreakdown[] = [];
  try {
    await signatureSection();
    const handlers = startChild("handlers-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" });
    let inputs: CostInputs;
    try {
      inputs = await handlersSection(handlers);
    } finally {
      await handlers.stop();
    }
    await relaySection();
    await coldStartSection();
    cost = costSection(inputs);
  } finally {
    killAllChildren();
  }

  const results = {
    command: "npm run bench",
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      totalMemoryMB: Math.round(totalmem() / MB),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    figures: figures.map((figure) => ({
      id: figure.id,
      name: figure.name,
      unit: figure.unit,
      median: figure.value.median,
      min: figure.value.min,
      max: figure.value.max,
      runs: figure.value.runs,
      ...(figure.target ? { target: figure.target } : {}),
    })),
    cost: { assumedWaitMs: ASSUMED_WAIT_MS, memoryMb: STACK_MEMORY, breakdowns: cost },
    details,
  };
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);

  console.log(formatTable(figures));
  console.log("");
  for (const breakdown of cost) {
    console.log(`Cost, ${breakdown.scenario} (USD per million notifications):`);
    for (const line of breakdown.lines) {
      console.log(
        `  ${line.item.padEnd(48)} ${line.dollarsPerMillion.toFixed(2).padStart(8)}${line.inPlatformTotal ? "" : "  (apart)"}`,
      );
    }
    console.log(`  ${"platform total".padEnd(48)} ${breakdown.platformTotal.toFixed(2).padStart(8)}`);
  }
  console.log(`\nMarkdown:\n\n${formatMarkdownTable(figures)}\n`);
  log(`done in ${results.durationSeconds} s; wrote ${RESULTS_FILE}`);
}

main().catch((error: unknown) => {
  killAllChildren();
  console.error(error);
  process.exit(1);
});
