/**
 * How long the relay keeps what it knows about a delivery. A module of its own, free of imports,
 * so that the ledger and the digests read it without pulling Powertools idempotency (and its
 * JMESPath engine, 23 KB that runs decorators at import) into a bundle that has no guard, such as
 * deliver-log's.
 */

/**
 * Idempotency records, ledger entries and digest windows live 14 days: as long as the dead-letter
 * queues keep a failed alert, so a redrive (npm run redrive) days later still finds them.
 */
export const IDEMPOTENCY_EXPIRY_SECONDS = 14 * 24 * 60 * 60;
