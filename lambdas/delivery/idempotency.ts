/**
 * Exactly-once delivery per backend: the DeliveryGuard of lambdas/delivery/outcome.ts, built on
 * Powertools idempotency. Sqreen retries requests and SNS and Lambda redeliver events, so the same
 * alert can reach a backend more than once; the guard makes the second arrival return the first
 * one's recorded outcome instead of sending again.
 *
 * One record per send, in the store: each send of a delivery (one per e-mail recipient, phone
 * number, HTTP target, Slack channel) goes through `once`, keyed by
 * `["<backend>", "<alert id>", "<recipient>"]`. A duplicate of a delivery that succeeded runs the
 * delivery's code again, but every send answers from its record and nothing is sent; when some
 * sends of a delivery failed, the delivery fails and is retried, and the retry reaches only the
 * recipients the failed attempt missed. There is no record of the delivery itself: it guarded
 * nothing the sends' records do not (a delivery's only effects are its sends; digest admissions
 * are idempotent per alert, lambdas/digest/seams.ts), and it cost two writes per alert and backend.
 * A delivery whose every send was answered from its record is reported as a duplicate.
 *
 * Decisions:
 * - Records live IDEMPOTENCY_EXPIRY_SECONDS (14 days): as long as the dead-letter queues keep a
 *   failed alert, so a redrive (npm run redrive) days later still skips the recipients already
 *   reached. Sqreen's retries and Lambda's (6 hours of maximum event age) are well inside it.
 * - A send that throws is not recorded (Powertools deletes its in-progress record),
 *   so the platform's retry runs it again.
 * - A duplicate send arriving while the first one is still in progress throws a
 *   TransientDeliveryError, so its delivery fails as transient and the platform retries it later
 *   (by then the first send is recorded, or failed and deleted).
 *   An in-progress record left by a run that died (a timeout) blocks retries only until the
 *   invocation's deadline: the Lambda context given to the guard sets that expiry.
 * - No payload validation: the key is the alert's stable identity, and a resent Sqreen request
 *   legitimately differs in details (`retry_count`, receive time) while being the same alert.
 * - If the store fails after a send succeeded (the completed record cannot be written), the
 *   delivery fails and its retry may send once more: at-least-once is the floor, never at-most.
 * - Keys are hashed (SHA-256) by Powertools: addresses, numbers and URLs never reach the store.
 * - A key's parts are encoded as a JSON array (encodeKey), never joined with a separator: alert ids
 *   come from the notification, so with `#` joins the alert `K1#secops@example.com` on e-mail had
 *   the key of alert `K1`'s send to secops@example.com, and was never e-mailed. Records written
 *   with the old `#`-joined keys are not found under the new ones (see the README's migration
 *   note).
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyUnknownError,
  makeIdempotent,
} from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import { IDEMPOTENCY_EXPIRY_SECONDS } from "../contracts/retention.js";
import { TransientDeliveryError } from "../runtime/errors.js";
import {
  type DeliveryGuard,
  type DeliveryKey,
  type DeliveryOutcome,
  REPLAYED_SEND,
  type SendOnce,
} from "./outcome.js";

/** How long a delivery's record is kept: the dead-letter queues' retention (14 days). */
export { IDEMPOTENCY_EXPIRY_SECONDS };

/**
 * Prefix of every key. Fixed rather than Powertools' default (the function's name), so that keys
 * survive a function being replaced and the local stack and AWS agree.
 */
export const IDEMPOTENCY_KEY_PREFIX = "sqreen-relay";

export interface DeliveryGuardOptions {
  /** Where records live: DynamoDBPersistenceLayer in AWS, SQLite locally (local/store/idempotency-store.ts). */
  persistenceStore: BasePersistenceLayer;
  /** @default IDEMPOTENCY_EXPIRY_SECONDS */
  expiresAfterSeconds?: number;
}

/**
 * The record key of a delivery's parts (backend, alert id, and a recipient for one send): a JSON
 * array, so no alert id or recipient can make two different deliveries share a key.
 */
export function encodeKey(parts: readonly string[]): string {
  return JSON.stringify(parts);
}

/**
 * A DeliveryGuard on a Powertools persistence store: runs the delivery with a `once` that runs each
 * send once per delivery key and recipient (see the module comment for the rules).
 */
export function createDeliveryGuard(options: DeliveryGuardOptions): DeliveryGuard {
  const { persistenceStore } = options;
  const expiresAfterSeconds = options.expiresAfterSeconds ?? IDEMPOTENCY_EXPIRY_SECONDS;
  // The JMESPath function table every config carries, built once: constructing it walks its
  // class's methods, which was most of what a config per send cost (no key path is evaluated:
  // the payload is the encoded key itself).
  const jmesPathOptions = new IdempotencyConfig({}).jmesPathOptions.customFunctions;
  /**
   * The sends of one invocation: a config carries the invocation's context (its remaining time
   * bounds an in-progress record), and the local stack runs many invocations at once in one
   * process, so each invocation gets its own, built at its first send and shared by the others.
   * The payload hashed is the encoded key (`dataIndexArgument`), the same text the key path
   * `key` used to select from `{ key }`: records written before keep their keys.
   */
  const sendsOf = (context: Context | undefined) =>
    makeIdempotent((send: () => Promise<unknown>, _key: string) => send(), {
      persistenceStore,
      config: new IdempotencyConfig({
        throwOnNoIdempotencyKey: true,
        expiresAfterSeconds,
        hashFunction: "sha256",
        jmesPathOptions,
        ...(context ? { lambdaContext: context } : {}),
      }),
      keyPrefix: IDEMPOTENCY_KEY_PREFIX,
      dataIndexArgument: 1,
    });

  return async (key, run, context) => {
    let sends = 0;
    let replayed = 0;
    let idempotent: ReturnType<typeof sendsOf> | undefined;
    const once: SendOnce = async <T>(recipient: string, send: () => Promise<T>): Promise<T> => {
      sends += 1;
      idempotent ??= sendsOf(context);
      let sent = false;
      const result = (await idempotent(
        () => {
          sent = true;
          return send();
        },
        encodeKey([...key, recipient]),
      ).catch((error: unknown) => {
        throw asDeliveryError(error, key);
      })) as T;
      if (sent) return result;
      replayed += 1;
      return markReplayedSend(result);
    };
    const outcome = await run(once);
    return sends > 0 && replayed === sends ? markDuplicate(outcome) : outcome;
  };
}

/** A replayed send's result says so (REPLAYED_SEND), for the ledger's `duplicate`. */
function markReplayedSend<T>(result: T): T {
  if (typeof result !== "object" || result === null || Array.isArray(result)) return result;
  return { ...result, [REPLAYED_SEND]: true };
}

/** The outcome line of a delivery whose every send was already made says so: `duplicate: true`. */
function markDuplicate(outcome: DeliveryOutcome): DeliveryOutcome {
  return { ...outcome, details: { ...outcome.details, duplicate: true } };
}

/**
 * Powertools' own failures become delivery errors with a message fit for a log (the key holds
 * identifiers only: backend and alert id; a recipient is never part of the message). The
 * delivery's own errors pass through untouched.
 */
function asDeliveryError(error: unknown, key: DeliveryKey): unknown {
  if (!(error instanceof IdempotencyUnknownError)) return error;
  const deliveryKey = `${key[0]} of alert ${key[1]}`;
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new TransientDeliveryError(
      `Delivery ${deliveryKey} is already in progress (a duplicate arrived meanwhile); retry later`,
      { cause: error },
    );
  }
  return new TransientDeliveryError(`Idempotency store failed for delivery ${deliveryKey}: ${error.name}`, {
    cause: error,
  });
}

export interface DynamoDbDeliveryGuardOptions {
  /** IDEMPOTENCY_TABLE_NAME: partition key `id` (string), TTL attribute `expiration`. */
  tableName: string;
  /** A module-scope client; it honours AWS_ENDPOINT_URL like every other SDK client. */
  client: DynamoDBClient;
  /** @default IDEMPOTENCY_EXPIRY_SECONDS */
  expiresAfterSeconds?: number;
}

/** The AWS guard: records in the DynamoDB idempotency table the stack creates. */
export function dynamoDbDeliveryGuard(options: DynamoDbDeliveryGuardOptions): DeliveryGuard {
  return createDeliveryGuard({
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: options.tableName,
      awsSdkV3Client: options.client,
    }),
    ...(options.expiresAfterSeconds !== undefined
      ? { expiresAfterSeconds: options.expiresAfterSeconds }
      : {}),
  });
}
