/**
 * The local relay as the operator CLI sees it: its ledger (the relay's database, opened shared
 * beside a running relay) and, from its run file, its webhook URL, secret and enabled backends.
 */
import { SqliteLedger } from "../../local/store/ledger-store.js";
import { RelayStore } from "../../local/store/relay-store.js";
import { readRunFile } from "../../local/store/run-file.js";
import type { LedgerSource } from "./cli.js";

/** The relay's database in `dataDir`, opened shared; throws saying where it looked when there is none. */
export function openLocalStore(dataDir: string): RelayStore {
  if (!RelayStore.existsIn(dataDir)) {
    throw new Error(
      `No local relay data in ${dataDir}: run it from the directory npm start ran in, or pass --local=DIR (or set RELAY_DATA_DIR as for npm start).`,
    );
  }
  return new RelayStore({ dataDir, shared: true });
}

export function localLedgerSource(dataDir: string): LedgerSource {
  const store = openLocalStore(dataDir);
  const run = readRunFile(dataDir);
  return {
    ledger: new SqliteLedger(store),
    webhookUrl: run?.webhookUrl,
    secret: run?.secret,
    backends: run?.backends,
    close: () => store.close(),
  };
}
