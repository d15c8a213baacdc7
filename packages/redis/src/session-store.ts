// TTL key-value storage for sessions with sliding expiry: every touch pushes the expiry out by the
// entry's own TTL. Each entry is a hash { val, ttl } so a touch needs no knowledge of the TTL.
import { z } from 'zod';
import { checkId, JsonSerializer, parseInput, type Serializer } from '@cairn/core';
import type { RedisClient, RedisConnection } from './connection.js';
import type { ScriptedClient } from './scripts.js';

// At least a millisecond: Redis' expiries are whole milliseconds, and `PEXPIRE key 0` deletes the key.
const ttlSeconds = z.number().min(0.001).max(365 * 24 * 3600);

/** Options of a RedisSessionStore (besides the serializer). Defaults live here. */
export const SessionStoreOptionsSchema = z
  .object({
    /** Names this store's keys (`<keyPrefix>sessions:<namespace>:<id>`). @defaultValue 'default' */
    namespace: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/).default('default'),
    /** Sliding TTL of entries when set() gives none, in seconds (at least 0.001). @defaultValue 1800 */
    defaultTtlSeconds: ttlSeconds.default(1_800),
  })
  .strict();
/** Options of `new RedisSessionStore(redis, options)`; `serializer` defaults to JsonSerializer. */
export type SessionStoreOptions = z.input<typeof SessionStoreOptionsSchema> & { serializer?: Serializer };

const ttlSchema = z.object({ ttlSeconds: ttlSeconds.optional() }).strict();

// Every client of a RedisConnection has Cairn's scripts (the touch script: scripts.ts).
const scripted = (client: RedisClient) => client as ScriptedClient;

/**
 * Session storage with sliding expiry. Unlike the cache, this is storage: when Redis is down,
 * calls throw RedisUnavailableError rather than pretending.
 */
export class RedisSessionStore {
  readonly #redis: RedisConnection;
  readonly #serializer: Serializer;
  readonly #namespace: string;
  readonly #defaultTtlMs: number;

  constructor(redis: RedisConnection, options: SessionStoreOptions = {}) {
    const { serializer, ...rest } = options;
    const opts = parseInput(SessionStoreOptionsSchema, rest, 'session store options');
    this.#redis = redis;
    this.#serializer = serializer ?? new JsonSerializer();
    this.#namespace = opts.namespace;
    this.#defaultTtlMs = Math.round(opts.defaultTtlSeconds * 1000);
  }

  /** Session ids follow @cairn/core's id rule: ioredis sends a lone surrogate as U+FFFD, so two ids would share an entry. */
  #key(id: string): string {
    return this.#redis.key('sessions', this.#namespace, checkId(id, 'session id'));
  }

  /** Stores a value with a sliding TTL. */
  async set(id: string, value: unknown, options: { ttlSeconds?: number } = {}): Promise<void> {
    const key = this.#key(id);
    const { ttlSeconds } = parseInput(ttlSchema, options, 'session options');
    const ttlMs = ttlSeconds === undefined ? this.#defaultTtlMs : Math.round(ttlSeconds * 1000);
    const bytes = Buffer.from(this.#serializer.serialize(value));
    await this.#redis.run((c) => c.multi().hset(key, 'val', bytes, 'ttl', String(ttlMs)).pexpire(key, ttlMs).exec());
  }

  /** The value without extending its life, or undefined when absent or expired. */
  async get<T = unknown>(id: string): Promise<T | undefined> {
    const key = this.#key(id);
    const raw = await this.#redis.run((c) => c.hgetBuffer(key, 'val'));
    return raw ? (this.#serializer.deserialize(raw) as T) : undefined;
  }

  /** Extends the entry's life by its TTL. Returns false when it no longer exists. */
  async touch(id: string): Promise<boolean> {
    const key = this.#key(id);
    return (await this.#redis.run((c) => scripted(c).cairnSessionTouch(key, '0'))) !== null;
  }

  /** get() and touch() in one round trip. */
  async getAndTouch<T = unknown>(id: string): Promise<T | undefined> {
    const key = this.#key(id);
    const raw = await this.#redis.run((c) => scripted(c).cairnSessionTouchBuffer(key, '1'));
    return raw ? (this.#serializer.deserialize(raw) as T) : undefined;
  }

  /** Milliseconds left before the entry expires, or undefined when it does not exist. */
  async ttlMs(id: string): Promise<number | undefined> {
    const key = this.#key(id);
    const left = await this.#redis.run((c) => c.pttl(key));
    return left < 0 ? undefined : left;
  }

  async delete(id: string): Promise<void> {
    const key = this.#key(id);
    await this.#redis.run((c) => c.unlink(key));
  }
}
