/**
 * The delivery ledger on AWS: the stack's DynamoDB ledger table (LEDGER_TABLE_NAME), written by
 * each deliver function and read by `npm run relay -- --stack <name>`.
 *
 * Key design:
 * - partition key `pk` = `<backend>#<alert id>`: the backend first, so IAM can let each deliver
 *   function write only its own backend's items (`dynamodb:LeadingKeys` `email#*`), and the
 *   failures a function counts for an attempt number are one small partition. Backend names hold
 *   no `#`, so the first `#` always ends the backend, whatever the alert id holds.
 * - sort key `sk` = `<recorded at ISO>#<random>`: the entries of a partition in time order.
 * - No index to find an alert: `trace` queries each backend's partition `<backend>#<id>` directly
 *   (five strongly consistent Queries of a few items). An alert's id and its Sqreen event id are
 *   the same value (lambdas/contracts/notification.ts), so either finds it. An index by alert id
 *   would add a write unit to every entry for what five partition reads answer.
 * - One sparse index, `byDay` (day, recordedAt), serves `recent`: only the entries an operator has
 *   to follow (DAY_INDEXED_OUTCOMES: failed, deferred, dead-lettered, redriven) carry `day`, so a
 *   delivery that went well costs 1 write unit (the table) and one that did not costs 2
 *   (bench/cost.ts counts them; test/infra/cost-model.test.ts checks the table has just this index).
 * - `expiresAt` (epoch seconds) is the table's TTL: as long as the dead-letter queues keep a
 *   failed alert (IDEMPOTENCY_EXPIRY_SECONDS), so a redrive's history is still there.
 */
import { randomBytes } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchWriteCommand, DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { BACKENDS, type Backend } from "../contracts/messages.js";
import { IDEMPOTENCY_EXPIRY_SECONDS } from "../contracts/retention.js";
import type { LedgerEntry, LedgerOutcome } from "./entry.js";
import type { DeliveryLedger, LedgerReader, RecentQuery } from "./ledger.js";

export const LEDGER_INDEXES = { byDay: "byDay" } as const;

/** The table's keys and TTL attribute, and each index's partition key (all strings; index sort key `recordedAt`): the stack and the integration tier create it from these. */
export const LEDGER_TABLE_KEYS = {
  partitionKey: "pk",
  sortKey: "sk",
  timeToLive: "expiresAt",
  indexSortKey: "recordedAt",
  indexPartitionKeys: {
    [LEDGER_INDEXES.byDay]: "day",
  },
} as const;

/**
 * The outcomes `byDay` indexes, and so the ones `recent` lists on a stack: what is still owed to a
 * destination or was done by hand. The settled ones (delivered, duplicate, digested, skipped) are
 * found by `trace`; indexing them too would double the ledger's write cost.
 */
export const DAY_INDEXED_OUTCOMES: readonly LedgerOutcome[] = [
  "failed",
  "deferred",
  "dead-lettered",
  "redriven",
];

/** The stack output naming the ledger table (lib/relay-stack.ts; the operator CLI reads it). */
export const LEDGER_TABLE_OUTPUT = "LedgerTableName";

/** Most items one BatchWriteItem takes. */
const MAX_BATCH_WRITE = 25;
/** Rounds of retrying the items DynamoDB left unprocessed (throttling) before giving up. */
const UNPROCESSED_ROUNDS = 3;

/** The partition key of `backend`'s entries for `alertId`. */
export function ledgerPartitionKey(backend: Backend, alertId: string): string {
  return `${backend}#${alertId}`;
}

/** The item of an entry. */
export function ledgerItem(
  entry: LedgerEntry,
  random = randomBytes(4).toString("hex"),
): Record<string, unknown> {
  return {
    pk: ledgerPartitionKey(entry.backend, entry.alertId),
    sk: `${entry.recordedAt}#${random}`,
    ...entry,
    ...(DAY_INDEXED_OUTCOMES.includes(entry.outcome) ? { day: entry.recordedAt.slice(0, 10) } : {}),
    expiresAt: Math.floor(Date.parse(entry.recordedAt) / 1000) + IDEMPOTENCY_EXPIRY_SECONDS,
  };
}

function entryOf(item: Record<string, unknown>): LedgerEntry {
  return {
    alertId: String(item.alertId),
    eventId: String(item.eventId),
    backend: item.backend as Backend,
    destination: String(item.destination),
    outcome: item.outcome as LedgerOutcome,
    attempt: Number(item.attempt),
    ...(typeof item.digestId === "string" ? { digestId: item.digestId } : {}),
    ...(typeof item.reason === "string" ? { reason: item.reason } : {}),
    acceptedAt: String(item.acceptedAt),
    recordedAt: String(item.recordedAt),
  };
}

export class DynamoDbLedger implements DeliveryLedger, LedgerReader {
  readonly #documents: DynamoDBDocumentClient;

  /** `client`: a module-scope client (it honours AWS_ENDPOINT_URL like every SDK client). */
  constructor(
    private readonly tableName: string,
    client: DynamoDBClient,
  ) {
    this.#documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async record(entries: readonly LedgerEntry[]): Promise<void> {
    for (let start = 0; start < entries.length; start += MAX_BATCH_WRITE) {
      let requests = entries
        .slice(start, start + MAX_BATCH_WRITE)
        .map((entry) => ({ PutRequest: { Item: ledgerItem(entry) } }));
      for (let round = 0; requests.length > 0; round += 1) {
        if (round > UNPROCESSED_ROUNDS) throw new Error(`${requests.length} ledger entries left unprocessed`);
        const answer = await this.#documents.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (answer.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }

  async failedAttempts(backend: Backend, alertId: string): Promise<number> {
    const items = await this.#queryAll({
      KeyConditionExpression: "pk = :pk",
      FilterExpression: "outcome = :failed",
      ProjectionExpression: "attempt",
      ExpressionAttributeValues: { ":pk": ledgerPartitionKey(backend, alertId), ":failed": "failed" },
    });
    return Math.max(0, ...items.map((item) => Number(item.attempt)));
  }

  async find(id: string): Promise<LedgerEntry[]> {
    const partitions = await Promise.all(
      BACKENDS.map((backend) =>
        this.#queryAll({
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": ledgerPartitionKey(backend, id) },
          // What a drill waits for was just written: read it, not a replica that may lag.
          ConsistentRead: true,
        }),
      ),
    );
    return partitions
      .flat()
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)))
      .map(entryOf);
  }

  /** The latest entries of DAY_INDEXED_OUTCOMES (the only ones `byDay` holds) matching `query`. */
  async recent(query: RecentQuery): Promise<LedgerEntry[]> {
    const since = new Date(query.since).toISOString();
    const found: LedgerEntry[] = [];
    // Newest day first, until enough entries or the day of `since`.
    for (
      let day = new Date();
      day.toISOString().slice(0, 10) >= since.slice(0, 10);
      day = new Date(day.getTime() - 86_400_000)
    ) {
      const filters: string[] = [];
      const values: Record<string, unknown> = { ":day": day.toISOString().slice(0, 10), ":since": since };
      if (query.backend) {
        filters.push("backend = :backend");
        values[":backend"] = query.backend;
      }
      if (query.outcomes?.length) {
        filters.push(`outcome IN (${query.outcomes.map((_, index) => `:o${index}`).join(", ")})`);
        query.outcomes.forEach((outcome, index) => {
          values[`:o${index}`] = outcome;
        });
      }
      const items = await this.#queryAll(
        {
          IndexName: LEDGER_INDEXES.byDay,
          KeyConditionExpression: "#day = :day AND recordedAt >= :since",
          ExpressionAttributeNames: { "#day": "day" },
          ...(filters.length ? { FilterExpression: filters.join(" AND ") } : {}),
          ExpressionAttributeValues: values,
          ScanIndexForward: false,
        },
        query.limit - found.length,
      );
      found.push(...items.map(entryOf));
      if (found.length >= query.limit) break;
    }
    return found.slice(0, query.limit);
  }

  async #queryAll(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], "TableName">,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const answer = await this.#documents.send(
        new QueryCommand({
          TableName: this.tableName,
          ...input,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...((answer.Items ?? []) as Record<string, unknown>[]));
      start = answer.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (start && items.length < limit);
    return items;
  }
}
