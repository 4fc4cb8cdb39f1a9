/**
 * `npm run soak`: the local relay (all five backends) held under steady load for a while, with the
 * HTTP-forward receiver failing a share of its requests (503, transient). At the end it waits for
 * the pipeline to drain, then settles the books: every accepted notification reached every
 * backend its filters route it to, or sits in a dead-letter queue (zero lost, else exit 1),
 * duplicates are reported, and RSS sampled every second must stay flat after warm-up.
 *
 *   npm run soak -- [--duration 60] [--concurrency 32] [--rate <requests/s>] [--batch 5]
 *                   [--fail-rate 0.2] [--max-backlog 2000] [--warmup 10] [--max-growth-mb 64] [--volatile]
 *
 * The relay keeps its state in a database in a temporary data directory, as `npm start` does
 * (fsynced acceptances, local/store/relay-store.ts); `--volatile` runs the same pipeline on an in-memory
 * database instead, to show what durability costs under the same load.
 *
 * Closed loop by default (`--concurrency` senders, each sending again as soon as answered); with
 * `--rate` a fixed number of requests per second instead, `--concurrency` capping those in flight.
 * Either way senders hold back while more than `--max-backlog` notifications and deliveries are
 * under way in the pipeline: ingest accepts far faster than five backends deliver, and without
 * this the soak would measure an ever-growing backlog instead of a steady state. The throughput
 * reached is then what this machine sustains end to end.
 *
 * Memory bound: after `--warmup` seconds, the mean RSS of the last third of the load may exceed
 * that of the first third by at most `--max-growth-mb` (default 64). The soak's own bookkeeping is
 * a few bytes per alert, so growth past that is the relay's.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { account, DeliveryLedger, formatReport } from "../test/reliability/accounting.js";
import {
  type AlertFacts,
  alertFacts,
  newRun,
  notificationOf,
  SIGNING_KEY,
  sleep,
  startBench,
} from "../test/reliability/harness.js";

// The relay's loggers would write a line per alert; the figures below are the output.
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";

interface SoakOptions {
  durationS: number;
  concurrency: number;
  rate: number | undefined;
  batch: number;
  failRate: number;
  maxBacklog: number;
  warmupS: number;
  maxGrowthMb: number;
  volatile: boolean;
}

function readOptions(argv: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: "string", default: "60" },
      concurrency: { type: "string", default: "32" },
      rate: { type: "string" },
      batch: { type: "string", default: "5" },
      "fail-rate": { type: "string", default: "0.2" },
      "max-backlog": { type: "string", default: "2000" },
      warmup: { type: "string", default: "10" },
      "max-growth-mb": { type: "string", default: "64" },
      volatile: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "npm run soak -- [--duration 60] [--concurrency 32] [--rate <req/s>] [--batch 5] [--fail-rate 0.2] [--max-backlog 2000] [--warmup 10] [--max-growth-mb 64] [--volatile]",
    );
    process.exit(0);
  }
  const number = (name: string, text: string | undefined, min: number, max: number): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) {
      throw new Error(`--${name} must be a number from ${min} to ${max}, got ${text}`);
    }
    return value;
  };
  const options: SoakOptions = {
    durationS: number("duration", values.duration, 1, 86_400),
    concurrency: Math.floor(number("concurrency", values.concurrency, 1, 1024)),
    rate: values.rate === undefined ? undefined : number("rate", values.rate, 0.1, 100_000),
    batch: Math.floor(number("batch", values.batch, 1, 1000)),
    failRate: number("fail-rate", values["fail-rate"], 0, 0.9),
    maxBacklog: Math.floor(number("max-backlog", values["max-backlog"], 1, 10_000_000)),
    warmupS: number("warmup", values.warmup, 0, 3600),
    maxGrowthMb: number("max-growth-mb", values["max-growth-mb"], 1, 100_000),
    volatile: values.volatile,
  };
  if (options.warmupS >= options.durationS) options.warmupS = Math.floor(options.durationS / 4);
  return options;
}

interface RssSample {
  atS: number;
  mb: number;
}

/** Least-squares slope of RSS over time, in MB per minute. */
function slopeMbPerMinute(samples: readonly RssSample[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const meanX = samples.reduce((sum, sample) => sum + sample.atS, 0) / n;
  const meanY = samples.reduce((sum, sample) => sum + sample.mb, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const sample of samples) {
    numerator += (sample.atS - meanX) * (sample.mb - meanY);
    denominator += (sample.atS - meanX) ** 2;
  }
  return denominator === 0 ? 0 : (numerator / denominator) * 60;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(): Promise<number> {
  const options = readOptions(process.argv.slice(2));
  const run = newRun();
  const ledger = new DeliveryLedger();
  const dataDir = options.volatile ? undefined : mkdtempSync(join(tmpdir(), "sqreen-relay-soak-"));
  const bench = await startBench({
    wrapBackend: ledger.wrapBackend,
    dataDir,
    // The soak's own backlog bound holds the senders back; the relay's must not refuse first.
    maxPendingDeliveries: 1_000_000,
  });
  // Transient HTTP-forward failures: a 503 with Retry-After 0, so the in-process retries (and,
  // when all three fail, the platform's) absorb them.
  bench.receiver.behaviour = (channel) =>
    channel.startsWith("/http/") && Math.random() < options.failRate
      ? { status: 503, retryAfter: "0" }
      : { status: 200 };

  console.log(
    `soak: ${options.durationS} s, ${options.rate ? `${options.rate} requests/s (at most ${options.concurrency} in flight)` : `${options.concurrency} concurrent senders`}, ` +
      `${options.batch} notifications per request, backlog at most ${options.maxBacklog}, HTTP receiver failing ${Math.round(options.failRate * 100)}% (503), relay ${bench.relay.url}, ` +
      (dataDir ? `durable (database in ${dataDir})` : "volatile (in-memory database)"),
  );

  // The load.
  const accepted = new Uint8Array(1 << 20);
  let acceptedMax = -1;
  let nextAlert = 0;
  let requests = 0;
  let refused = 0;
  let latencyTotalMs = 0;
  const started = Date.now();
  const deadline = started + options.durationS * 1000;
  const mark = (n: number) => {
    if (n >= accepted.length) throw new Error("more than 1M notifications: lower --duration or --batch");
    accepted[n] = 1;
    acceptedMax = Math.max(acceptedMax, n);
  };

  /** Notifications queued but not routed, plus deliveries started but not finished. */
  const backlog = (): number => bench.relay.stats().pending;
  let heldBackMs = 0;

  const sendOne = async (): Promise<void> => {
    const waitStarted = Date.now();
    while (backlog() > options.maxBacklog && Date.now() < deadline) await sleep(10);
    heldBackMs += Date.now() - waitStarted;
    if (Date.now() >= deadline) return;
    const first = nextAlert;
    nextAlert += options.batch;
    const facts = Array.from({ length: options.batch }, (_, offset) => alertFacts(run, first + offset));
    const body = JSON.stringify(facts.map(notificationOf));
    const signature = createHmac("sha256", SIGNING_KEY).update(body).digest("hex");
    // Like Sqreen: a refused request is resent whole until accepted.
    for (;;) {
      requests += 1;
      const before = performance.now();
      let status = 0;
      try {
        const response = await fetch(bench.relay.webhookUrl, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sqreen-integrity": signature },
          body,
        });
        await response.arrayBuffer();
        status = response.status;
      } catch {
        status = 0;
      }
      latencyTotalMs += performance.now() - before;
      if (status === 200) break;
      refused += 1;
      await sleep(50);
    }
    for (let n = first; n < first + options.batch; n += 1) mark(n);
  };

  // RSS once a second.
  const samples: RssSample[] = [];
  const sampler = setInterval(() => {
    samples.push({ atS: (Date.now() - started) / 1000, mb: mb(process.memoryUsage().rss) });
  }, 1000);
  const progress = setInterval(() => {
    const elapsed = (Date.now() - started) / 1000;
    const last = samples.at(-1)?.mb ?? 0;
    console.log(
      `soak: ${Math.round(elapsed)} s, ${requests} requests (${Math.round(requests / elapsed)}/s), ${refused} refused, backlog ${backlog()}, RSS ${last} MB`,
    );
  }, 10_000);

  if (options.rate) {
    const inFlight = new Set<Promise<void>>();
    const interval = 1000 / options.rate;
    let due = Date.now();
    while (Date.now() < deadline) {
      if (inFlight.size < options.concurrency) {
        const work = sendOne().finally(() => inFlight.delete(work));
        inFlight.add(work);
      }
      due += interval;
      await sleep(Math.max(0, due - Date.now()));
    }
    await Promise.all(inFlight);
  } else {
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (Date.now() < deadline) await sendOne();
      }),
    );
  }
  const loadEndedS = (Date.now() - started) / 1000;
  clearInterval(progress);

  // Drain: everything accepted is delivered or dead-lettered.
  const drainStarted = Date.now();
  await bench.relay.drained();
  await bench.receiver.idle(100);
  await bench.relay.drained();
  const drainS = (Date.now() - drainStarted) / 1000;
  clearInterval(sampler);

  function* acceptedFacts(): Generator<AlertFacts> {
    for (let n = 0; n <= acceptedMax; n += 1) if (accepted[n] === 1) yield alertFacts(run, n);
  }
  const report = account({
    scenario: `soak ${options.durationS} s`,
    relay: bench.relay,
    settings: bench.settings,
    ledger,
    books: [bench.receiver.book, bench.senders.book],
    accepted: acceptedFacts(),
    requestsTried: requests,
  });
  const deadLetterCounts = bench.relay.stats().deadLetters;
  await bench.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });

  // Memory: samples taken while under load, after warm-up.
  const loaded = samples.filter((sample) => sample.atS >= options.warmupS && sample.atS <= loadEndedS);
  const first = loaded[0];
  const middle = loaded[Math.floor(loaded.length / 2)];
  const last = loaded.at(-1);
  // Third against third rather than sample against sample: one sample lands before or after a
  // garbage collection by chance, which alone moves RSS by tens of MB.
  const third = Math.max(1, Math.floor(loaded.length / 3));
  const meanMb = (part: readonly RssSample[]) =>
    part.reduce((total, sample) => total + sample.mb, 0) / part.length;
  const growth =
    loaded.length > 0
      ? Math.round((meanMb(loaded.slice(-third)) - meanMb(loaded.slice(0, third))) * 10) / 10
      : 0;
  const slope = Math.round(slopeMbPerMinute(loaded) * 10) / 10;
  const peak = Math.max(...samples.map((sample) => sample.mb));

  console.log(formatReport(report));
  console.log(
    `soak: ${requests} requests in ${loadEndedS.toFixed(1)} s (${Math.round(requests / loadEndedS)}/s, ` +
      `${(report.accepted / loadEndedS).toFixed(0)} notifications/s), ${refused} refused and resent, ` +
      `mean answer ${(latencyTotalMs / Math.max(1, requests)).toFixed(1)} ms, senders held back ${(heldBackMs / 1000 / (options.rate ? 1 : options.concurrency)).toFixed(1)} s each on average by the backlog bound, drained in ${drainS.toFixed(1)} s`,
  );
  console.log(
    `soak: RSS after warm-up (${options.warmupS} s) ${first?.mb ?? "?"} MB, mid ${middle?.mb ?? "?"} MB, end ${last?.mb ?? "?"} MB, ` +
      `growth (mean of the last third over the first) ${growth} MB (bound ${options.maxGrowthMb} MB), slope ${slope} MB/min, peak ${peak} MB`,
  );
  console.log(`soak: dead letters ${JSON.stringify(deadLetterCounts)}`);

  let failed = false;
  if (report.lost > 0) {
    console.error(`soak: FAILED: ${report.lost} (notification, backend) pairs lost`);
    failed = true;
  }
  if (!report.pipelineBalanced) {
    console.error("soak: FAILED: the pipeline's counters disagree (matched ≠ delivered + dead-lettered)");
    failed = true;
  }
  if (growth > options.maxGrowthMb) {
    console.error(
      `soak: FAILED: RSS grew ${growth} MB after warm-up, over the ${options.maxGrowthMb} MB bound`,
    );
    failed = true;
  }
  if (!failed) console.log("soak: OK: nothing lost, memory within bound");
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`soak: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
