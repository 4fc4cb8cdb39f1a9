/**
 * `npm run bench`: measures the relay against the limits of the machine it runs on and writes
 * bench/results.json. Every figure is the median of several runs, with min and max; ratios pair
 * runs measured side by side. Each section's module says what it measures and how.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BACKENDS, type Backend } from "../lambdas/contracts/messages.js";
import { signBody } from "../lambdas/ingest/signature.js";
import { findSample, sampleBody } from "../scripts/sqreen/samples.js";
import {
  type BundleName,
  bundleFunctions,
  FLOOR,
  measureImports,
  node24,
  nodeVersion,
} from "./cold-start.js";
import {
  ASSUMED_WAIT_MS,
  type CostBreakdown,
  costPerMillionNotifications,
  costScenario,
  DIGEST_COST_LOADS,
  digestCosts,
  type MeasuredCostInputs,
  routeBatchAtRate,
  STACK_MEMORY,
  STACK_SHAPE,
} from "./cost.js";
import { type Figure, formatTable } from "./figures.js";
import type { HandlerRun } from "./handlers-child.js";
import { type BenchChild, killAllChildren, startChild } from "./ipc.js";
import { type SignedRequest, signedRequests } from "./load.js";
import { type PacedResult, runPaced } from "./paced.js";
import type { RelayRunReport } from "./relay-child.js";
import { type BenchResults, performanceReport, replaceReport } from "./report.js";
import { measureSignature } from "./signature.js";
import { ratioSpread, spread } from "./stats.js";
import { assertWrkInstalled, runWrk, type WrkResult } from "./wrk.js";

/** Sizes of the whole run: about two minutes on two cores. */
const PLAN = {
  signature: { rounds: 7, smallSliceMs: 150, largeSliceMs: 300 },
  ingest: { runs: 5, singleCalls: 3000, batchCalls: 40, maxMs: 2500 },
  costInputs: { runs: 3, calls: 300, maxMs: 1500 },
  /** wrk's threads and connections for every HTTP figure (the measurements: -t2 -c32). */
  wrk: { threads: 2, connections: 32 },
  frontDoor: { rounds: 3, seconds: 5, warmupSeconds: 2 },
  relay: { runs: 3, seconds: 8, warmupSeconds: 2, poolPerRun: 20_000, pacedSeconds: 10 },
  coldStart: { runs: 7 },
} as const;

/** Issue 17's goal for the durable local relay with five backends: notifications delivered per second. */
const DELIVERED_GOAL_PER_SECOND = 1000;

/** "Memory flat": RSS after the last drain at most this factor of RSS before the first run. */
const MEMORY_FLAT_FACTOR = 1.25;

/** How long the parent waits for a relay run's drain (relay-child.ts DRAIN_TIMEOUT_MS, and a margin). */
const DRAIN_WAIT_MS = 300_000;

const RESULTS_FILE = fileURLToPath(new URL("results.json", import.meta.url));
const README_FILE = fileURLToPath(new URL("../README.md", import.meta.url));
/** A whole run kept as the "before" of the README's before-and-after table (never rewritten by a run). */
const BASELINE_FILE = fileURLToPath(new URL("baseline.json", import.meta.url));
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

/** The handler measurements the cost model takes (bench/cost.ts). */
type CostInputs = MeasuredCostInputs;

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

/** The signed bodies the front door is measured with: Sqreen's sample batch, and one notification. */
function frontDoorBodies(key: string): Array<{ key: string; label: string; request: SignedRequest }> {
  const sample = findSample("v2-mixed-batch");
  if (!sample) throw new Error("the v2-mixed-batch sample is missing");
  const body = sampleBody(sample);
  return [
    {
      key: "batch",
      label: `v2-mixed-batch (${sample.notifications.length} notifications)`,
      request: { body, signature: signBody(body, key) },
    },
    { key: "one", label: "1 notification", request: signedRequests(1, key)[0] as SignedRequest },
  ];
}

/** One wrk run against `child`'s server, with the child's CPU time over the run. */
async function measured(
  child: BenchChild,
  url: string,
  requests: readonly SignedRequest[],
  durationSeconds: number,
): Promise<WrkResult & { cpuMicros: number }> {
  const cpuBefore = await child.call<number>("cpu");
  const result = await runWrk({ url, requests, ...PLAN.wrk, durationSeconds });
  const cpuMicros = (await child.call<number>("cpu")) - cpuBefore;
  if (result.socketErrors > 0 || result.timeouts > 0) {
    log(`${child.name}: ${result.socketErrors} socket errors, ${result.timeouts} timeouts`);
  }
  return { ...result, cpuMicros };
}

const FRONT_DOOR_SERVERS = ["bare", "floor", "fastify", "frontDoor"] as const;
type FrontDoorServer = (typeof FRONT_DOOR_SERVERS)[number];
const SERVER_NAMES: Record<FrontDoorServer, string> = {
  bare: "bare node:http answering 200 (ceiling)",
  floor: "node:http + HMAC + JSON.parse (floor)",
  fastify: "Fastify 5 + HMAC on the raw body (peer)",
  frontDoor: "relay front door (gateway stand-in + ingest, queue in memory)",
};

/**
 * The front door against its peers: the four servers side by side, each loaded by wrk in turn in
 * every round, with each body; req/s and CPU time per request of each.
 */
async function frontDoorSection(): Promise<void> {
  const key = randomBytes(32).toString("hex");
  const children = {
    bare: startChild("peers-child.ts"),
    floor: startChild("peers-child.ts"),
    fastify: startChild("peers-child.ts"),
    frontDoor: startChild("relay-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" }),
  } satisfies Record<FrontDoorServer, BenchChild>;
  try {
    const urls = {} as Record<FrontDoorServer, string>;
    for (const kind of ["bare", "floor", "fastify"] as const) {
      ({ url: urls[kind] } = await children[kind].call<{ url: string }>("start", { kind, signingKey: key }));
    }
    ({ webhookUrl: urls.frontDoor } = await children.frontDoor.call<{ webhookUrl: string }>("start", {
      signingKey: key,
      sinkUrl: "http://127.0.0.1:9",
      ingestOnly: true,
    }));
    const bodies = frontDoorBodies(key);
    log(`front door and peers: warm-up, ${PLAN.frontDoor.warmupSeconds} s each`);
    for (const body of bodies) {
      for (const server of FRONT_DOOR_SERVERS) {
        await measured(children[server], urls[server], [body.request], PLAN.frontDoor.warmupSeconds);
      }
    }
    const results: Record<string, Record<FrontDoorServer, Array<WrkResult & { cpuMicros: number }>>> = {};
    for (const body of bodies) results[body.key] = { bare: [], floor: [], fastify: [], frontDoor: [] };
    for (let round = 0; round < PLAN.frontDoor.rounds; round++) {
      log(`front door and peers: round ${round + 1}/${PLAN.frontDoor.rounds}`);
      for (const body of bodies) {
        for (const server of FRONT_DOOR_SERVERS) {
          const result = await measured(
            children[server],
            urls[server],
            [body.request],
            PLAN.frontDoor.seconds,
          );
          if (result.non2xx > 0)
            throw new Error(`${server} answered ${result.non2xx} requests with an error`);
          results[body.key]?.[server].push(result);
        }
      }
    }
    details.frontDoorRuns = results;
    for (const body of bodies) {
      const runs = results[body.key] as Record<FrontDoorServer, Array<WrkResult & { cpuMicros: number }>>;
      const rate = (server: FrontDoorServer) => runs[server].map((run) => run.okPerSecond);
      const cpu = (server: FrontDoorServer) => runs[server].map((run) => run.cpuMicros / run.ok);
      add({
        id: `frontDoor.${body.key}.vsPeer`,
        name: `Front door / Fastify peer, req/s, ${body.label}`,
        unit: "ratio",
        value: ratioSpread(rate("frontDoor"), rate("fastify")),
        target: { comparison: "atLeast", value: 1 },
      });
      add({
        id: `frontDoor.${body.key}.cpuVsFloor`,
        name: `Front door / floor, CPU per request, ${body.label}`,
        unit: "ratio",
        value: ratioSpread(cpu("frontDoor"), cpu("floor")),
        target: { comparison: "atMost", value: 1.5 },
      });
      for (const server of FRONT_DOOR_SERVERS) {
        add({
          id: `frontDoor.${body.key}.${server}.throughput`,
          name: `${SERVER_NAMES[server]}, ${body.label}: req/s`,
          unit: "req/s",
          value: spread(rate(server)),
        });
        if (server !== "bare") {
          add({
            id: `frontDoor.${body.key}.${server}.vsBare`,
            name: `${SERVER_NAMES[server]}, ${body.label}: req/s / bare`,
            unit: "ratio",
            value: ratioSpread(rate(server), rate("bare")),
          });
        }
        add({
          id: `frontDoor.${body.key}.${server}.cpu`,
          name: `${SERVER_NAMES[server]}, ${body.label}: CPU per request`,
          unit: "µs",
          value: spread(cpu(server)),
        });
      }
      add({
        id: `frontDoor.${body.key}.p99`,
        name: `Relay front door, ${body.label}: answer latency p99`,
        unit: "ms",
        value: spread(runs.frontDoor.map((run) => run.p99Ms)),
      });
    }
    await children.frontDoor.call("close");
  } finally {
    await Promise.all(Object.values(children).map((child) => child.stop()));
  }
}

/**
 * The whole local relay, durable (SQLite on disk) and on an in-memory database, five backends,
 * one notification per request, each request with its own event id (a pool larger than a run
 * sends). wrk keeps 32 requests in flight: the relay is loaded past what it delivers, and the
 * delivered rate is the deliveries over the run and the drain that follows it.
 */
async function relaySection(): Promise<void> {
  const sink = startChild("sink-child.ts");
  const relay = startChild("relay-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" });
  const volatile = startChild("relay-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" });
  try {
    const key = randomBytes(32).toString("hex");
    const { url: sinkUrl } = await sink.call<{ url: string }>("start");
    const { webhookUrl } = await relay.call<{ webhookUrl: string }>("start", { signingKey: key, sinkUrl });
    const { webhookUrl: volatileUrl } = await volatile.call<{ webhookUrl: string }>("start", {
      signingKey: key,
      sinkUrl,
      volatile: true,
    });
    const { seconds, warmupSeconds, poolPerRun } = PLAN.relay;
    const runOnce = async (child: BenchChild, url: string, duration: number) => {
      const begin = await child.call<{ rssStartBytes: number }>("beginRun");
      const load = await measured(child, url, signedRequests(poolPerRun, key), duration);
      const cpuBefore = await child.call<number>("cpu");
      const report = await child.call<RelayRunReport>("endRun", begin, DRAIN_WAIT_MS);
      const drainCpu = (await child.call<number>("cpu")) - cpuBefore;
      return { load, report, cpuMicros: load.cpuMicros + drainCpu };
    };
    log(`local relay: warm-up, ${warmupSeconds} s each`);
    await runOnce(relay, webhookUrl, warmupSeconds);
    await runOnce(volatile, volatileUrl, warmupSeconds);

    const durable: Array<Awaited<ReturnType<typeof runOnce>>> = [];
    const inMemory: Array<Awaited<ReturnType<typeof runOnce>>> = [];
    for (let run = 0; run < PLAN.relay.runs; run++) {
      log(`local relay: run ${run + 1}/${PLAN.relay.runs}, durable then in-memory, ${seconds} s each`);
      durable.push(await runOnce(relay, webhookUrl, seconds));
      inMemory.push(await runOnce(volatile, volatileUrl, seconds));
    }
    const sinkReceived = await sink.call<Record<string, number>>("received");
    details.relayRuns = durable;
    details.volatileRelayRuns = inMemory;
    details.sinkReceived = sinkReceived;
    const relayRate = durable.map(({ load }) => load.okPerSecond);
    const deliveredRate = durable.map(
      ({ load, report }) => report.deliveredByAll / ((load.elapsedMs + report.drainMs) / 1000),
    );

    // Latency at a held rate: half the goal's rate, and half the rate this relay delivered above.
    const halfMeasured = Math.max(1, Math.round(spread(deliveredRate).median / 2));
    const paced: Record<string, { rate: number; load: PacedResult; report: RelayRunReport }> = {};
    for (const [name, rate] of [
      ["halfGoal", DELIVERED_GOAL_PER_SECOND / 2],
      ["halfMeasured", halfMeasured],
    ] as const) {
      log(`local relay: ${rate} notifications/s held for ${PLAN.relay.pacedSeconds} s`);
      const begin = await relay.call<{ rssStartBytes: number }>("beginRun");
      const load = await runPaced({
        url: webhookUrl,
        requests: signedRequests(Math.ceil(rate * PLAN.relay.pacedSeconds), key),
        perSecond: rate,
        seconds: PLAN.relay.pacedSeconds,
        maxInFlight: 256,
      });
      const report = await relay.call<RelayRunReport>("endRun", begin, DRAIN_WAIT_MS);
      paced[name] = { rate, load, report };
    }
    details.pacedRelayRuns = paced;
    add({
      id: "relay.halfGoalDeliveredP99",
      name: `Local relay, durable: accept → delivered by all 5, p99, at ${DELIVERED_GOAL_PER_SECOND / 2} notifications/s held (half the goal's rate)`,
      unit: "ms",
      value: spread([paced.halfGoal?.report.acceptToDeliveredP99Ms ?? Number.NaN]),
      target: { comparison: "atMost", value: 50 },
    });
    add({
      id: "relay.halfMeasuredDeliveredP99",
      name: `Local relay, durable: accept → delivered by all 5, p99, at ${halfMeasured} notifications/s held (half the rate delivered above)`,
      unit: "ms",
      value: spread([paced.halfMeasured?.report.acceptToDeliveredP99Ms ?? Number.NaN]),
    });

    add({
      id: "relay.throughput",
      name: "Local relay, durable, 5 backends: accepted requests/s (1 notification each)",
      unit: "req/s",
      value: spread(relayRate),
    });
    add({
      id: "relay.delivered",
      name: "Local relay, durable, 5 backends: notifications delivered by all 5 per second (run + drain)",
      unit: "/s",
      value: spread(deliveredRate),
      target: { comparison: "atLeast", value: DELIVERED_GOAL_PER_SECOND },
    });
    add({
      id: "relay.cpuPerNotification",
      name: "Local relay, durable: CPU per notification delivered to all 5 (run + drain)",
      unit: "ms",
      value: spread(durable.map(({ report, cpuMicros }) => cpuMicros / 1000 / report.deliveredByAll)),
    });
    add({
      id: "relay.durabilityRatio",
      name: "Local relay: accepted req/s, durable / in-memory database",
      unit: "ratio",
      value: ratioSpread(
        relayRate,
        inMemory.map(({ load }) => load.okPerSecond),
      ),
    });
    add({
      id: "relay.volatileThroughput",
      name: "Local relay on an in-memory database (no durability): accepted requests/s",
      unit: "req/s",
      value: spread(inMemory.map(({ load }) => load.okPerSecond)),
    });
    add({
      id: "relay.p99",
      name: "Local relay, durable: answer latency p99",
      unit: "ms",
      value: spread(durable.map(({ load }) => load.p99Ms)),
    });
    add({
      id: "relay.deliveredP99",
      name: "Local relay, durable, overloaded: accept → delivered by all 5 backends, p99",
      unit: "ms",
      value: spread(durable.map(({ report }) => report.acceptToDeliveredP99Ms)),
    });
    add({
      id: "relay.lost",
      name: "Local relay: accepted notifications not delivered by every backend",
      unit: "count",
      value: spread(
        [...durable, ...inMemory].map(
          ({ report: r }) => r.lost + r.deadLetters + Math.max(0, r.accepted * r.backends - sum(r.delivered)),
        ),
      ),
      target: { comparison: "atMost", value: 0 },
    });
    add({
      id: "relay.rssStart",
      name: "Local relay, durable: RSS at run start",
      unit: "MB",
      value: spread(durable.map(({ report }) => report.rssStartBytes / MB)),
    });
    add({
      id: "relay.rssPeak",
      name: "Local relay, durable: RSS peak",
      unit: "MB",
      value: spread(durable.map(({ report }) => report.rssPeakBytes / MB)),
    });
    const firstRun = durable[0]?.report;
    const lastRun = durable[durable.length - 1]?.report;
    add({
      id: "relay.rssGrowth",
      name: "Local relay, durable: RSS after the last run's drain / after the first run's drain",
      unit: "ratio",
      value: spread([(lastRun?.rssEndBytes ?? Number.NaN) / (firstRun?.rssEndBytes ?? Number.NaN)]),
      // Flat: once caches and the heap have grown to the load (the first run), run after run of
      // the same load leaves the relay no bigger.
      target: { comparison: "atMost", value: MEMORY_FLAT_FACTOR },
    });
    await relay.call("close");
    await volatile.call("close");
  } finally {
    await Promise.all([relay.stop(), volatile.stop(), sink.stop()]);
  }
}

function sum(record: Readonly<Record<string, number>>): number {
  return Object.values(record).reduce((total, value) => total + value, 0);
}

/** The bundle goal (issue 17): each function within this factor of the SQS-only floor, bytes and import. */
const BUNDLE_FLOOR_FACTOR = 1.1;

async function coldStartSection(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sqreen-relay-bundles-"));
  try {
    log("cold start: bundling the floor and every function as the stack does");
    const bundles = await bundleFunctions(dir);
    const node = node24();
    log(`cold start: timing imports in fresh Node.js ${nodeVersion(node)} processes`);
    const rounds = measureImports(bundles, PLAN.coldStart.runs, node);
    details.coldStartNode = nodeVersion(node);
    details.bundles = bundles.map(({ name, bytes, sourceMapBytes }) => ({ name, bytes, sourceMapBytes }));
    details.bareNodeMs = spread(rounds.map((round) => round.bareMs));
    const floor = bundles.find((bundle) => bundle.name === FLOOR);
    if (!floor) throw new Error("the floor bundle was not built");
    details.bareNodeCpuMs = spread(rounds.map((round) => round.bareCpuMs));
    const wallOf = (name: BundleName) => rounds.map((round) => round.beyondBareMs[name]);
    const cpuOf = (name: BundleName) => rounds.map((round) => round.beyondBareCpuMs[name]);
    add({
      id: "coldStart.floor.size",
      name: "Bundle size: floor (one SQS SendMessage, same SDK and options)",
      unit: "KB",
      value: spread([floor.bytes / 1024]),
    });
    add({
      id: "coldStart.floor.importCpu",
      name: "Import CPU time beyond bare node -e 0 (Node 24): floor",
      unit: "ms",
      value: spread(cpuOf(FLOOR)),
    });
    add({
      id: "coldStart.floor.import",
      name: "Import beyond bare node -e 0 (Node 24): floor",
      unit: "ms",
      value: spread(wallOf(FLOOR)),
    });
    for (const bundle of bundles) {
      if (bundle.name === FLOOR) continue;
      add({
        id: `coldStart.${bundle.name}.size`,
        name: `Bundle size: ${bundle.name} (AWS SDK included)`,
        unit: "KB",
        value: spread([bundle.bytes / 1024]),
      });
      add({
        id: `coldStart.${bundle.name}.sizeVsFloor`,
        name: `Bundle size / floor: ${bundle.name}`,
        unit: "ratio",
        value: spread([bundle.bytes / floor.bytes]),
        target: { comparison: "atMost", value: BUNDLE_FLOOR_FACTOR },
      });
      add({
        id: `coldStart.${bundle.name}.importCpu`,
        name: `Import CPU time beyond bare node -e 0 (Node 24): ${bundle.name}`,
        unit: "ms",
        value: spread(cpuOf(bundle.name)),
      });
      add({
        id: `coldStart.${bundle.name}.importCpuVsFloor`,
        name: `Import CPU time / floor's: ${bundle.name}`,
        unit: "ratio",
        value: ratioSpread(cpuOf(bundle.name), cpuOf(FLOOR)),
        target: { comparison: "atMost", value: BUNDLE_FLOOR_FACTOR },
      });
      // Wall time, shown beside it: what a quiet machine would see, and how noisy this one is.
      add({
        id: `coldStart.${bundle.name}.import`,
        name: `Import beyond bare node -e 0 (Node 24): ${bundle.name}`,
        unit: "ms",
        value: spread(wallOf(bundle.name)),
      });
      add({
        id: `coldStart.${bundle.name}.importVsFloor`,
        name: `Import / floor's import: ${bundle.name}`,
        unit: "ratio",
        value: ratioSpread(wallOf(bundle.name), wallOf(FLOOR)),
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function costSection(inputs: CostInputs): CostBreakdown[] {
  // At one notification per request the route mapping's batching window still fills batches.
  const batched = routeBatchAtRate();
  const breakdowns = [
    costPerMillionNotifications(
      costScenario(inputs, {
        name: `burst: 1 notification per request, route batches of ${batched} (100/s), digests holding`,
        notificationsPerRequest: 1,
        routeBatchSize: batched,
        shape: "burst",
      }),
    ),
    costPerMillionNotifications(
      costScenario(inputs, {
        name: `quiet: 1 notification per request, route batches of ${batched} (100/s), each alert sent alone`,
        notificationsPerRequest: 1,
        routeBatchSize: batched,
        shape: "alone",
      }),
    ),
    costPerMillionNotifications(
      costScenario(inputs, {
        name: `busy: 10 notifications per request, route batches of ${STACK_SHAPE.routeBatchSize}, digests holding`,
        notificationsPerRequest: 10,
        routeBatchSize: STACK_SHAPE.routeBatchSize,
        shape: "burst",
      }),
    ),
  ];
  const [burst, quiet, busy] = breakdowns as [CostBreakdown, CostBreakdown, CostBreakdown];
  add({
    id: "cost.burst",
    name: "Cost per million notifications to 5 backends (1/request, burst: digests holding)",
    unit: "$",
    value: spread([burst.platformTotal]),
    target: { comparison: "atMost", value: 8 },
  });
  add({
    id: "cost.quiet",
    name: "Cost per million notifications to 5 backends (1/request, each alert alone)",
    unit: "$",
    value: spread([quiet.platformTotal]),
  });
  add({
    id: "cost.busy",
    name: "Cost per million notifications to 5 backends (10/request, burst)",
    unit: "$",
    value: spread([busy.platformTotal]),
  });
  return breakdowns;
}

/** Each scenario's lines, as the README's cost paragraph quotes them. */
function printCost(cost: readonly CostBreakdown[]): void {
  for (const breakdown of cost) {
    console.log(`\nCost, ${breakdown.scenario} (USD per million notifications):`);
    for (const line of breakdown.lines) {
      console.log(
        `  ${line.item.padEnd(48)} ${line.dollarsPerMillion.toFixed(2).padStart(8)}${line.inPlatformTotal ? "" : "  (apart)"}`,
      );
    }
    console.log(`  ${"platform total".padEnd(48)} ${breakdown.platformTotal.toFixed(2).padStart(8)}`);
  }
}

/** The in-process handler measurements (the cost model's inputs), in a child of their own. */
async function withHandlersChild(section: (child: BenchChild) => Promise<CostInputs>): Promise<CostInputs> {
  const handlers = startChild("handlers-child.ts", { POWERTOOLS_LOG_LEVEL: "INFO" });
  try {
    return await section(handlers);
  } finally {
    await handlers.stop();
  }
}

const SECTIONS = ["front-door", "relay", "cold-start", "cost"] as const;

/** `--only front-door,relay`: the sections to run, or undefined for the whole benchmark. */
function onlySections(args: readonly string[]): Set<string> | undefined {
  const index = args.indexOf("--only");
  if (index < 0) return undefined;
  const names = (args[index + 1] ?? "").split(",").filter(Boolean);
  const unknown = names.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes a comma-separated list of ${SECTIONS.join(", ")}`);
  }
  return new Set(names);
}

/** The commit measured, `+` when the work tree had changes (a run of record is made on a clean tree). */
function commitUnderTest(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      encoding: "utf8",
    });
    return dirty.trim() === "" ? commit : `${commit}+`;
  } catch {
    return "unknown";
  }
}

/** The README's report block, from `results` and the baseline run when there is one. */
function writeReport(results: BenchResults): void {
  const baseline = existsSync(BASELINE_FILE)
    ? (JSON.parse(readFileSync(BASELINE_FILE, "utf8")) as BenchResults)
    : undefined;
  writeFileSync(
    README_FILE,
    replaceReport(readFileSync(README_FILE, "utf8"), performanceReport(results, baseline)),
  );
}

async function main(): Promise<void> {
  if (process.argv.includes("--report")) {
    // Only the README's block again, from the run already recorded (after a change to report.ts).
    writeReport(JSON.parse(readFileSync(RESULTS_FILE, "utf8")) as BenchResults);
    log(`wrote the report of ${RESULTS_FILE} in ${README_FILE}`);
    return;
  }
  const started = Date.now();
  process.on("SIGINT", () => {
    killAllChildren();
    process.exit(130);
  });
  const loadAtStart = loadavg()[0] as number;
  let cost: CostBreakdown[] = [];
  const only = onlySections(process.argv.slice(2));
  if (!only || only.has("front-door") || only.has("relay")) assertWrkInstalled();
  try {
    if (only) {
      // A partial run, while working on one part: printed, never written as the run of record.
      if (only.has("front-door")) await frontDoorSection();
      if (only.has("relay")) await relaySection();
      if (only.has("cold-start")) await coldStartSection();
      if (only.has("cost")) cost = costSection(await withHandlersChild(handlersSection));
      console.log(formatTable(figures));
      printCost(cost);
      return;
    }
    await signatureSection();
    const inputs = await withHandlersChild(handlersSection);
    await frontDoorSection();
    await relaySection();
    await coldStartSection();
    cost = costSection(inputs);
  } finally {
    killAllChildren();
  }

  const results: BenchResults = {
    command: "npm run bench",
    commit: commitUnderTest(),
    date: new Date().toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      totalMemoryMB: Math.round(totalmem() / MB),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] as number },
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
  writeReport(results);

  console.log(formatTable(figures));
  printCost(cost);
  console.log("\nDigests, per million alerts to one destination (USD; messages that reach it):");
  for (const { name, load } of DIGEST_COST_LOADS) {
    const digest = digestCosts(load);
    console.log(
      `  ${name.padEnd(48)} DynamoDB ${digest.dynamoDb.toFixed(2)}, SQS ${digest.sqs.toFixed(4)}, ` +
        `Lambda ${digest.lambdaRequests.toFixed(4)}; ${Math.round(digest.messagesSent)} messages`,
    );
  }
  log(`done in ${results.durationSeconds} s; wrote ${RESULTS_FILE} and the report in ${README_FILE}`);
}

main().catch((error: unknown) => {
  killAllChildren();
  console.error(error);
  process.exit(1);
});
