import { describe, expect, it } from "vitest";
import { parseWrkSummary } from "../../../bench/wrk.js";

describe("parseWrkSummary", () => {
  const line =
    'BENCH_WRK {"durationUs":2000000,"requests":1000,"non2xx":10,"socketErrors":1,"timeouts":2,"p50Us":940,"p99Us":16970,"maxUs":24392,"wrapped":0}';

  it("reads the summary line bench/wrk.lua prints after wrk's own report", () => {
    const result = parseWrkSummary(
      `Running 2s test @ http://127.0.0.1/\n  1000 requests in 2.00s\n\n${line}\n`,
    );
    expect(result).toEqual({
      ok: 990,
      non2xx: 10,
      socketErrors: 1,
      timeouts: 2,
      elapsedMs: 2000,
      okPerSecond: 495,
      p50Ms: 0.94,
      p99Ms: 16.97,
      wrapped: 0,
    });
  });

  it("fails when wrk printed no summary or a field is missing", () => {
    expect(() => parseWrkSummary("Running 2s test\n")).toThrow(/no summary/);
    expect(() => parseWrkSummary('BENCH_WRK {"durationUs":1}')).toThrow(/has no requests/);
  });
});
