/** Packing items into the batch calls of SQS SendMessageBatch and SNS PublishBatch. */

export interface BatchLimits {
  /** Most entries one call takes. */
  maxEntries: number;
  /** Most payload bytes one call takes, all entries together (the service refuses a larger call whole). */
  maxBytes: number;
}

/** Splits `items`, in order, into batches within `limits`; an item alone over maxBytes gets a batch of its own. */
export function packBatches<T>(
  items: readonly T[],
  bytesOf: (item: T) => number,
  limits: BatchLimits,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const item of items) {
    const bytes = bytesOf(item);
    if (
      current.length > 0 &&
      (current.length === limits.maxEntries || currentBytes + bytes > limits.maxBytes)
    ) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
