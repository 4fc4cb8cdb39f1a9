/**
 * The signed requests the benchmark sends, prepared before any clock starts (bench/wrk.ts sends
 * them).
 */
import { signBody } from "../lambdas/ingest/signature.js";
import { generateNotifications, newRunId } from "../scripts/sqreen/samples.js";
import { sqreenWireBytes } from "../scripts/sqreen/wire.js";

export interface SignedRequest {
  body: Buffer;
  signature: string;
}

/**
 * `count` requests of one notification each, all with distinct event ids (a fresh run id), signed
 * with `key`: what Sqreen sends, one alert at a time.
 */
export function signedRequests(count: number, key: string): SignedRequest[] {
  const runId = newRunId();
  const requests: SignedRequest[] = [];
  for (let index = 0; index < count; index++) {
    const body = sqreenWireBytes(generateNotifications(1, { runId, firstIndex: index }));
    requests.push({ body, signature: signBody(body, key) });
  }
  return requests;
}
