/**
 * Hostile input against the ingest handler, property-based: every generated request gets the
 * answer docs/PROTOCOL.md gives (computed by an independent oracle), nothing is enqueued for a refused
 * request, nothing crashes or rejects unhandled, no prototype is polluted, and neither the logs nor
 * the answers carry a body, a signature or a key.
 *
 * Reproducible: the seed is fixed and printed; FC_SEED=<n> replays another, FC_RUNS=<n> changes
 * the number of requests (at least 500 by default).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type HostileCase,
  hostileRequest,
  MARKER,
  PRIMARY_KEY,
  ROTATED_KEY,
  SAMPLE_PERSONAL_DATA,
} from "./generators.js";
import { expectedAnswer, MESSAGE_LIMIT_BYTES } from "./oracle.js";
import { hostileIngest, invoke } from "./support.js";

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20_261_002;
const RUNS = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : 500;
const MAX_BODY_BYTES = 4_500_000;
const KEYS = [PRIMARY_KEY, ROTATED_KEY];

describe("ingest under hostile input", () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const logs: string[] = [];
  const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  const signatures = new Set<string>();
  const tally = new Map<string, number>();

  beforeAll(() => {
    console.log(`hostile ingest: fast-check seed ${SEED}, ${RUNS} runs (override with FC_SEED, FC_RUNS)`);
    process.on("unhandledRejection", onUnhandled);
    // Powertools writes to process.stdout/stderr (or console in dev mode): keep every line, print none.
    const keep = (chunk: unknown) => {
      logs.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      return true;
    };
    vi.spyOn(process.stdout, "write").mockImplementation(keep);
    vi.spyOn(process.stderr, "write").mockImplementation(keep);
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logs.push(args.map(String).join(" "));
      });
    }
  });

  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    vi.restoreAllMocks();
    const summary = [...tally].map(([status, count]) => `${status}: ${count}`).join(", ");
    console.log(`hostile ingest: answers ${summary}; ${logs.length} log lines checked`);
  });

  it(`answers ${RUNS} generated requests as docs/PROTOCOL.md says, enqueuing only what it accepts`, async () => {
    const relay = hostileIngest(KEYS, MAX_BODY_BYTES);
    let requestNumber = 0;

    await fc.assert(
      fc.asyncProperty(hostileRequest(MAX_BODY_BYTES), async (hostile: HostileCase) => {
        requestNumber += 1;
        const expected = expectedAnswer(hostile.request, KEYS, MAX_BODY_BYTES);
        const signature = Object.entries(hostile.request.headers).find(
          ([name]) => name.toLowerCase() === "x-sqreen-integrity",
        )?.[1];
        if (signature && /[0-9a-fA-F]{64}/.test(signature)) signatures.add(signature.trim().slice(0, 64));
        relay.queue.clear();

        const result = await invoke(relay, hostile.request, `req-${requestNumber}`);

        const context = `${hostile.kind}, signature ${hostile.signing}: expected ${expected.status} (${expected.rule})`;
        const acceptable = [expected.status, expected.alternative ?? expected.status];
        expect(acceptable, context).toContain(result.statusCode);
        const answer = JSON.parse(result.body ?? "") as Record<string, unknown>;
        expect(result.body, context).not.toContain(MARKER);
        if (result.statusCode === 200) {
          expect(answer.accepted, context).toBe(expected.accepted);
          expect(relay.queue.enqueued, context).toBe(expected.accepted);
          const bodies = relay.queue.calls.flat().map((item) => Buffer.byteLength(item.body, "utf8"));
          expect(Math.max(...bodies), context).toBeLessThanOrEqual(MESSAGE_LIMIT_BYTES);
        } else {
          expect(typeof answer.error, context).toBe("string");
          expect(relay.queue.enqueued, context).toBe(0);
        }
        tally.set(String(result.statusCode), (tally.get(String(result.statusCode)) ?? 0) + 1);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );

    expect(requestNumber).toBeGreaterThanOrEqual(RUNS);
  });

  it("leaves no unhandled rejection behind", async () => {
    // Give any stray promise of the run a chance to reject before looking.
    await new Promise((resolve) => setTimeout(resolve, 50));

    expect(unhandled).toEqual([]);
  });

  it("pollutes no prototype", () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeysBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.toString.call([])).toBe("[object Array]");
  });

  it("logs no body, signature or signing key", () => {
    const text = logs.join("\n");

    expect(logs.length).toBeGreaterThan(0);
    expect(text).not.toContain(MARKER);
    for (const personal of SAMPLE_PERSONAL_DATA) expect(text).not.toContain(personal);
    for (const key of KEYS) expect(text).not.toContain(key);
    const leaked = [...signatures].filter((signature) =>
      text.toLowerCase().includes(signature.toLowerCase()),
    );
    expect(leaked).toEqual([]);
  });
});
