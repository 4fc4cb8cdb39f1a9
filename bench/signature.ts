/**
 * Figure 1: verifying `X-Sqreen-Integrity` against the physical limit, a bare node:crypto
 * HMAC-SHA256 over the same bytes. Both sides run in this process, interleaved in short alternating
 * slices (the order flips every round) so frequency scaling and noisy neighbours hit both alike.
 */
import { createHmac, randomBytes } from "node:crypto";
import { signBody, verifySignature } from "../lambdas/ingest/signature.js";

export interface SignatureRound {
  /** Bytes per second verified, and hashed bare, in this round. */
  verifyBytesPerSecond: number;
  bareBytesPerSecond: number;
}

/** Calls `work` repeatedly for about `sliceMs`; returns calls per second. */
function rate(work: () => unknown, sliceMs: number): number {
  let calls = 0;
  const started = performance.now();
  let now = started;
  while (now - started < sliceMs) {
    // Several calls per clock read: reading the clock must not weigh on 2 KB hashes.
    for (let index = 0; index < 16; index++) work();
    calls += 16;
    now = performance.now();
  }
  return calls / ((now - started) / 1000);
}

/** `rounds` interleaved rounds over a random body of `bytes` bytes, after one warm-up round. */
export function measureSignature(bytes: number, rounds: number, sliceMs: number): SignatureRound[] {
  const key = randomBytes(32).toString("hex");
  const body = randomBytes(bytes);
  const signature = signBody(body, key);
  const keys = [key];
  let sink = 0;
  const verify = () => {
    if (!verifySignature(body, signature, keys)) throw new Error("signature did not verify");
  };
  const bare = () => {
    sink ^= createHmac("sha256", key).update(body).digest()[0] as number;
  };
  rate(verify, sliceMs);
  rate(bare, sliceMs);
  const results: SignatureRound[] = [];
  for (let round = 0; round < rounds; round++) {
    let verifyRate: number;
    let bareRate: number;
    if (round % 2 === 0) {
      verifyRate = rate(verify, sliceMs);
      bareRate = rate(bare, sliceMs);
    } else {
      bareRate = rate(bare, sliceMs);
      verifyRate = rate(verify, sliceMs);
    }
    results.push({ verifyBytesPerSecond: verifyRate * bytes, bareBytesPerSecond: bareRate * bytes });
  }
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink);
  return results;
}
