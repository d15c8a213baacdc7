// createRedis(): one ioredis client (single node, Sentinel or Cluster) behind a circuit breaker,
// with the counters and health the rest of Cairn reports, and the recovery after an outage: the
// caches' steps run before anything is served again, and the breaker is probed on a timer so that
// an idle instance recovers (and replays the invalidations it lost) as soon as Redis answers.
import { Redis, Cluster, type RedisOptions as IORedisOptions, type ClusterOptions } from 'ioredis';
import { BackoffSchedule, parseInput } from '@cairn/core';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { RedisUnavailableError } from './errors.js';
import { RedisOptionsSchema, type RedisOptions, type ResolvedRedisOptions } from './options.js';
import { parseRedisUrl } from './redis-url.js';
import { defineScripts } from './scripts.js';

/** A Redis client of either kind. */
export type RedisClient = Redis | Cluster;

/** Counters since the connection was created. */
export interface RedisStats {
  hits: number;
  misses: number;
  /** Calls that failed because Redis was unreachable, timed out, or the breaker was open. */
  errors: number;
  /** Read-through fills refused because a newer write happened while loading. */
  staleFillsRejected: number;
  breaker: BreakerState;
  /** True while the caches recover after an outage (they serve nothing meanwhile). */
  recovering: boolean;
  /** Recoveries completed (each one: lost invalidations replayed, caches flushed where needed). */
  recoveries: number;
}

/** What onRecovered() listeners receive. */
export interface RedisRecovery {
  /** Milliseconds from the breaker opening (or from creation, on a first connection) to serving again. */
  unavailableMs: number;
  /** Milliseconds the recovery steps took (the last part of `unavailableMs`). */
  recoveryMs: number;
}

/** Result of healthCheck(): a PING's outcome and round trip, with the breaker state. */
export interface RedisHealth {
  ok: boolean;
  latencyMs: number;
  breaker: BreakerState;
  error?: string;
}

function tlsOptions(tls: ResolvedRedisOptions['tls'], url: string | undefined): IORedisOptions['tls'] {
  if (tls === false) return url !== undefined && /^rediss(\+cluster)?:\/\//.test(url) ? {} : undefined;
  if (tls === true) return {};
  return { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.servername ? { servername: tls.servername } : {}) };
}

function buildClient(o: ResolvedRedisOptions): RedisClient {
  // Core's one backoff (full jitter); ioredis counts reconnect attempts from 1, as it does retries.
  const reconnect = new BackoffSchedule({ initialDelayMs: o.retry.baseDelayMs, maxDelayMs: o.retry.maxDelayMs });
  const fromUrl = o.url === undefined ? undefined : parseRedisUrl(o.url);
  const clusterUrl = typeof fromUrl === 'object' ? fromUrl : undefined;
  const username = o.username ?? clusterUrl?.username;
  const password = o.password ?? clusterUrl?.password;
  const common: IORedisOptions = {
    connectTimeout: o.connectTimeoutMs,
    commandTimeout: o.commandTimeoutMs,
    // Fail at once while disconnected: queued commands would each wait for the reconnect.
    enableOfflineQueue: false,
    maxRetriesPerRequest: o.maxRetriesPerRequest,
    enableAutoPipelining: o.enableAutoPipelining,
    retryStrategy: (attempt) => reconnect.delayBeforeRetry(attempt),
    // Connects in the constructor's tick: the connection attaches its listeners and scripts first.
    lazyConnect: false,
    // ioredis arms this timer when it ends a stream and clears it on 'close', which a stream that
    // already died never emits again; keep it short so a closed connection lets the process exit.
    disconnectTimeout: 200,
    ...(o.connectionName ? { connectionName: o.connectionName } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
  };
  const tls = tlsOptions(o.tls, o.url);
  if (tls) common.tls = tls;
  const seeds = o.cluster?.nodes ?? clusterUrl?.nodes;
  if (seeds) {
    const clusterOptions: ClusterOptions = {
      redisOptions: common,
      enableOfflineQueue: false,
      enableAutoPipelining: o.enableAutoPipelining,
      clusterRetryStrategy: (attempt) => reconnect.delayBeforeRetry(attempt),
    };
    return new Cluster(seeds, clusterOptions);
  }
  if (o.sentinel) {
    return new Redis({
      ...common,
      sentinels: o.sentinel.sentinels,
      name: o.sentinel.name,
      db: o.db,
      ...(o.sentinel.sentinelPassword ? { sentinelPassword: o.sentinel.sentinelPassword } : {}),
    });
  }
  if (o.url) return new Redis(o.url, common);
  return new Redis({ ...common, host: o.host, port: o.port, db: o.db });
}

const identity = <T>(value: T): T => value;
const rethrow = (error: RedisUnavailableError): never => {
  throw error;
};

/** A ReplyError is Redis answering "no" (wrong type, script error): not an outage. */
function isOutage(err: unknown): boolean {
  return !(err instanceof Error && err.name === 'ReplyError');
}

/**
 * The connection every Redis-backed Cairn component shares. Calls go through `run()`, which
 * refuses fast while the breaker is open and, after an outage, holds everything back until the
 * registered recovery steps (cache flushes) have finished.
 */
export class RedisConnection {
  /** The ioredis client (Redis, or Cluster). Calls made on it directly bypass the breaker. */
  readonly client: RedisClient;
  /** Prefix of every key and channel, applied by Cairn (not by ioredis). */
  readonly keyPrefix: string;
  /**
   * The scope every RedisCache on this connection puts into its keys (`<keyPrefix>cache:<scope>:…`),
   * e.g. the database's epoch, so that a reset or restored database never meets the entries of its
   * predecessor. Undefined when none was given.
   */
  readonly cacheScope: string | undefined;
  /** The breaker every `run()` goes through. */
  readonly breaker: CircuitBreaker;
  readonly #options: ResolvedRedisOptions;
  readonly #counters = { hits: 0, misses: 0, errors: 0, staleFillsRejected: 0, recoveries: 0 };
  readonly #recoverySteps = new Set<() => Promise<void>>();
  readonly #recoveredListeners = new Set<(recovery: RedisRecovery) => void>();
  /** When the connection stopped serving (breaker opened), for RedisRecovery.unavailableMs. */
  #unavailableSince = performance.now();
  #probeTimer: NodeJS.Timeout | undefined;
  readonly #duplicates = new Set<RedisClient>();
  #everReady = false;
  /**
   * Settles when the first connection attempt has: connected, failed, or outlived connectTimeoutMs.
   * Undefined once it has. A cache write or delete issued meanwhile waits for it rather than being
   * refused: refused, its invalidation would wait for the connection, and another instance could
   * read the entry it should have removed until then (a process that writes right after starting).
   */
  #firstAttempt: Promise<void> | undefined;
  /** A write could not reach Redis before the first connection: recover before serving. */
  #recoverOnReady = false;
  #epoch = 0;
  #recovering: Promise<void> | undefined;
  /** A cache write or delete was refused during the recovery: its steps must run once more. */
  #invalidationRefusedWhileRecovering = false;
  #probing: Promise<void> | undefined;
  #closed = false;
  readonly #timerListKeeper: NodeJS.Timeout;

  /** @internal use createRedis(). */
  constructor(options: ResolvedRedisOptions) {
    this.#options = options;
    this.keyPrefix = options.keyPrefix;
    this.cacheScope = options.cacheScope;
    this.breaker = new CircuitBreaker(options.breaker);
    this.client = buildClient(options);
    defineScripts(this.client);
    // ioredis arms a commandTimeout timer per command. Node keeps one timer list per duration and
    // tears it down (and re-arms libuv) whenever it empties, which one-at-a-time commands do every
    // time; this idle interval of the same duration keeps that list alive. Measurable on a hit.
    this.#timerListKeeper = setInterval(() => undefined, options.commandTimeoutMs).unref();
    // Without a listener ioredis prints every connection error, and a few of its paths emit 'error'
    // raw (which would throw); the breaker records the failures of calls instead.
    this.client.on('error', () => undefined);
    this.client.on('close', () => {
      if (this.#everReady) this.breaker.trip();
    });
    this.client.on('ready', () => {
      if (!this.#everReady) {
        this.#everReady = true;
        // Writes were lost while Redis was unreachable at start: whatever it holds may be stale.
        if (this.#recoverOnReady) this.#startRecovery();
        return;
      }
      // Back after an outage: probe now rather than at the next call.
      void this.#probe();
    });
    this.#firstAttempt = this.#settleFirstAttempt();
    this.breaker.onTransition((from, to) => {
      if (from === 'closed') {
        this.#epoch += 1;
        // A failed recovery reopens the breaker: the outage it belongs to began earlier.
        if (this.#recovering === undefined) this.#unavailableSince = performance.now();
      }
      if (to === 'open') this.#scheduleProbe();
      if (to === 'closed' && from !== 'closed') this.#startRecovery();
    });
  }

  #settleFirstAttempt(): Promise<void> {
    return new Promise<void>((resolve) => {
      const settle = () => {
        clearTimeout(timer);
        for (const event of ['ready', 'error', 'end'] as const) this.client.off(event, settle);
        this.#firstAttempt = undefined;
        resolve();
      };
      const timer = setTimeout(settle, this.#options.connectTimeoutMs).unref();
      for (const event of ['ready', 'error', 'end'] as const) this.client.once(event, settle);
    });
  }

  /** Resolves once connected; rejects with RedisUnavailableError after `timeoutMs`. */
  async ready(timeoutMs = this.#options.connectTimeoutMs * 2): Promise<void> {
    if (this.#everReady) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new RedisUnavailableError(`Redis did not become ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  /** Whether calls may reach Redis right now. */
  get serving(): boolean {
    return this.#everReady && !this.#closed && this.breaker.state === 'closed' && this.#recovering === undefined;
  }

  /**
   * Changes every time the connection leaves the serving state (the breaker opens). A read-through
   * fill that began in an earlier epoch may hold data older than a write that never reached Redis,
   * so it must not land.
   */
  get epoch(): number {
    return this.#epoch;
  }

  /** `keyPrefix` + parts joined by ':'. */
  key(...parts: string[]): string {
    return this.keyPrefix + parts.join(':');
  }

  /**
   * Runs `op` against Redis. Throws RedisUnavailableError, without calling Redis, while the breaker
   * is open or the caches are recovering; outages count as breaker failures, Redis' own replies
   * (ReplyError) pass through untouched.
   *
   * With `invalidates: true` (a cache write or delete), a failure means Redis may now hold a value
   * older than the database: the breaker opens at once, so the caches are emptied before they
   * serve again, even if this was a single timeout.
   */
  run<T>(op: (client: RedisClient) => Promise<T>, options: { invalidates?: boolean } = {}): Promise<T> {
    return this.runMapped(op, identity, rethrow, options);
  }

  /**
   * run() with the result (or the RedisUnavailableError) mapped in the same promise step. The
   * cache's hit path uses it: on a loopback GET of ~60 µs, each extra promise hop is measurable.
   * @internal
   */
  runMapped<T, R>(
    op: (client: RedisClient) => Promise<T>,
    onResult: (result: T) => R,
    onUnavailable: (error: RedisUnavailableError) => R,
    options: { invalidates?: boolean } = {},
  ): Promise<R> {
    if (!this.serving) {
      if (options.invalidates && this.#firstAttempt !== undefined && !this.#closed) {
        return this.#firstAttempt.then(() => this.runMapped(op, onResult, onUnavailable, options));
      }
      this.#counters.errors += 1;
      if (options.invalidates && !this.#everReady) this.#recoverOnReady = true;
      if (options.invalidates && this.#recovering) this.#invalidationRefusedWhileRecovering = true;
      if (this.#everReady && !this.#closed && this.breaker.state === 'half-open') void this.#probe();
      const refused = new RedisUnavailableError(
        this.#recovering ? 'Redis caches are recovering after an outage' : this.#everReady ? 'Redis is unavailable (circuit open)' : 'Redis is not connected yet',
      );
      return Promise.resolve(refused).then(onUnavailable);
    }
    let pending: Promise<T>;
    try {
      pending = op(this.client);
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on what op threw, unchanged, as a rethrow would
      pending = Promise.reject(err);
    }
    return pending.then(
      (result) => {
        this.breaker.recordSuccess();
        return onResult(result);
      },
      (err: unknown) => {
        const failure = this.#failed(err, options);
        if (failure instanceof RedisUnavailableError) return onUnavailable(failure);
        throw failure;
      },
    );
  }

  /** Books a failed call; returns what to throw (Redis' own replies pass through untouched). */
  #failed(err: unknown, options: { invalidates?: boolean }): unknown {
    if (!isOutage(err)) return err;
    this.#counters.errors += 1;
    if (options.invalidates) this.breaker.trip();
    else this.breaker.recordFailure();
    return new RedisUnavailableError(`Redis call failed: ${(err as Error).message}`, { cause: err });
  }

  /**
   * Registers a step that must finish before anything is served again after an outage (a cache's
   * replay of the invalidations it lost: while Redis was unreachable, writes went to PostgreSQL
   * only, so cached values may be stale). Steps run concurrently; if one fails, the breaker opens
   * again and the whole recovery is retried at the next probe.
   */
  onRecovery(step: () => Promise<void>): () => void {
    this.#recoverySteps.add(step);
    return () => this.#recoverySteps.delete(step);
  }

  /**
   * Calls `listener` each time a recovery has completed and the connection serves again: from then
   * on, every invalidation this instance lost while it could not reach Redis has been applied, so
   * no instance reads an entry it failed to invalidate. Exceptions thrown by a listener are ignored.
   * Returns the unsubscribe function.
   */
  onRecovered(listener: (recovery: RedisRecovery) => void): () => void {
    this.#recoveredListeners.add(listener);
    return () => this.#recoveredListeners.delete(listener);
  }

  /** Whether this is a Redis Cluster connection (its pub/sub is sharded: see RedisNotifier). */
  get isCluster(): boolean {
    return this.client instanceof Cluster;
  }

  /**
   * A second connection with the same settings (pub/sub needs one of its own). Closed with this one.
   * On a cluster it keeps one subscriber connection per master for sharded pub/sub (SSUBSCRIBE).
   */
  duplicate(): RedisClient {
    // A subscriber's commands wait for its connection, so unlike the command connection it
    // queues while offline (RedisNotifier re-subscribes on every reconnect).
    const name = this.#options.connectionName ? { connectionName: `${this.#options.connectionName}:sub` } : {};
    const copy =
      this.client instanceof Cluster
        ? this.client.duplicate(undefined, { enableOfflineQueue: true, shardedSubscribers: true, redisOptions: { ...this.client.options.redisOptions, ...name } })
        : this.client.duplicate({ enableOfflineQueue: true, ...name });
    copy.on('error', () => undefined);
    this.#duplicates.add(copy);
    return copy;
  }

  /** @internal counters for the cache */
  count(counter: 'hits' | 'misses' | 'staleFillsRejected', by = 1): void {
    this.#counters[counter] += by;
  }

  /** Counters since creation, and the breaker state. */
  stats(): RedisStats {
    return { ...this.#counters, breaker: this.breaker.state, recovering: this.#recovering !== undefined };
  }

  /** PINGs Redis (bypassing the breaker). Never throws. */
  async healthCheck(): Promise<RedisHealth> {
    const started = performance.now();
    try {
      await this.client.ping();
      return { ok: true, latencyMs: performance.now() - started, breaker: this.breaker.state };
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - started, breaker: this.breaker.state, error: (err as Error).message };
    }
  }

  /** Masters to SCAN (every master of a cluster, or the single client). */
  scanTargets(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  /** Closes the client and its duplicates (QUIT, then disconnect if that fails). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timerListKeeper);
    clearTimeout(this.#probeTimer);
    await Promise.allSettled([...this.#duplicates, this.client].map((c) => (c.status === 'end' ? Promise.resolve() : c.quit().catch(() => c.disconnect()))));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Never serialises the client or credentials. */
  toJSON(): Record<string, unknown> {
    return { keyPrefix: this.keyPrefix, breaker: this.breaker.state };
  }

  #probe(): Promise<void> {
    this.#probing ??= (async () => {
      try {
        await this.client.ping();
        this.breaker.recordSuccess();
      } catch {
        this.breaker.recordFailure();
        // A failed trial leaves the breaker open without a transition: probe again later.
        this.#scheduleProbe();
      } finally {
        this.#probing = undefined;
      }
    })();
    return this.#probing;
  }

  /**
   * Probes once the breaker turns half-open, whether or not calls arrive: an idle instance that lost
   * invalidations must still replay them promptly, since other instances read the stale entries.
   * (A reconnect probes at once, on 'ready'; this covers a connection that stayed open.)
   */
  #scheduleProbe(): void {
    if (this.#closed || this.#probeTimer) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = undefined;
      if (this.#closed || this.breaker.state === 'closed') return;
      // While ioredis reconnects, a PING fails at once (no offline queue); 'ready' probes instead.
      if (this.client.status === 'ready') void this.#probe();
      else this.#scheduleProbe();
    }, this.#options.breaker.resetTimeoutMs).unref();
  }

  #startRecovery(): void {
    const started = performance.now();
    const recover = async (): Promise<void> => {
      await Promise.resolve(); // the steps start once `this.#recovering` holds this run
      do {
        this.#invalidationRefusedWhileRecovering = false;
        const results = await Promise.allSettled([...this.#recoverySteps].map((step) => step()));
        if (this.#recovering !== recovering) return; // superseded by a later recovery
        if (results.some((r) => r.status === 'rejected')) {
          // Not safe to serve: stay down and try the whole recovery again at the next probe.
          this.breaker.trip();
          this.#recovering = undefined;
          return;
        }
        // A cache write refused meanwhile was recorded as lost after the steps looked: run them again.
      } while (this.#invalidationRefusedWhileRecovering);
      // Serving resumes in the same step as that last check: no refused write can slip in between.
      this.#recovering = undefined;
      if (this.#closed || !this.serving) return;
      this.#counters.recoveries += 1;
      const now = performance.now();
      const recovery: RedisRecovery = { unavailableMs: now - this.#unavailableSince, recoveryMs: now - started };
      for (const listener of this.#recoveredListeners) {
        try {
          listener(recovery);
        } catch {
          // A listener's failure is its own; it must not keep the others from hearing of the recovery.
        }
      }
    };
    const recovering = recover();
    this.#recovering = recovering;
  }
}

/** Creates the shared Redis connection. Connects in the background; `await redis.ready()` to wait. */
export function createRedis(options: RedisOptions = {}): RedisConnection {
  return new RedisConnection(parseInput(RedisOptionsSchema, options, 'Redis options'));
}
