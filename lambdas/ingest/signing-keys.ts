/**
 * Where ingest gets the `X-Sqreen-Integrity` signing keys: Secrets Manager in AWS (through the
 * Powertools parameters provider, which caches them), a fixed list locally and in tests.
 */

import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { signingKeysSecretSchema } from "../contracts/backend-secrets.js";
import { ConfigurationError, DependencyUnavailableError } from "../runtime/errors.js";

/** The keys a request signature may match: several at once (one per application, rotations). */
export interface SigningKeyStore {
  /** Where the keys come from, for log lines (a secret's name or ARN; never a key). */
  readonly source?: string;
  /**
   * The currently valid keys, possibly from a cache. `forceRefresh` asks for a fresh read (a
   * signature matched no cached key: the secret may have just been rotated); an implementation
   * may serve a cached value instead when it refreshed very recently. Rejects when the store
   * cannot be read; resolves to an empty list when it holds no key yet.
   */
  getKeys(options?: { forceRefresh?: boolean }): Promise<readonly string[]>;
}

/** A fixed list of keys: the local stack and tests. */
export class StaticSigningKeyStore implements SigningKeyStore {
  readonly source = "static key list";
  readonly #keys: readonly string[];

  constructor(keys: readonly string[]) {
    this.#keys = keys.map((key) => key.trim()).filter((key) => key.length > 0);
  }

  async getKeys(): Promise<readonly string[]> {
    return this.#keys;
  }
}

/**
 * Reads a signing-keys secret string: JSON `{"keys": [...]}` (signingKeysSecretSchema), or a plain
 * string holding one key or several separated by commas or newlines. Keys are trimmed and empty
 * ones dropped, so a placeholder such as `{"keys": []}` or `""` gives no key at all.
 * Throws when the string looks like JSON but is not the documented shape: guessing would turn a
 * typo in the secret into keys nobody signs with.
 */
export function parseSigningKeys(secret: string): string[] {
  const text = secret.trim();
  let keys: string[];
  if (text.startsWith("{") || text.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ConfigurationError(
        'signing-keys secret starts like JSON but is not valid JSON (expected {"keys": [...]})',
        {
          cause: error,
        },
      );
    }
    const result = signingKeysSecretSchema.safeParse(parsed);
    if (!result.success)
      throw new ConfigurationError('signing-keys secret JSON must be {"keys": ["<key>", ...]}');
    keys = result.data.keys;
  } else {
    keys = text.split(/[,\r\n]/);
  }
  return keys.map((key) => key.trim()).filter((key) => key.length > 0);
}

export interface SecretsManagerSigningKeyStoreOptions {
  /** ARN or name of the secret. */
  secretId: string;
  /** How long fetched keys are reused without asking Secrets Manager again (KEY_CACHE_SECONDS). */
  maxAgeSeconds: number;
  /** The module-scope Secrets Manager client (honours AWS_ENDPOINT_URL* like every SDK v3 client). */
  client?: SecretsManagerClient;
  /** Least time between two forced refreshes, in milliseconds (default 10 000). */
  minForcedRefreshIntervalMs?: number;
  /** Clock, in milliseconds; injectable so the refresh rate limit is testable without waiting. */
  now?: () => number;
}

const DEFAULT_MIN_FORCED_REFRESH_INTERVAL_MS = 10_000;

/**
 * Signing keys from one Secrets Manager secret, cached by Powertools' SecretsProvider for
 * `maxAgeSeconds`. Any read failure rejects with DependencyUnavailableError (ingest answers 503,
 * never 401: a request must not be refused as forged because the key store was down).
 *
 * Forced refreshes are rate-limited per container: a signature that matches no cached key is the
 * normal sign of a rotation, but also what every forged request looks like. Without a limit a
 * flood of forged requests would turn into as many GetSecretValue calls (cost, throttling that
 * would then fail genuine requests). Within `minForcedRefreshIntervalMs` of the last forced read,
 * a forced request is served from the cache instead; a rotation is still picked up within that
 * interval, on Sqreen's next retry.
 */
export class SecretsManagerSigningKeyStore implements SigningKeyStore {
  readonly source: string;
  readonly #provider: SecretsProvider;
  readonly #secretId: string;
  readonly #maxAgeSeconds: number;
  readonly #minForcedRefreshIntervalMs: number;
  readonly #now: () => number;
  #lastForcedRefreshAt = Number.NEGATIVE_INFINITY;
  /** The last read found no key (the stack's placeholder): the operator is about to fill it in. */
  #lastReadFoundNoKey = false;

  constructor(options: SecretsManagerSigningKeyStoreOptions) {
    this.#provider = new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : {});
    this.#secretId = options.secretId;
    this.source = `Secrets Manager secret ${options.secretId}`;
    this.#maxAgeSeconds = options.maxAgeSeconds;
    this.#minForcedRefreshIntervalMs =
      options.minForcedRefreshIntervalMs ?? DEFAULT_MIN_FORCED_REFRESH_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
  }

  async getKeys(options?: { forceRefresh?: boolean }): Promise<readonly string[]> {
    let forceFetch = false;
    // While the secret holds no key, every request asks for a fresh read (rate-limited like a
    // rotation): keys filled in after the deploy are used within seconds, not after the cache's
    // maximum age, and Sqreen's retries of the 503s are accepted as soon as they can be.
    if (options?.forceRefresh || this.#lastReadFoundNoKey) {
      const now = this.#now();
      if (now - this.#lastForcedRefreshAt >= this.#minForcedRefreshIntervalMs) {
        this.#lastForcedRefreshAt = now;
        forceFetch = true;
      }
    }
    let secret: string | Uint8Array | undefined;
    try {
      secret = await this.#provider.get(this.#secretId, { maxAge: this.#maxAgeSeconds, forceFetch });
    } catch (error) {
      throw new DependencyUnavailableError("could not read the signing-keys secret from Secrets Manager", {
        cause: error,
      });
    }
    const keys = this.#parse(secret);
    this.#lastReadFoundNoKey = keys === undefined || keys.length === 0;
    if (keys === undefined) throw new DependencyUnavailableError("the signing-keys secret is malformed");
    return keys;
  }

  /** The keys of a secret value, or undefined when it is malformed. */
  #parse(secret: string | Uint8Array | undefined): readonly string[] | undefined {
    // An empty SecretString comes back as undefined: a secret with no value holds no key.
    if (secret === undefined) return [];
    const text = typeof secret === "string" ? secret : new TextDecoder().decode(secret);
    try {
      return parseSigningKeys(text);
    } catch {
      return undefined;
    }
  }

  /** Forgets cached keys and the refresh rate limit (tests). */
  clearCache(): void {
    this.#provider.clearCache();
    this.#lastForcedRefreshAt = Number.NEGATIVE_INFINITY;
    this.#lastReadFoundNoKey = false;
  }
}
