/**
 * Stands in for API Gateway (HTTP API, payload v2) in front of the ingest function, and is the
 * local relay's front door to the network, so it also does what API Gateway's own limits do on
 * AWS: no unauthenticated client can make it hold much memory, many sockets or a slot for long.
 *
 * - From the request line and headers alone, before a byte of body is read, it answers 404, 405,
 *   413 (Content-Length over the limit) and 401 (signature header missing or malformed), in the
 *   core's order (checkRequestHead), and 503 while the relay is full or stopping.
 * - The body's HMAC is computed while it streams in, under every key; the body is cut at the size
 *   limit (413), and a forged one is refused (401) as its last byte arrives, without reaching the
 *   handler.
 * - Memory: bodies being received are bounded in total (BodyBudget); past the budget a request
 *   is answered 503 and cut.
 * - Sockets: at most `maxConnections`; when full, a new connection evicts the connection that
 *   has been idle (or mid-request) the longest, so a flood of idle or slow connections cannot
 *   lock a legitimate sender out.
 * - Time: the headers must arrive within `headersTimeoutMs` and the whole request within
 *   `requestTimeoutMs` of the connection's first byte, whatever the client trickles, and an idle
 *   connection (new or kept alive) is closed after `idleTimeoutMs`.
 *
 * Node's own server gives the timeouts; the body checks need the HMAC and the answers of the
 * ingest core, which no HTTP framework has, so they are here. A request whose signature holds is
 * handed to the ingest core as its exact bytes, already verified (ingestVerifiedRequest): the
 * API Gateway event and Lambda invocation are not emulated, whose base64 round trip and second
 * HMAC cost more than the rest of the front door (README "Where the front door's time goes").
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import {
  checkRequestHead,
  type IngestLogger,
  payloadTooLarge,
  readKeys,
  signatureOf,
  type VerifiedIngestRequest,
  verifyRequestSignature,
} from "../../lambdas/ingest/core.js";
import { errorAnswer, type HttpAnswer } from "../../lambdas/ingest/http-answers.js";
import {
  createSignatureVerifier,
  SIGNATURE_HEADER,
  verifySignature,
} from "../../lambdas/ingest/signature.js";
import type { SigningKeyStore } from "../../lambdas/ingest/signing-keys.js";
import { HttpError } from "../../lambdas/runtime/errors.js";

/** The front door's limits; FRONT_DOOR_LIMITS holds the defaults. */
export interface FrontDoorLimits {
  /** Connections open at once. */
  maxConnections: number;
  /** From a connection's first byte (or the end of its previous request) to its complete headers. */
  headersTimeoutMs: number;
  /** From the same point to the request's last body byte. */
  requestTimeoutMs: number;
  /** A connection with no request under way (new, or kept alive after one) is closed after this. */
  idleTimeoutMs: number;
  /** Body bytes buffered at once over every request, beyond each request's first SMALL_BODY_BYTES. */
  maxBufferedBodyBytes: number;
}

export const FRONT_DOOR_LIMITS: FrontDoorLimits = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
  maxBufferedBodyBytes: 64 * 1024 * 1024,
};

/**
 * Each request may buffer this much without drawing on the shared budget, so a small legitimate
 * request is never refused because large ones use it up (at most maxConnections × this).
 */
const SMALL_BODY_BYTES = 64 * 1024;

/** A connection mid-request for less than this is never evicted: legitimate requests take ms. */
const EVICTION_GRACE_MS = 1_000;

/** After an early answer, the rest of the body is read and dropped for at most this long. */
const LINGER_MS = 1_000;

export interface HttpGatewayOptions {
  /** Answers a request whose signature holds (the ingest core's ingestVerifiedRequest); never throws. */
  accept: (request: VerifiedIngestRequest) => Promise<HttpAnswer>;
  /** The ingest limit (413 above). */
  maxBodyBytes: number;
  /** The ingest function's keys, for the HMAC computed while the body streams. */
  keys: SigningKeyStore;
  /** Asked before a body is read: an error (503 full, 503 stopping) to answer instead. */
  admit?: () => HttpError | undefined;
  /** Where refusals are logged, as the ingest function logs its own. */
  logger: IngestLogger;
  limits?: Partial<FrontDoorLimits>;
}

/** The server, and what the relay's stop needs of it. */
export interface HttpGateway {
  server: Server;
  /** Requests being received or handled right now. */
  readonly inFlight: number;
  /** Connections open right now. */
  readonly connections: number;
  /** Closes every connection with no request under way (the relay is stopping). */
  closeIdle(): void;
}

export function createHttpGateway(options: HttpGatewayOptions): HttpGateway {
  const limits = { ...FRONT_DOOR_LIMITS, ...options.limits };
  const budget = new BodyBudget(limits.maxBufferedBodyBytes);
  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // How often Node checks the two timeouts above (30 s by default, which stretched them).
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
  });
  const connections = new ConnectionTable(limits);
  let inFlight = 0;

  server.on("connection", (socket: Socket) => connections.add(socket));

  // `Expect: 100-continue`: the head is judged before the client is told to send its body.
  server.on("checkContinue", (request: IncomingMessage, response: ServerResponse) => {
    void serve(request, response, () => response.writeContinue());
  });
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    void serve(request, response);
  });

  async function serve(request: IncomingMessage, response: ServerResponse, proceed?: () => void) {
    inFlight += 1;
    connections.requestStarted(request.socket);
    // The body stays in memory until its answer has gone, so its share of the budget is held as long.
    const reservation = new BudgetReservation(budget);
    response.once("close", () => {
      reservation.release();
      inFlight -= 1;
      connections.requestEnded(request.socket);
    });
    // The core reads no other header.
    const headers = { [SIGNATURE_HEADER]: headerText(request.headers[SIGNATURE_HEADER]) };
    const declared = declaredLength(request);
    try {
      checkRequestHead(
        {
          method: request.method ?? "",
          path: pathOf(request.url ?? "/"),
          headers,
          bodyBytes: declared,
        },
        options.maxBodyBytes,
      );
      const refusal = options.admit?.();
      if (refusal) throw refusal;
      // Read before the body: a store that is down is a 503, not a reason to receive 4 MB.
      const keys = await readKeys(options.keys);
      if (!reservation.growTo((declared ?? 0) - SMALL_BODY_BYTES)) throw serverBusy();
      proceed?.();
      const body = await receiveBody(request, declared, options.maxBodyBytes, reservation, keys);
      const signature = signatureOf(headers);
      await verifyRequestSignature(
        options.keys,
        (current) =>
          current === keys
            ? body.streamed.matches(signature)
            : verifySignature(body.bytes, signature, current),
        options.logger,
      );
      const answer = await options.accept({
        body: body.bytes,
        requestId: randomUUID(),
        receivedAt: new Date().toISOString(),
      });
      writeAnswer(response, answer);
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof HttpError) {
        const answer = errorAnswer(error);
        logRefusal(options.logger, answer, error);
        answerEarly(request, response, answer);
        return;
      }
      // The core answers its own failures; reaching here means the gateway itself failed.
      options.logger.error("Webhook failed", {
        outcome: "failed",
        status: 500,
        code: "internal_error",
        error,
      });
      answerEarly(request, response, errorAnswer(error));
    }
  }

  return {
    server,
    get inFlight() {
      return inFlight;
    },
    get connections() {
      return connections.size;
    },
    closeIdle: () => connections.closeIdle(),
  };
}

interface ReceivedBody {
  bytes: Buffer;
  /** The HMAC of `bytes` under the keys it was received with. */
  streamed: ReturnType<typeof createSignatureVerifier>;
}

/**
 * Reads the body, hashing it as it arrives; rejects with 413 past `maxBodyBytes` and with 503 when
 * the shared budget cannot hold it.
 *
 * A large body whose length is declared has its whole length reserved before a byte of it is read
 * (`reservation`), so a request the budget cannot hold is refused before its body costs anything,
 * and is copied into one buffer as it arrives: the socket's chunks are garbage at once and there
 * is no concatenated second copy, which is what let 200 bogus 4.4 MB bodies take the relay's
 * memory past 300 MB (test/reliability/abuse.test.ts). A chunked body reserves as it grows.
 */
function receiveBody(
  request: IncomingMessage,
  /** The Content-Length, already checked against `maxBodyBytes` (checkRequestHead). */
  declared: number | undefined,
  maxBodyBytes: number,
  reservation: BudgetReservation,
  keys: readonly string[],
): Promise<ReceivedBody> {
  const streamed = createSignatureVerifier(keys);
  const into =
    declared !== undefined && declared > SMALL_BODY_BYTES ? Buffer.allocUnsafe(declared) : undefined;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const fail = (error: HttpError) => {
      request.removeListener("data", onData);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      const at = received;
      received += chunk.length;
      if (received > maxBodyBytes) return fail(payloadTooLarge(maxBodyBytes));
      if (into) {
        // Node's parser never gives more than the declared length.
        chunk.copy(into, at);
      } else {
        if (!reservation.growTo(received - SMALL_BODY_BYTES)) {
          return fail(serverBusy());
        }
        chunks.push(chunk);
      }
      streamed.update(chunk);
    };
    request.on("data", onData);
    request.once("end", () => {
      const bytes = into
        ? into.subarray(0, received)
        : chunks.length === 1
          ? (chunks[0] as Buffer)
          : Buffer.concat(chunks);
      resolve({ bytes, streamed });
    });
    request.once("error", () => reject(new HttpError(400, "aborted", "The request was aborted")));
  });
}

/** The answer to a large body the shared budget cannot hold right now. */
function serverBusy(): HttpError {
  return new HttpError(503, "server_busy", "Too many large requests at once; retry later");
}

/** What one request holds of the shared budget: given back when its answer has gone. */
class BudgetReservation {
  #held = 0;
  constructor(private readonly budget: BodyBudget) {}

  /** Holds `bytes` in all (never less than already held); false when the budget cannot. */
  growTo(bytes: number): boolean {
    const more = bytes - this.#held;
    if (more <= 0) return true;
    if (!this.budget.reserve(more)) return false;
    this.#held += more;
    return true;
  }

  release(): void {
    this.budget.release(this.#held);
    this.#held = 0;
  }
}

/** Bytes the bodies being received may hold at once, over every connection. */
class BodyBudget {
  #used = 0;
  constructor(private readonly limit: number) {}

  reserve(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#used -= bytes;
  }
}

/**
 * The open connections in the order their current state began (idle since, or mid-request
 * since), so the first is the one to evict and the idle ones past their time come first.
 */
class ConnectionTable {
  readonly #since = new Map<Socket, { at: number; busy: boolean }>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(private readonly limits: FrontDoorLimits) {
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1_000, limits.idleTimeoutMs));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#since.size;
  }

  add(socket: Socket): void {
    if (this.#since.size >= this.limits.maxConnections && !this.#evictOne()) {
      socket.destroy();
      return;
    }
    this.#since.set(socket, { at: Date.now(), busy: false });
    socket.once("close", () => this.#since.delete(socket));
  }

  requestStarted(socket: Socket): void {
    this.#move(socket, true);
  }

  requestEnded(socket: Socket): void {
    if (!socket.destroyed) this.#move(socket, false);
  }

  closeIdle(): void {
    for (const [socket, state] of this.#since) if (!state.busy) socket.destroy();
    if (this.#since.size === 0) clearInterval(this.#sweeper);
  }

  #move(socket: Socket, busy: boolean): void {
    if (!this.#since.has(socket)) return;
    this.#since.delete(socket);
    this.#since.set(socket, { at: Date.now(), busy });
  }

  /** Frees a slot: the oldest connection, unless it is a request younger than the grace. */
  #evictOne(): boolean {
    const oldest = this.#since.entries().next();
    if (oldest.done) return false;
    const [socket, state] = oldest.value;
    if (state.busy && Date.now() - state.at < EVICTION_GRACE_MS) return false;
    this.#since.delete(socket);
    socket.destroy();
    return true;
  }

  /** New connections that never sent a request are closed like idle kept-alive ones. */
  #sweep(): void {
    const cutoff = Date.now() - this.limits.idleTimeoutMs;
    for (const [socket, state] of this.#since) {
      if (state.at > cutoff) break;
      if (!state.busy) socket.destroy();
    }
  }
}

/** Content-Length as a number, when the request declares one. */
function declaredLength(request: IncomingMessage): number | undefined {
  const header = request.headers["content-length"];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * The request target's path as sent, without its query: what API Gateway gives the function as
 * `rawPath`, which the Lambda adapter routes on (lambdas/ingest/chain.ts), so both route alike.
 */
function pathOf(target: string): string {
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}

/** A header's value as one string (Node already joins repeated headers, but for a few it types as arrays). */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(",") : value;
}

/**
 * Answers before (or instead of) reading the rest of the body, then closes the connection
 * gracefully: Node closes a `Connection: close` socket as soon as the answer is written, and the
 * client, still sending, would get a reset instead of the answer. So the close is replaced by a
 * lingering one: the write side is shut, what still arrives is read and dropped, and the socket is
 * destroyed after LINGER_MS at the latest (a client that never stops sending gains nothing).
 */
function answerEarly(request: IncomingMessage, response: ServerResponse, answer: HttpAnswer): void {
  const socket = request.socket as Socket & { destroySoon?: () => void };
  socket.destroySoon = () => {
    socket.end();
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once("close", () => clearTimeout(linger));
  };
  response.shouldKeepAlive = false;
  request.removeAllListeners("data");
  request.resume();
  writeAnswer(response, answer);
}

function logRefusal(logger: IngestLogger, answer: HttpAnswer, error: unknown): void {
  const code = error instanceof HttpError ? error.code : "internal_error";
  if (answer.statusCode >= 500)
    logger.warn("Webhook refused", { outcome: "refused", status: answer.statusCode, code });
  else logger.warn("Webhook rejected", { outcome: "rejected", status: answer.statusCode, code });
}

/** Writes `answer` whole, with a Content-Length as API Gateway sends (Node would otherwise send it chunked). */
function writeAnswer(response: ServerResponse, answer: HttpAnswer): void {
  response.writeHead(answer.statusCode, {
    ...answer.headers,
    "content-length": String(Buffer.byteLength(answer.body)),
  });
  response.end(answer.body);
}
