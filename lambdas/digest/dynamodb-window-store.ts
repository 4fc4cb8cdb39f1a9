/**
 * The digest windows on AWS: a DigestWindowStore on DynamoDB with conditional writes, in a table
 * of its own (DIGEST_TABLE below). Not the idempotency table: that one has a partition key only
 * (Powertools' layout), and closing a window must read every member of it back, which needs a
 * sort key and a strongly consistent Query; a table of its own also keeps the Query grant off the
 * idempotency table and the digest items out of Powertools' key space.
 *
 * Items (partition key `pk`, sort key `sk`; every key built from attacker text is a SHA-256 of
 * its parts encoded as a JSON array, as lambdas/delivery/idempotency.ts keys its records):
 * - the group's pointer `group#<hash(group)>` / `pointer`: the id of its current window;
 * - the window `window#<uuid>` / `window`: status open or closed, openedAt, closesAt, the count
 *   sent alone (`immediateCount`) and held (`heldCount`), whether its close is scheduled, and the
 *   group (its destination is already a hash, see DigestGroup);
 * - one member per held alert `window#<uuid>` / `member#<hash(alert id)>`: its DigestEntry;
 * - one admission per (group, alert id) `admission#<hash(group, alert id)>` / `admission`: the
 *   mode and window it was given, so a replay gets the first answer whichever window is open now.
 *
 * An admit is one TransactWriteItems: the admission (only if none exists) and the window (counted
 * only while it is open and its closesAt is ahead; an immediate member only while fewer than
 * `immediate` went out alone); opening a window writes it and swaps the group's pointer (only if
 * the pointer still names the window that was read) in the same transaction; a window that held
 * nothing (every alert of a quiet period went out alone) is renewed in place instead, its period
 * restarted, its id kept: no digest names it and no close is owed. The admission is
 * the one truth of where an alert went. A held alert's member is put just before the transaction,
 * as a plain write (1 write unit, where a transaction's item costs 2): a member whose transaction
 * did not commit (lost race, replay, crash) is an orphan the close leaves out, because the close
 * keeps only the members whose admission names its window as held. The transaction's conditions
 * decide, not the reads before it: so the admit reads only the pointer and the window, eventually
 * consistent (half a read unit each), and a replay is known by its admission's condition
 * failing, after which the first answer is read back. A transaction refused by another condition
 * means another admit or a close got there first (or a read was stale): everything is read
 * again, strongly consistent, and decided again.
 *
 * A close is a conditional update open → closed once closesAt has passed, then a strongly
 * consistent Query of the members and a strongly consistent read of their admissions. Nothing
 * held can be missed or added: an admission naming the window committed while it was open, so
 * before the close's update, and its member was written before it, so the Query sees both; no
 * admission can name the window after the update (the window condition).
 *
 * Every item expires (TTL `expiresAt`) WINDOW_RETENTION_SECONDS after its window closes.
 */
import { createHash, randomUUID } from "node:crypto";
import { type DynamoDBClient, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { ALERT_KINDS } from "../contracts/alert.js";
import { encodeKey } from "../delivery/idempotency.js";
import { backoffDelay, type Sleep, sleep } from "../runtime/backoff.js";
import { TransientDeliveryError } from "../runtime/errors.js";
import * as z from "../runtime/schema.js";
import {
  type Admission,
  type DigestEntry,
  type DigestGroup,
  type DigestPolicy,
  type DigestWindowStore,
  digestEntrySchema,
  HUMAN_BACKENDS,
  WINDOW_RETENTION_SECONDS,
  type WindowClose,
} from "./seams.js";

/** The table's key and TTL attributes: lib/relay-stack.ts creates it with exactly these. */
export const DIGEST_TABLE = { partitionKey: "pk", sortKey: "sk", timeToLiveAttribute: "expiresAt" } as const;

/**
 * Reads and decisions of one admit before it gives up: each lost race costs one round, and only
 * as many admits as arrive in the same few milliseconds for the same group can win before it.
 */
export const MAX_ADMIT_ROUNDS = 8;
/** First wait after a transaction conflict (doubling, full jitter): a conflicting transaction takes milliseconds. */
const CONFLICT_BACKOFF_MS = 10;
/** Most keys one BatchGetItem takes, and the rounds of retrying the keys it left unprocessed. */
const MAX_BATCH_GET = 100;
const UNPROCESSED_ROUNDS = 5;

const SORT = {
  pointer: "pointer",
  window: "window",
  admission: "admission",
  memberPrefix: "member#",
} as const;
/** Window ids are ours (randomUUID): anything else names no window, and is never used in a key. */
const WINDOW_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What the window item holds, as read back. */
const windowItemSchema = z.object({
  status: z.enum(["open", "closed"]),
  openedAt: z.number(),
  closesAt: z.number(),
  immediateCount: z.number(),
  heldCount: z.number(),
  scheduled: z.boolean(),
  group: z.object({
    backend: z.enum(HUMAN_BACKENDS),
    destination: z.string(),
    application: z.string(),
    environment: z.string(),
    kind: z.enum(ALERT_KINDS),
  }),
});
type WindowItem = z.infer<typeof windowItemSchema>;

const admissionItemSchema = z.object({
  mode: z.enum(["immediate", "held"]),
  windowId: z.string(),
  closesAt: z.number(),
});
const pointerItemSchema = z.object({ windowId: z.string() });
const memberItemSchema = z.object({ entry: digestEntrySchema, admittedAt: z.number() });

export interface DynamoDbDigestWindowStoreOptions {
  /** DIGEST_TABLE_NAME: keys and TTL as DIGEST_TABLE says. */
  tableName: string;
  /** A module-scope client; it honours AWS_ENDPOINT_URL like every other SDK client. */
  client: DynamoDBClient;
  /** @default MAX_ADMIT_ROUNDS */
  maxAdmitRounds?: number;
  /** Waits after a transaction conflict; tests record them. */
  sleep?: Sleep;
}

/** SHA-256 of the parts encoded unambiguously: no alert id or application can forge another key. */
function hashKey(parts: readonly string[]): string {
  return createHash("sha256").update(encodeKey(parts)).digest("base64url");
}

function groupParts(group: DigestGroup): string[] {
  return [group.backend, group.destination, group.application, group.environment, group.kind];
}

const groupPk = (group: DigestGroup) => `group#${hashKey(groupParts(group))}`;
const admissionPk = (group: DigestGroup, alertId: string) =>
  `admission#${hashKey([...groupParts(group), alertId])}`;
const windowPk = (windowId: string) => `window#${windowId}`;
const memberSk = (alertId: string) => `${SORT.memberPrefix}${hashKey([alertId])}`;

/** TTL of every item of a window, in epoch seconds. */
const expiresAt = (closesAt: number) => Math.ceil(closesAt / 1000) + WINDOW_RETENTION_SECONDS;

/** Oldest first by the event's time, then by admission, then by id: the order `close` promises. */
function oldestFirst(a: z.infer<typeof memberItemSchema>, b: z.infer<typeof memberItemSchema>): number {
  return (
    Date.parse(a.entry.at) - Date.parse(b.entry.at) ||
    a.admittedAt - b.admittedAt ||
    a.entry.alertId.localeCompare(b.entry.alertId)
  );
}

/**
 * Whether a past window can start its group's next window in place: it held nothing (so no close
 * is owed and no digest names it), and the next alert goes out alone.
 */
function renewable(window: WindowItem, policy: DigestPolicy): boolean {
  return window.status === "open" && window.heldCount === 0 && !window.scheduled && policy.immediate > 0;
}

/** What a refused transaction means for the admit that sent it. */
type Refusal = "replayed" | "lost-race" | "conflict";

/**
 * TransactionCanceledException's reasons, one per item in order: the admission's condition refused
 * (the first item of every admit: this alert was admitted before, by a retry or a duplicate
 * delivery), another condition refused (another admit or a close got there first: decide again),
 * a conflict with a transaction under way on the same item (wait a moment, then decide again), or
 * anything else (throttling, capacity, a validation error), which is the store failing: the
 * delivery is retried by the platform.
 */
function refusalOf(error: TransactionCanceledException): Refusal {
  const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? "None");
  const unexpected = codes.filter(
    (code) => code !== "None" && code !== "ConditionalCheckFailed" && code !== "TransactionConflict",
  );
  if (unexpected.length > 0 || codes.length === 0) {
    throw new TransientDeliveryError(
      `Digest store refused an admit: ${unexpected.length > 0 ? [...new Set(unexpected)].join(", ") : "no reason given"}`,
      { cause: error },
    );
  }
  if (codes[0] === "ConditionalCheckFailed") return "replayed";
  return codes.includes("ConditionalCheckFailed") ? "lost-race" : "conflict";
}

/** An SDK failure as a delivery failure whose message names the call, never a key or a value. */
function storeFailure(what: string, error: unknown): TransientDeliveryError {
  if (error instanceof TransientDeliveryError) return error;
  const name = error instanceof Error ? error.name : typeof error;
  return new TransientDeliveryError(`Digest store failed to ${what}: ${name}`, { cause: error });
}

/** The DigestWindowStore on DynamoDB (see the module comment for the items and the rules). */
export class DynamoDbDigestWindowStore implements DigestWindowStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly maxAdmitRounds: number;
  private readonly sleep: Sleep;

  constructor(options: DynamoDbDigestWindowStoreOptions) {
    // An optional field of an entry left undefined is simply not stored (read back, it is absent).
    this.documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.tableName = options.tableName;
    this.maxAdmitRounds = options.maxAdmitRounds ?? MAX_ADMIT_ROUNDS;
    this.sleep = options.sleep ?? sleep;
  }

  async admit(group: DigestGroup, entry: DigestEntry, policy: DigestPolicy, now: number): Promise<Admission> {
    const admissionKey = admissionPk(group, entry.alertId);
    const pointerKey = groupPk(group);
    for (let round = 0; round < this.maxAdmitRounds; round++) {
      // A stale read only loses the transaction's race; after one, read what is there for sure.
      const consistent = round > 0;
      const pointer = await this.read(
        pointerKey,
        SORT.pointer,
        pointerItemSchema,
        "read a group",
        consistent,
      );
      const current = pointer ? await this.readWindow(pointer.windowId, consistent) : undefined;
      const attempt =
        pointer && current && current.status === "open" && current.closesAt > now
          ? this.join(pointer.windowId, current, admissionKey, entry, policy, now)
          : pointer && current && renewable(current, policy)
            ? this.renew(pointer.windowId, current, admissionKey, policy, now)
            : this.open(group, pointerKey, pointer?.windowId, admissionKey, entry, policy, now);
      const outcome = await attempt;
      if (outcome === "replayed") {
        const recorded = await this.recordedAdmission(admissionKey);
        if (recorded) return recorded;
      } else if (outcome === "conflict") {
        await this.sleep(backoffDelay(CONFLICT_BACKOFF_MS, round + 1, { fixedShare: 0 }));
      } else if (outcome !== "lost-race") {
        return outcome;
      }
    }
    throw new TransientDeliveryError(
      `Digest store: the window of alert ${entry.alertId} stayed contended for ${this.maxAdmitRounds} rounds`,
    );
  }

  async markScheduled(windowId: string): Promise<void> {
    if (!WINDOW_ID.test(windowId)) return;
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: windowPk(windowId), sk: SORT.window },
          UpdateExpression: "SET scheduled = :true",
          // Never creates a window: an expired or unknown one has nothing to schedule.
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":true": true },
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return;
      throw storeFailure("mark a window scheduled", error);
    }
  }

  async close(windowId: string, now: number): Promise<WindowClose> {
    if (!WINDOW_ID.test(windowId)) return { status: "unknown" };
    let window = await this.readWindow(windowId);
    if (window === undefined) return { status: "unknown" };
    if (window.status === "open") {
      if (window.closesAt > now) return { status: "not-due", closesAt: window.closesAt };
      try {
        await this.documents.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: windowPk(windowId), sk: SORT.window },
            UpdateExpression: "SET #status = :closed, closedAt = :now",
            ConditionExpression: "#status = :open AND closesAt <= :now",
            ExpressionAttributeNames: { "#status": "status" },
            ExpressionAttributeValues: { ":closed": "closed", ":open": "open", ":now": now },
          }),
        );
      } catch (error) {
        // Another close got there first (a redelivered message): the window is closed all the same.
        if (!(error instanceof Error && error.name === "ConditionalCheckFailedException"))
          throw storeFailure("close a window", error);
      }
      window = { ...window, status: "closed" };
    }
    const members = await this.admittedMembers(windowId, window.group);
    return {
      status: "closed",
      group: window.group,
      entries: members.sort(oldestFirst).map((member) => member.entry),
      sentAlone: window.immediateCount,
      openedAt: window.openedAt,
      closesAt: window.closesAt,
    };
  }

  /** The first answer given to this (group, alert id), if there was one. */
  private async recordedAdmission(admissionKey: string): Promise<Admission | undefined> {
    const recorded = await this.read(admissionKey, SORT.admission, admissionItemSchema, "read an admission");
    if (recorded === undefined) return undefined;
    if (recorded.mode === "immediate") return { mode: "immediate", windowId: recorded.windowId };
    const window = await this.readWindow(recorded.windowId);
    return {
      mode: "held",
      windowId: recorded.windowId,
      closesAt: recorded.closesAt,
      // A closed (or expired) window needs no close any more.
      needsSchedule: window !== undefined && window.status === "open" && !window.scheduled,
    };
  }

  /** Admits the alert to the group's open window; "lost-race" or "conflict" when refused. */
  private async join(
    windowId: string,
    window: WindowItem,
    admissionKey: string,
    entry: DigestEntry,
    policy: DigestPolicy,
    now: number,
  ): Promise<Admission | Refusal> {
    const mode = window.immediateCount < policy.immediate ? "immediate" : "held";
    const counter = mode === "immediate" ? "immediateCount" : "heldCount";
    if (mode === "held") await this.putMember(windowId, entry, window.closesAt, now);
    const refused = await this.transact("admit an alert", [
      this.admissionPut(admissionKey, mode, windowId, window.closesAt),
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: windowPk(windowId), sk: SORT.window },
          UpdateExpression: `ADD ${counter} :one`,
          ConditionExpression:
            mode === "immediate"
              ? "#status = :open AND closesAt > :now AND immediateCount < :immediate"
              : "#status = :open AND closesAt > :now",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":one": 1,
            ":open": "open",
            ":now": now,
            ...(mode === "immediate" ? { ":immediate": policy.immediate } : {}),
          },
        },
      },
    ]);
    if (refused) return refused;
    return mode === "immediate"
      ? { mode, windowId }
      : { mode, windowId, closesAt: window.closesAt, needsSchedule: !window.scheduled };
  }

  /**
   * Starts the group's next window in the item of its past one, which held nothing (`renewable`):
   * the alert goes out alone, first of a new period. Two items (admission, window) where a new
   * window writes three (admission, window, pointer): a quiet group's every alert takes this way.
   * Only while the past period is over and nothing joined or renewed it since it was read.
   */
  private async renew(
    windowId: string,
    window: WindowItem,
    admissionKey: string,
    policy: DigestPolicy,
    now: number,
  ): Promise<Admission | Refusal> {
    const closesAt = now + policy.windowSeconds * 1000;
    const refused = await this.transact("renew a window", [
      this.admissionPut(admissionKey, "immediate", windowId, closesAt),
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: windowPk(windowId), sk: SORT.window },
          UpdateExpression:
            "SET openedAt = :now, closesAt = :closesAt, immediateCount = :one, expiresAt = :expiresAt",
          ConditionExpression:
            "#status = :open AND heldCount = :zero AND scheduled = :false AND closesAt = :previous AND closesAt <= :now",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":now": now,
            ":closesAt": closesAt,
            ":one": 1,
            ":expiresAt": expiresAt(closesAt),
            ":open": "open",
            ":zero": 0,
            ":false": false,
            ":previous": window.closesAt,
          },
        },
      },
    ]);
    return refused ?? { mode: "immediate", windowId };
  }

  /**
   * Opens a new window for the group with the alert as its first member, replacing the pointer
   * only if it still names `previousWindowId` (or, with none, only if there is none).
   */
  private async open(
    group: DigestGroup,
    pointerKey: string,
    previousWindowId: string | undefined,
    admissionKey: string,
    entry: DigestEntry,
    policy: DigestPolicy,
    now: number,
  ): Promise<Admission | Refusal> {
    const windowId = randomUUID();
    const closesAt = now + policy.windowSeconds * 1000;
    const mode = policy.immediate > 0 ? "immediate" : "held";
    const window: WindowItem = {
      status: "open",
      openedAt: now,
      closesAt,
      immediateCount: mode === "immediate" ? 1 : 0,
      heldCount: mode === "held" ? 1 : 0,
      scheduled: false,
      group: { ...group },
    };
    if (mode === "held") await this.putMember(windowId, entry, closesAt, now);
    const refused = await this.transact("open a window", [
      this.admissionPut(admissionKey, mode, windowId, closesAt),
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: windowPk(windowId), sk: SORT.window, ...window, expiresAt: expiresAt(closesAt) },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: pointerKey, sk: SORT.pointer, windowId, expiresAt: expiresAt(closesAt) },
          ...(previousWindowId === undefined
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : {
                ConditionExpression: "windowId = :previous",
                ExpressionAttributeValues: { ":previous": previousWindowId },
              }),
        },
      },
    ]);
    if (refused) return refused;
    return mode === "immediate" ? { mode, windowId } : { mode, windowId, closesAt, needsSchedule: true };
  }

  private admissionPut(admissionKey: string, mode: Admission["mode"], windowId: string, closesAt: number) {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          pk: admissionKey,
          sk: SORT.admission,
          mode,
          windowId,
          closesAt,
          expiresAt: expiresAt(closesAt),
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    };
  }

  /**
   * Puts the member a held admit is about to commit, unconditionally: the same alert's member
   * again is the same item, and one whose admission never names this window is left out by the
   * close (see the module comment).
   */
  private async putMember(
    windowId: string,
    entry: DigestEntry,
    closesAt: number,
    now: number,
  ): Promise<void> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: windowPk(windowId),
            sk: memberSk(entry.alertId),
            entry,
            admittedAt: now,
            expiresAt: expiresAt(closesAt),
          },
        }),
      );
    } catch (error) {
      throw storeFailure("write a window member", error);
    }
  }

  /** Runs the transaction; undefined when it was written, else why it was refused. */
  private async transact(
    what: string,
    items: NonNullable<TransactWriteCommandInput["TransactItems"]>,
  ): Promise<Refusal | undefined> {
    try {
      await this.documents.send(new TransactWriteCommand({ TransactItems: items }));
      return undefined;
    } catch (error) {
      if (error instanceof TransactionCanceledException) return refusalOf(error);
      throw storeFailure(what, error);
    }
  }

  private readWindow(windowId: string, consistent = true): Promise<WindowItem | undefined> {
    if (!WINDOW_ID.test(windowId)) return Promise.resolve(undefined);
    return this.read(windowPk(windowId), SORT.window, windowItemSchema, "read a window", consistent);
  }

  /** One item, validated; undefined when there is none. Strongly consistent unless told. */
  private async read<Schema extends z.core.$ZodType>(
    pk: string,
    sk: string,
    schema: Schema,
    what: string,
    consistent = true,
  ): Promise<z.infer<Schema> | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      ({ Item: item } = await this.documents.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: consistent }),
      ));
    } catch (error) {
      throw storeFailure(what, error);
    }
    if (item === undefined) return undefined;
    const parsed = z.safeParse(schema, item);
    if (!parsed.success) throw new TransientDeliveryError(`Digest store: unreadable item (${what})`);
    return parsed.data;
  }

  /**
   * The members of the window whose admission names it as held: the others are orphans of admits
   * that did not commit here (see the module comment). Strongly consistent throughout.
   */
  private async admittedMembers(
    windowId: string,
    group: DigestGroup,
  ): Promise<z.infer<typeof memberItemSchema>[]> {
    const members = await this.members(windowId);
    const admissions = new Map<string, z.infer<typeof admissionItemSchema>>();
    const keys = [...new Set(members.map((member) => admissionPk(group, member.entry.alertId)))];
    for (let start = 0; start < keys.length; start += MAX_BATCH_GET) {
      let pending: Record<string, unknown>[] = keys
        .slice(start, start + MAX_BATCH_GET)
        .map((pk) => ({ pk, sk: SORT.admission }));
      for (let round = 0; pending.length > 0; round += 1) {
        if (round > UNPROCESSED_ROUNDS) {
          throw new TransientDeliveryError("Digest store: admissions left unread (throttled)");
        }
        let answer: BatchGetCommandOutput;
        try {
          answer = await this.documents.send(
            new BatchGetCommand({
              RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } },
            }),
          );
        } catch (error) {
          throw storeFailure("read a window's admissions", error);
        }
        for (const item of answer.Responses?.[this.tableName] ?? []) {
          const parsed = admissionItemSchema.safeParse(item);
          if (!parsed.success) throw new TransientDeliveryError("Digest store: unreadable admission");
          admissions.set(String(item.pk), parsed.data);
        }
        pending = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (pending.length > 0)
          await this.sleep(backoffDelay(CONFLICT_BACKOFF_MS, round + 1, { fixedShare: 0 }));
      }
    }
    return members.filter((member) => {
      const admission = admissions.get(admissionPk(group, member.entry.alertId));
      return admission?.mode === "held" && admission.windowId === windowId;
    });
  }

  /** Every member of the window, page after page, strongly consistent. */
  private async members(windowId: string): Promise<z.infer<typeof memberItemSchema>[]> {
    const members: z.infer<typeof memberItemSchema>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      let page: QueryCommandOutput;
      try {
        page = await this.documents.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :member)",
            ExpressionAttributeValues: { ":pk": windowPk(windowId), ":member": SORT.memberPrefix },
            ConsistentRead: true,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
      } catch (error) {
        throw storeFailure("read a window's members", error);
      }
      for (const item of page.Items ?? []) {
        const parsed = memberItemSchema.safeParse(item);
        if (!parsed.success) throw new TransientDeliveryError("Digest store: unreadable window member");
        members.push(parsed.data);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return members;
  }
}
