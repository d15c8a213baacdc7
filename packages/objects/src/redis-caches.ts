// Read-through caches of object rows and session records on @cairn/redis' RedisCache. RedisCache
// versions every entry, so a fill that loaded before a write cannot land after that write's
// invalidation; when Redis is down every call degrades to a miss / no-op and reads go to PostgreSQL,
// and after an outage the invalidations that did not reach Redis are replayed before it serves again.
import type { JsonObject } from '@cairn/core';
import { RedisCache, composeCacheKey, type RedisConnection } from '@cairn/redis';
import type { RecordCache } from './collection.js';
import type { SessionCache, SessionRecord } from './session-record.js';
import type { ObjectRow } from './sql.js';


// Keys invalidated per Redis round of invalidateMany (each is one small script call).
const INVALIDATION_BATCH = 500;

/** @internal Object rows, keyed by tenant, type and id. */
export class RedisRecordCache implements RecordCache {
  readonly #cache: RedisCache;

  constructor(redis: RedisConnection, ttlSeconds: number) {
    this.#cache = new RedisCache(redis, { namespace: 'objects', defaultTtlSeconds: ttlSeconds });
  }

  async load(tenantId: string, type: string, id: string, loader: () => Promise<ObjectRow | null>): Promise<ObjectRow | null> {
    // Absent objects are not cached (undefined is never stored), so a create needs no special care.
    const row = await this.#cache.getOrLoad<ObjectRow | undefined>(composeCacheKey(tenantId, type, id), async () => (await loader()) ?? undefined);
    return row ?? null;
  }

  invalidate(tenantId: string, type: string, id: string): Promise<void> {
    return this.#cache.del(composeCacheKey(tenantId, type, id));
  }

  async invalidateMany(keys: ReadonlyArray<readonly [tenantId: string, type: string, id: string]>): Promise<void> {
    for (let start = 0; start < keys.length; start += INVALIDATION_BATCH) {
      await this.#cache.del(...keys.slice(start, start + INVALIDATION_BATCH).map(([tenantId, type, id]) => composeCacheKey(tenantId, type, id)));
    }
  }

  close(): void {
    this.#cache.close();
  }
}

/** @internal Session records, keyed by tenant and id, cached no longer than until they expire. */
export class RedisSessionCache implements SessionCache {
  readonly #cache: RedisCache;

  constructor(redis: RedisConnection, maxTtlSeconds: number) {
    this.#cache = new RedisCache(redis, { namespace: 'sessions', defaultTtlSeconds: maxTtlSeconds });
  }

  async getOrLoad(
    key: string,
    loader: () => Promise<SessionRecord<JsonObject> | null>,
    ttlSeconds: (value: SessionRecord<JsonObject>) => number,
  ): Promise<SessionRecord<JsonObject> | null> {
    const hit = await this.#cache.get<SessionRecord<JsonObject>>(key);
    if (hit !== undefined) return hit;
    // The TTL depends on the session's expiry, known only once it is loaded: load once to learn it,
    // then fill through getOrLoad, whose loader reads again after the entry's version was taken, so a
    // write racing with this miss can never leave a stale copy behind.
    const first = await loader();
    if (!first) return null;
    const filled = await this.#cache.getOrLoad<SessionRecord<JsonObject> | undefined>(key, async () => (await loader()) ?? undefined, {
      ttlSeconds: ttlSeconds(first),
    });
    return filled ?? null;
  }

  invalidate(key: string): Promise<void> {
    return this.#cache.del(key);
  }

  async close(): Promise<void> {
    this.#cache.close();
  }
}
