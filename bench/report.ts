/**
 * The README's performance report, written by `npm run bench` from the run it has just recorded in
 * bench/results.json: issue 17's goals with pass or miss and, for a miss, its cause as the run
 * measured it; the front door beside its peers; the local relay; the bundles; the cost lines.
 * Pure: test/unit/bench/report.test.ts checks it, and that the README's block is the one the
 * recorded run produces (so the table cannot be edited by hand or pieced together from runs).
 */
import type { CostBreakdown } from "./cost.js";
import {
  type Figure,
  formatMarkdownTable,
  formatNumber,
  formatTarget,
  type Target,
  verdict,
} from "./figures.js";

/** A figure as bench/results.json records it. */
export interface RecordedFigure {
  id: string;
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number[];
  target?: Target;
}

/** bench/results.json: one whole run of `npm run bench`. */
export interface BenchResults {
  command: string;
  /** The commit measured (`+` when the work tree had changes). */
  commit?: string;
  date: string;
  durationSeconds: number;
  machine: {
    cpus: number;
    cpuModel: string;
    totalMemoryMB: number;
    node: string;
    platform: string;
    /** os.loadavg()'s 1-minute figure when the run started and when it ended. */
    loadAverage?: { atStart: number; atEnd: number };
  };
  figures: RecordedFigure[];
  /** The cost model's breakdowns (burst, then each alert alone, then busy) and its assumptions. */
  cost: { breakdowns: CostBreakdown[]; [assumption: string]: unknown };
  details: Record<string, unknown>;
}

export const REPORT_BEGIN = "<!-- bench:report:begin: written by `npm run bench` from bench/results.json -->";
export const REPORT_END = "<!-- bench:report:end -->";

/** The figures of one run, by id. */
class Run {
  readonly #byId: Map<string, RecordedFigure>;
  constructor(readonly results: BenchResults) {
    this.#byId = new Map(results.figures.map((figure) => [figure.id, figure]));
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  figure(id: string): RecordedFigure {
    const figure = this.#byId.get(id);
    if (!figure) throw new Error(`bench/results.json has no figure ${id}: run the whole \`npm run bench\``);
    return figure;
  }

  median(id: string): number {
    return this.figure(id).median;
  }

  /** Every figure whose id matches, in recorded order. */
  matching(pattern: RegExp): RecordedFigure[] {
    return this.results.figures.filter((figure) => pattern.test(figure.id));
  }
}

/** `0.38 (0.35 to 0.46)`: the median, then the spread over runs when there was more than one. */
function measured(figure: RecordedFigure): string {
  if (figure.unit === "$") return `$${figure.median.toFixed(2)}`;
  const unit = figure.unit === "ratio" || figure.unit === "count" ? "" : ` ${figure.unit}`;
  const median = `${formatNumber(figure.median)}${unit}`;
  if (figure.runs.length < 2) return median;
  return `${median} (${formatNumber(figure.min)} to ${formatNumber(figure.max)})`;
}

function passes(figure: RecordedFigure): boolean {
  return verdict(asFigure(figure)) !== "miss";
}

interface Goal {
  /** The goal as issue 17 states it. */
  goal: string;
  /** The figures that must all meet their targets, each with the label its row shows. */
  figures: (run: Run) => Array<{ label: string; figure: RecordedFigure }>;
  /** Why the goal is missed, from what the run measured (only asked when it is). */
  cause: (run: Run) => string;
}

const us = (value: number) => `${formatNumber(value)} µs`;

/** The front door's CPU per request against the floor's and the peer's, for one body. */
function frontDoorCpu(run: Run, body: "batch" | "one"): string {
  const cpu = (server: string) => run.median(`frontDoor.${body}.${server}.cpu`);
  const above = cpu("frontDoor") - cpu("floor");
  return (
    `${us(cpu("frontDoor"))} of CPU per request where the floor takes ${us(cpu("floor"))} and Fastify ` +
    `${us(cpu("fastify"))}: ${us(above)} above the floor (${body === "batch" ? "v2-mixed-batch" : "1 notification"})`
  );
}

const GOALS: readonly Goal[] = [
  {
    goal: "Front door at least as fast as the Fastify + HMAC peer (req/s, same run)",
    figures: (run) => [
      { label: "v2-mixed-batch", figure: run.figure("frontDoor.batch.vsPeer") },
      { label: "1 notification", figure: run.figure("frontDoor.one.vsPeer") },
    ],
    cause: (run) =>
      `${frontDoorCpu(run, "batch")}; ${frontDoorCpu(run, "one")}. See "Where the front door's time goes".`,
  },
  {
    goal: "Front door CPU per request within 1.5 × the node:http + HMAC + parse floor",
    figures: (run) => [
      { label: "v2-mixed-batch", figure: run.figure("frontDoor.batch.cpuVsFloor") },
      { label: "1 notification", figure: run.figure("frontDoor.one.cpuVsFloor") },
    ],
    cause: (run) => `${frontDoorCpu(run, "batch")}; ${frontDoorCpu(run, "one")}.`,
  },
  {
    goal: "Local relay, durable, 5 backends: ≥ 1,000 notifications/s delivered at steady state",
    figures: (run) => [{ label: "delivered by all 5", figure: run.figure("relay.delivered") }],
    cause: (run) => {
      const cpuMs = run.median("relay.cpuPerNotification");
      return (
        `${formatNumber(cpuMs)} ms of CPU per notification in the relay's one process (ingest, route, five ` +
        `deliveries, SQLite, every thread counted), nearly all of it on the one event loop's core, so ` +
        `1,000 a second needs under 1 ms. See "Where the local relay's time goes".`
      );
    },
  },
  {
    goal: "Accept → delivered p99 ≤ 50 ms at half that rate (500 notifications/s held)",
    figures: (run) => [{ label: "p99 at 500/s", figure: run.figure("relay.halfGoalDeliveredP99") }],
    cause: (run) => {
      const delivered = run.median("relay.delivered");
      if (delivered < 500) {
        return (
          `500/s is more than this relay delivers (${formatNumber(delivered)}/s above), so the backlog grows ` +
          `for the whole run; at half the rate it delivers, the p99 is ` +
          `${formatNumber(run.median("relay.halfMeasuredDeliveredP99"))} ms.`
        );
      }
      const halfMeasured = `at half the rate it delivers (${formatNumber(delivered / 2)}/s) the p99 is ${formatNumber(run.median("relay.halfMeasuredDeliveredP99"))} ms`;
      if (delivered < 1000) {
        // Half the goal's rate is then more than half of what this relay can do: queues form.
        return (
          `500/s is ${formatNumber((500 / delivered) * 100)}% of the ${formatNumber(delivered)}/s this relay delivers flat out ` +
          `(above): with so little idle time, every burst of arrivals queues; ${halfMeasured}. ` +
          `See "Where the local relay's time goes".`
        );
      }
      return `the relay delivers ${formatNumber(delivered)}/s, yet deliveries wait (${halfMeasured}): see "Where the local relay's time goes".`;
    },
  },
  {
    goal: "Memory flat (RSS after the last run's drain / after the first run's)",
    figures: (run) => [{ label: "RSS growth", figure: run.figure("relay.rssGrowth") }],
    cause: (run) =>
      `RSS ${formatNumber(run.median("relay.rssStart"))} MB at a run's start, ` +
      `${formatNumber(run.median("relay.rssPeak"))} MB at its peak: it grows from run to run.`,
  },
  bundleGoal("Lambda bundles within 1.1 × the SQS-only floor in bytes (Node 24)", "sizeVsFloor"),
  bundleGoal(
    "Lambda bundles within 1.1 × the floor's cold import, in CPU time (Node 24)",
    "importCpuVsFloor",
  ),
  {
    goal: "Cost per million notifications to all five backends ≤ $8, one notification per request",
    figures: (run) => [
      { label: "burst (digests holding)", figure: run.figure("cost.burst") },
      { label: "each alert alone", figure: run.figure("cost.quiet") },
    ],
    cause: (run) => {
      const [burst, quiet] = run.results.cost.breakdowns;
      return [burst, quiet]
        .filter((breakdown): breakdown is CostBreakdown => breakdown !== undefined)
        .map((breakdown) => {
          const largest = breakdown.lines
            .filter((line) => line.inPlatformTotal)
            .sort((a, b) => b.dollarsPerMillion - a.dollarsPerMillion)
            .slice(0, 4)
            .map((line) => `${line.item} $${line.dollarsPerMillion.toFixed(2)}`)
            .join(", ");
          return `${breakdown.scenario.split(":")[0]}: ${largest}`;
        })
        .join("; ")
        .concat('. See "Cost".');
    },
  },
];

type BundleRatio = "sizeVsFloor" | "importCpuVsFloor";

/** Each function's `kind` ratio to the floor, labelled with the function's name. */
function bundleRatios(run: Run, kind: BundleRatio): Array<{ label: string; figure: RecordedFigure }> {
  return run
    .matching(new RegExp(`^coldStart\\.(.+)\\.${kind}$`))
    .map((figure) => ({ label: figure.id.split(".")[1] as string, figure }));
}

/** A bundle goal: every function within the factor; a miss names those over it, worst first. */
function bundleGoal(goal: string, kind: BundleRatio): Goal {
  return {
    goal,
    figures: (run) => bundleRatios(run, kind),
    cause: (run) => {
      const over = bundleRatios(run, kind)
        .filter(({ figure }) => !passes(figure))
        .sort((a, b) => b.figure.median - a.figure.median)
        .map(({ label, figure }) => `${label} ${formatNumber(figure.median)}`);
      return `over: ${over.join(", ")}. See "Bundle size and cold import".`;
    },
  };
}

function goalsTable(run: Run): string[] {
  const rows = GOALS.map((goal) => {
    const figures = goal.figures(run);
    const met = figures.length > 0 && figures.every(({ figure }) => passes(figure));
    const target = figures[0]?.figure.target;
    const values = figures
      .map(({ label, figure }) => (figures.length === 1 ? measured(figure) : `${label}: ${measured(figure)}`))
      .join("; ");
    const cause = met ? "" : goal.cause(run);
    const unit = figures[0]?.figure.unit ?? "";
    return `| ${goal.goal} | ${values} | ${formatTarget(target, unit)} | ${met ? "pass" : "**miss**"} | ${cause} |`;
  });
  return [
    "| goal | measured: median (min to max) | target | result | cause |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ];
}

const SERVERS = [
  ["bare", "bare `node:http` answering 200 (ceiling)"],
  ["floor", "`node:http` + HMAC + `JSON.parse` (floor)"],
  ["fastify", "Fastify 5 + HMAC on the raw body (peer)"],
  ["frontDoor", "**relay front door** (gateway stand-in + ingest, queue in memory)"],
] as const;

function peersTable(run: Run): string[] {
  const cells = (body: string, server: string) => {
    const share = server === "bare" ? "1" : formatNumber(run.median(`frontDoor.${body}.${server}.vsBare`));
    return [
      formatNumber(run.median(`frontDoor.${body}.${server}.throughput`)),
      share,
      us(run.median(`frontDoor.${body}.${server}.cpu`)),
    ];
  };
  return [
    "| server | v2-mixed-batch req/s | / bare | CPU per request | 1 notification req/s | / bare | CPU per request |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...SERVERS.map(
      ([server, name]) => `| ${name} | ${[...cells("batch", server), ...cells("one", server)].join(" | ")} |`,
    ),
  ];
}

function relayTable(run: Run): string[] {
  const rows: Array<[string, string]> = [
    ["relay.throughput", "accepted requests/s, durable (1 notification each, wrk -c32)"],
    ["relay.volatileThroughput", "accepted requests/s, in-memory database (no durability)"],
    ["relay.delivered", "notifications delivered by all 5 per second (run + drain)"],
    ["relay.cpuPerNotification", "CPU per notification delivered to all 5"],
    ["relay.halfGoalDeliveredP99", "accept → delivered p99 at 500/s held"],
    ["relay.halfMeasuredDeliveredP99", "accept → delivered p99 at half the delivered rate, held"],
    ["relay.p99", "answer latency p99 under wrk"],
    ["relay.rssStart", "RSS at the first run's start"],
    ["relay.rssPeak", "RSS peak"],
    ["relay.lost", "accepted notifications not delivered by every backend"],
  ];
  return [
    "| local relay, durable (SQLite on disk), five backends | median (min to max) |",
    "| --- | ---: |",
    ...rows.filter(([id]) => run.has(id)).map(([id, name]) => `| ${name} | ${measured(run.figure(id))} |`),
  ];
}

function bundlesTable(run: Run): string[] {
  const names = run.matching(/^coldStart\.(.+)\.size$/).map((figure) => figure.id.split(".")[1] as string);
  const row = (name: string) => {
    const size = run.median(`coldStart.${name}.size`);
    const ratio = (kind: string) =>
      name === "floor" ? "1" : measured(run.figure(`coldStart.${name}.${kind}`));
    return (
      `| ${name} | ${formatNumber(size)} KB | ${name === "floor" ? "1" : formatNumber(run.median(`coldStart.${name}.sizeVsFloor`))} ` +
      `| ${measured(run.figure(`coldStart.${name}.importCpu`))} | ${ratio("importCpuVsFloor")} ` +
      `| ${measured(run.figure(`coldStart.${name}.import`))} | ${ratio("importVsFloor")} |`
    );
  };
  return [
    "| bundle | bytes | / floor | cold import, CPU time beyond `node -e 0` | / floor | wall time beyond `node -e 0` | / floor |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...names.map(row),
  ];
}

function costTable(results: BenchResults): string[] {
  const [burst, quiet] = results.cost.breakdowns;
  if (!burst || !quiet) return [];
  const items = [...new Set([...burst.lines, ...quiet.lines].map((line) => line.item))];
  const dollars = (breakdown: CostBreakdown, item: string) => {
    const line = breakdown.lines.find((candidate) => candidate.item === item);
    if (!line) return "";
    return `${line.dollarsPerMillion.toFixed(2)}${line.inPlatformTotal ? "" : " (apart)"}`;
  };
  return [
    "| USD per million notifications, one per request | burst (digests holding) | every alert alone |",
    "| --- | ---: | ---: |",
    ...items.map((item) => `| ${item} | ${dollars(burst, item)} | ${dollars(quiet, item)} |`),
    `| **platform total** | **${burst.platformTotal.toFixed(2)}** | **${quiet.platformTotal.toFixed(2)}** |`,
  ];
}

function everyFigure(run: Run): string[] {
  return formatMarkdownTable(run.results.figures.map(asFigure)).split("\n");
}

function asFigure(figure: RecordedFigure): Figure {
  const { median, min, max, runs, ...rest } = figure;
  return { ...rest, value: { median, min, max, runs } };
}

/** The figures the before-and-after table follows: each goal's, and what explains them. */
const FOLLOWED = [
  /^frontDoor\.(batch|one)\.(vsPeer|cpuVsFloor)$/,
  /^frontDoor\.(batch|one)\.frontDoor\.cpu$/,
  /^relay\.(delivered|cpuPerNotification|halfGoalDeliveredP99|halfMeasuredDeliveredP99|rssGrowth|lost)$/,
  /^coldStart\..+\.(size|import|importCpu)$/,
  /^cost\.(burst|quiet)$/,
];

function runLabel(results: BenchResults): string {
  return `${results.commit ?? "?"}, ${results.date.slice(0, 16).replace("T", " ")} UTC`;
}

/** Each followed figure of `before` (the baseline run) beside this run's. */
function beforeAfterTable(run: Run, before: BenchResults): string[] {
  const earlier = new Run(before);
  const rows = run.results.figures
    .filter((figure) => FOLLOWED.some((pattern) => pattern.test(figure.id)) && earlier.has(figure.id))
    .map((figure) => {
      const was = earlier.figure(figure.id);
      // A figure named after what the run measured (a held rate) says what the baseline's measured.
      const wasNamed = was.name === figure.name ? "" : ` (${was.name})`;
      return `| ${figure.name} | ${formatNumber(was.median)}${wasNamed} | ${formatNumber(figure.median)} | ${figure.unit} |`;
    });
  return [
    `| figure (median) | before: ${runLabel(before)} | this run: ${runLabel(run.results)} | unit |`,
    "| --- | ---: | ---: | --- |",
    ...rows,
  ];
}

function machineLine(results: BenchResults): string {
  const { machine } = results;
  const load = machine.loadAverage
    ? `, load average ${formatNumber(machine.loadAverage.atStart)} at the start and ${formatNumber(machine.loadAverage.atEnd)} at the end`
    : "";
  const date = results.date.replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");
  return (
    `The run of record: \`${results.command}\` at commit ${results.commit ?? "unknown"}, ${date}, ${results.durationSeconds} s; ${machine.cpus} × ` +
    `${machine.cpuModel.trim()}, ${formatNumber(machine.totalMemoryMB / 1024)} GB, Node.js ` +
    `${machine.node.replace(/^v/, "")} (${machine.platform})${load}.`
  );
}

/**
 * The README block for one recorded run, markers included; with `before` (bench/baseline.json, a
 * whole run of the code before issue 17's work, on the same machine), a before-and-after table.
 */
export function performanceReport(results: BenchResults, before?: BenchResults): string {
  const run = new Run(results);
  const comparison = before
    ? [
        "**Before and after** (the same benchmark on the same machine; bench/baseline.json):",
        "",
        ...beforeAfterTable(run, before),
        "",
      ]
    : [];
  return [
    REPORT_BEGIN,
    machineLine(results),
    "",
    "**Goals of issue 17** (each figure from this run; ratios pair servers measured side by side):",
    "",
    ...goalsTable(run),
    "",
    "**The front door and its peers** (median req/s under wrk, share of the bare server, CPU per request):",
    "",
    ...peersTable(run),
    "",
    ...relayTable(run),
    "",
    "**Bundles** (built as the stack builds them, imported in fresh Node.js 24 processes):",
    "",
    ...bundlesTable(run),
    "",
    "**Cost** (bench/cost.ts, from this run's handler measurements):",
    "",
    ...costTable(results),
    "",
    ...comparison,
    "<details><summary>Every figure of the run, as <code>npm run bench</code> prints it</summary>",
    "",
    ...everyFigure(run),
    "",
    "</details>",
    REPORT_END,
  ].join("\n");
}

/** `readme` with its report block replaced by `report`; throws when the markers are missing. */
export function replaceReport(readme: string, report: string): string {
  const begin = readme.indexOf(REPORT_BEGIN);
  const end = readme.indexOf(REPORT_END);
  if (begin < 0 || end < begin) {
    throw new Error(`README.md has no ${REPORT_BEGIN} ... ${REPORT_END} block for the report`);
  }
  return readme.slice(0, begin) + report + readme.slice(end + REPORT_END.length);
}

/** The report block currently in `readme`, markers included, or undefined. */
export function reportIn(readme: string): string | undefined {
  const begin = readme.indexOf(REPORT_BEGIN);
  const end = readme.indexOf(REPORT_END);
  if (begin < 0 || end < begin) return undefined;
  return readme.slice(begin, end + REPORT_END.length);
}
