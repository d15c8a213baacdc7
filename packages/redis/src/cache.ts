// A Redis cache with an explicit API: get/set/del with TTL and single-flight read-through.
// Each entry is two keys in one cluster slot (a `{key}` hash tag): the value, read by a plain GET on
// the hit path, and a version counter. Every write or delete bumps the version; a read-through fill
// carries the version it saw before loading and lands only if no write happened meanwhile, so a
// slow loader can never put back data older than a write (the stale-fill race).
//
// Outages: a write that cannot reach Redis leaves an older value there, which every instance may
// read. The cache remembers the keys of such writes and, before the connection serves again,
// invalidates them (version bump + delete), so other instances stop reading them and a fill another
// instance began before the outage is refused; fills this instance began before the outage are
// dropped (epoch check). Only if more keys were lost than it remembers is the namespace flushed.
//
// Keys: `<keyPrefix>cache:[<cacheScope>:]<namespace>:{<key>}` and `…{<key>}:v`; the connection's
// cache scope (the database's epoch) keeps a reset or restored database from meeting old entries.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { idIssue, JsonSerializer, parseInput, type Serializer } from '@cairn/core';
import type { RedisClient, RedisConnection } from './connection.js';
import { RedisUnavailableError } from './errors.js';
import type { ScriptedClient } from './scripts.js';

// At least a millisecond: Redis' expiries are whole milliseconds, and `PX 0` is an error.
const ttlSeconds = z.number().min(0.001).max(365 * 24 * 3600);
/** Options of a RedisCache (besides the serializer). Defaults live here. */
export const CacheOptionsSchema = z
  .object({
    /** Names this cache's keys (`<keyPrefix>cache:[<cacheScope>:]<namespace>:{<key>}`). */
    namespace: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _ . - only'),
    /** TTL of entries when a call gives none, in seconds. @defaultValue 300 */
    defaultTtlSeconds: ttlSeconds.default(300),
    /** How long a deleted entry's version outlives it, in seconds. @defaultValue 60 */
    tombstoneTtlSeconds: ttlSeconds.default(60),
  })
  .strict();
/** Options of `new RedisCache(redis, options)`. */
export type CacheOptions = z.input<typeof CacheOptionsSchema> & {
  /** How values become bytes. @defaultValue JsonSerializer (the checkpointer's) */
  serializer?: Serializer;
};

/**
 * Largest cache key, in UTF-8 bytes (what Redis receives, not JavaScript characters). Cairn's own
 * keys stay under 900 bytes; Redis would take far more, but a key is sent on every call.
 */
export const MAX_CACHE_KEY_BYTES = 1024;

/**
 * Why `key` cannot be a cache key, or undefined when it can: @cairn/core's id rule (well-formed
 * Unicode, no NUL or control characters) bounded at MAX_CACHE_KEY_BYTES, and no braces. ioredis
 * sends a lone surrogate as U+FFFD, so `a\uD800b` and `a\uDBFFb` would be one entry; braces would
 * break the `{key}` hash tag that keeps an entry's two keys in one cluster slot.
 */
export function cacheKeyIssue(key: unknown): string | undefined {
  const issue = idIssue(key, { maxBytes: MAX_CACHE_KEY_BYTES });
  if (issue !== undefined) return issue;
  const text = key as string;
  return text.includes('{') || text.includes('}') ? 'must not contain { or }: they would break the hash tag of the entry' : undefined;
}

/** Cache keys: see `cacheKeyIssue`. */
export const CacheKeySchema: z.ZodType<string> = z.string({ error: 'must be a string' }).superRefine((key, ctx) => {
  const message = cacheKeyIssue(key);
  if (message !== undefined) ctx.addIssue({ code: 'custom', message });
});

/**
 * A cache key from parts that may hold any text (':' or braces, say): each part percent-encoded,
 * joined by ':', and a key longer than 900 characters replaced by its SHA-256. The one way Cairn's
 * packages name cache entries after their rows.
 */
export function composeCacheKey(...parts: string[]): string {
  const key = parts.map((p) => encodeURIComponent(p)).join(':');
  return key.length <= 900 ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * What a getOrLoad loader returns for a value to hand to its callers without caching it (an item
 * that expires, say, whose reads must reach the database).
 */
export class Uncached<T> {
  constructor(readonly value: T) {}
}

/**
 * The hit path's check: `cacheKeyIssue` without building a zod issue (a zod parse per get is a
 * measurable share of a sub-100 µs GET). Keys it refuses go through the schema, which throws the
 * ValidationError naming the problem.
 */
export function isValidCacheKey(key: unknown): key is string {
  return cacheKeyIssue(key) === undefined;
}
const setOptionsSchema = z.object({ ttlSeconds: ttlSeconds.optional() }).strict();
/** Per-call options of set() and getOrLoad(): `ttlSeconds` overrides the cache's default TTL. */
export type CacheSetOptions = z.input<typeof setOptionsSchema>;

// Every client of a RedisConnection has Cairn's scripts, defined when it was created (scripts.ts).
const scripted = (client: RedisClient) => client as ScriptedClient;

const MAX_LOST_INVALIDATIONS = 10_000;

/** A view, not a copy, when the serializer already returned a Buffer or a Uint8Array. */
function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * A namespaced cache on a RedisConnection. Never throws because Redis is down: a get is a miss,
 * a set/del does nothing (both counted as errors), and getOrLoad calls the loader.
 */
export class RedisCache {
  readonly namespace: string;
  readonly #redis: RedisConnection;
  readonly #serializer: Serializer;
  readonly #keyPrefix: string;
  readonly #defaultTtlMs: number;
  readonly #tombstoneMs: number;
  readonly #inflight = new Map<string, Promise<unknown>>();
  /**
   * Full keys of sets/dels that may not have reached Redis; invalidated again before the connection
   * serves after an outage. A key is added before its write is sent and removed once Redis confirms
   * it, so a write the connection refuses is on record before anyone can check.
   */
  readonly #lostInvalidations = new Set<string>();
  /** More writes were lost than #lostInvalidations holds: only a flush of the namespace is safe. */
  #lostUntracked = false;
  readonly #unregister: () => void;

  constructor(redis: RedisConnection, options: CacheOptions) {
    const { serializer, ...rest } = options;
    const opts = parseInput(CacheOptionsSchema, rest, 'cache options');
    this.namespace = opts.namespace;
    this.#redis = redis;
    this.#keyPrefix = `${this.#namespaceKey()}:`;
    this.#serializer = serializer ?? new JsonSerializer();
    this.#defaultTtlMs = Math.round(opts.defaultTtlSeconds * 1000);
    this.#tombstoneMs = Math.round(Math.max(opts.tombstoneTtlSeconds, opts.defaultTtlSeconds) * 1000);
    this.#unregister = redis.onRecovery(() => this.#recover());
  }

  /** `<keyPrefix>cache:[<cacheScope>:]<namespace>`: every key of this cache starts with it. */
  #namespaceKey(): string {
    const scope = this.#redis.cacheScope;
    return scope === undefined ? this.#redis.key('cache', this.namespace) : this.#redis.key('cache', scope, this.namespace);
  }

  #key(key: string): string {
    return `${this.#keyPrefix}{${isValidCacheKey(key) ? key : parseInput(CacheKeySchema, key, 'cache key')}}`;
  }

  #ttlMs(options: CacheSetOptions | undefined): number {
    if (options === undefined) return this.#defaultTtlMs;
    const { ttlSeconds: ttl } = parseInput(setOptionsSchema, options, 'cache set options');
    return ttl === undefined ? this.#defaultTtlMs : Math.round(ttl * 1000);
  }

  /** One GET: as text when the serializer decodes text (no byte copy), else as bytes. */
  #read(client: RedisClient, fullKey: string): Promise<string | Buffer | null> {
    return this.#serializer.deserializeText ? client.get(fullKey) : client.getBuffer(fullKey);
  }

  #decode(raw: string | Buffer): unknown {
    return typeof raw === 'string' ? this.#serializer.deserializeText!(raw) : this.#serializer.deserialize(raw);
  }

  /** The cached value, or undefined on a miss (or while Redis is unavailable). */
  get<T = unknown>(key: string): Promise<T | undefined> {
    // The hit path: one GET, written as a plain promise chain (no async frames) because its
    // overhead over a raw GET is what this cache is measured by.
    let fullKey: string;
    try {
      fullKey = this.#key(key);
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on the key's ValidationError unchanged, as a rethrow would
      return Promise.reject(err);
    }
    return this.#redis.runMapped(
      (c) => this.#read(c, fullKey),
      (raw) => {
        if (raw === null) {
          this.#redis.count('misses');
          return undefined;
        }
        this.#redis.count('hits');
        return this.#decode(raw) as T;
      },
      () => {
        this.#redis.count('misses');
        return undefined;
      },
    );
  }

  /**
   * The entry's write version, or undefined when Redis is unavailable. Read after the miss and
   * before the loader runs: any write the loader might not see bumps it later, and any write
   * before it is already committed, so the loader sees it.
   */
  #version(fullKey: string): Promise<string | undefined> {
    return this.#redis.runMapped(
      (c) => c.get(`${fullKey}:v`),
      (ver) => ver ?? '0',
      () => undefined,
    );
  }

  /** Writes a value (a write: it always wins over in-flight read-through fills). */
  async set(key: string, value: unknown, options?: CacheSetOptions): Promise<void> {
    const fullKey = this.#key(key);
    const ttlMs = this.#ttlMs(options);
    const bytes = toBuffer(this.#serializer.serialize(value));
    await this.#invalidating([fullKey], (c) => scripted(c).cairnCacheSet(fullKey, `${fullKey}:v`, bytes, ttlMs, Math.max(ttlMs, this.#tombstoneMs)));
  }

  /** Removes entries; in-flight fills for them are refused. */
  async del(...keys: string[]): Promise<void> {
    const fullKeys = keys.map((k) => this.#key(k));
    if (fullKeys.length === 0) return;
    await this.#invalidating(fullKeys, (c) => Promise.all(fullKeys.map((k) => scripted(c).cairnCacheDel(k, `${k}:v`, this.#tombstoneMs))));
  }

  /** Runs a write; until Redis confirms it, its keys are on record for the recovery. */
  async #invalidating(fullKeys: string[], op: (c: RedisClient) => Promise<unknown>): Promise<void> {
    this.#rememberLost(fullKeys);
    try {
      await this.#redis.run(op, { invalidates: true });
    } catch (err) {
      if (err instanceof RedisUnavailableError) {
        // Kept (again: a concurrent write of the same key may have confirmed and removed it).
        this.#rememberLost(fullKeys);
        return;
      }
      // Redis answered (a ReplyError) or the value could not be written: nothing was lost.
      for (const k of fullKeys) this.#lostInvalidations.delete(k);
      throw err;
    }
    for (const k of fullKeys) this.#lostInvalidations.delete(k);
  }

  #rememberLost(fullKeys: string[]): void {
    for (const k of fullKeys) {
      if (this.#lostInvalidations.size < MAX_LOST_INVALIDATIONS || this.#lostInvalidations.has(k)) this.#lostInvalidations.add(k);
      else this.#lostUntracked = true;
    }
  }

  /**
   * The recovery step: first the lost invalidations (a few round trips, and what ends other
   * instances' stale reads), then, only if more were lost than remembered, a flush of the namespace.
   */
  async #recover(): Promise<void> {
    await this.#replayLostInvalidations();
    if (!this.#lostUntracked) return;
    this.#lostUntracked = false;
    try {
      // Values only: the version keys carry the refusals of fills begun before the outage.
      await this.#unlinkMatching(`${escapeGlob(this.#namespaceKey())}:{*}`);
    } catch (err) {
      this.#lostUntracked = true;
      throw err;
    }
    await this.#replayLostInvalidations();
  }

  async #replayLostInvalidations(): Promise<void> {
    // Keys may be added while this runs (writes refused during the recovery): loop until empty.
    // A key is taken out before its delete is sent, so one lost again meanwhile is sent again.
    const client = scripted(this.#redis.client);
    while (this.#lostInvalidations.size > 0) {
      const batch = [...this.#lostInvalidations].slice(0, 500);
      for (const k of batch) this.#lostInvalidations.delete(k);
      try {
        await Promise.all(batch.map((k) => client.cairnCacheDel(k, `${k}:v`, this.#tombstoneMs)));
      } catch (err) {
        this.#rememberLost(batch);
        throw err;
      }
    }
  }

  /**
   * The cached value, or the loader's result cached with the version seen before loading.
   * Concurrent misses for one key in this process share one loader call. A loader result of
   * `undefined`, or wrapped in `Uncached`, is returned but not cached.
   */
  getOrLoad<T>(key: string, loader: () => Promise<T | Uncached<T>>, options?: CacheSetOptions): Promise<T> {
    let fullKey: string;
    let ttlMs: number;
    try {
      fullKey = this.#key(key);
      ttlMs = this.#ttlMs(options);
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes on the key's or options' ValidationError unchanged, as a rethrow would
      return Promise.reject(err);
    }
    const pending = this.#inflight.get(fullKey);
    if (pending) return pending as Promise<T>;
    // Captured before the read: an outage from here on means a write may have been lost.
    const epoch = this.#redis.epoch;
    // A hit costs one GET and one promise step, as get() does; misses meet in #loadOnce (returning
    // its promise from the step adopts it, so only a miss pays for the extra steps).
    return this.#redis.runMapped<string | Buffer | null, T | Promise<T>>(
      (c) => this.#read(c, fullKey),
      (raw) => {
        if (raw !== null) {
          this.#redis.count('hits');
          return this.#decode(raw) as T;
        }
        this.#redis.count('misses');
        return this.#loadOnce(fullKey, true, epoch, loader, ttlMs);
      },
      () => {
        this.#redis.count('misses');
        return this.#loadOnce(fullKey, false, epoch, loader, ttlMs);
      },
    ) as Promise<T>;
  }

  /** Single flight: the first miss loads, misses arriving meanwhile wait for its result. */
  #loadOnce<T>(fullKey: string, reachable: boolean, epoch: number, loader: () => Promise<T | Uncached<T>>, ttlMs: number): Promise<T> {
    const pending = this.#inflight.get(fullKey);
    if (pending) return pending as Promise<T>;
    const load = (async () => {
      const version = reachable ? await this.#version(fullKey) : undefined;
      const started = Date.now();
      const loaded = await loader();
      if (loaded instanceof Uncached) return loaded.value;
      const value = loaded;
      if (version === undefined || value === undefined) return value;
      if (this.#redis.epoch !== epoch || Date.now() - started >= this.#tombstoneMs) {
        // Redis was unreachable meanwhile (a write may have been lost), or the loader outlived the
        // version that would have refused a stale fill: do not cache what it returned.
        this.#redis.count('staleFillsRejected');
        return value;
      }
      const bytes = toBuffer(this.#serializer.serialize(value));
      const landed = await this.#quietly(() => this.#redis.run((c) => scripted(c).cairnCacheFill(fullKey, `${fullKey}:v`, version, bytes, ttlMs)));
      if (landed === 0) this.#redis.count('staleFillsRejected');
      return value;
    })();
    this.#inflight.set(fullKey, load);
    const done = () => {
      if (this.#inflight.get(fullKey) === load) this.#inflight.delete(fullKey);
    };
    load.then(done, done);
    return load;
  }

  /**
   * Empties this namespace, values and versions (SCAN + UNLINK on every master; never KEYS).
   * While Redis is unavailable it does nothing.
   */
  async clear(): Promise<void> {
    await this.#quietly(() => this.#redis.run(() => this.#unlinkMatching(`${escapeGlob(this.#namespaceKey())}:*`)));
  }

  /** SCAN + UNLINK of `pattern` on every master, bypassing the breaker. */
  async #unlinkMatching(pattern: string): Promise<void> {
    for (const node of this.#redis.scanTargets()) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        // One key per UNLINK: keys of a namespace may sit in different cluster slots.
        if (keys.length > 0) await Promise.all(keys.map((k) => node.unlink(k)));
      } while (cursor !== '0');
    }
  }

  /** Stops taking part in outage recovery. The connection itself belongs to the caller. */
  close(): void {
    this.#unregister();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  async #quietly<T>(op: () => Promise<T>): Promise<T | undefined> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof RedisUnavailableError) return undefined;
      throw err;
    }
  }
}
