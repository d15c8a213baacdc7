// CairnStore with its Redis read-through cache of get: the whole conformance suite through the
// cache, then what the cache adds: hits, invalidation seen by another instance, items with a ttl
// read from PostgreSQL (their reads move their expiry), and PostgreSQL alone while Redis is down.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CairnDb } from '@cairn/db';
import { createTestDb, freePort } from '@cairn/db/testing';
import { ManualClock } from '@cairn/core';
import { createRedis, type RedisConnection } from '@cairn/redis';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { CairnStore } from '../src/index.js';
import { describeStore } from '../src/testing.js';

let db: CairnDb;
let redis: RedisConnection;
beforeAll(async () => {
  db = await createTestDb();
  redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('store') });
  await redis.ready();
});
afterAll(async () => {
  await redis.close();
  await db.close();
});

describeStore({ name: 'CairnStore on PostgreSQL with a Redis cache', create: async (options) => new CairnStore(db, { ...options, cache: { redis } }) });

describe('the Redis cache of get', () => {
  let tenant = 0;
  const stores = (extra: { clock?: ManualClock } = {}) => {
    const tenantId = `cache-${(tenant += 1)}`;
    return [new CairnStore(db, { tenantId, ...extra, cache: { redis } }), new CairnStore(db, { tenantId, ...extra, cache: { redis } })] as const;
  };

  it('serves repeated gets from Redis and never a value older than the last put, from any instance', async () => {
    const [mine, theirs] = stores();
    await mine.put(['users', 'u1'], 'prefs', { theme: 'dark' });
    expect((await mine.get(['users', 'u1'], 'prefs'))?.value).toEqual({ theme: 'dark' });
    const hits = redis.stats().hits;
    expect((await mine.get(['users', 'u1'], 'prefs'))?.value).toEqual({ theme: 'dark' });
    expect(redis.stats().hits).toBe(hits + 1);
    await theirs.put(['users', 'u1'], 'prefs', { theme: 'light' });
    expect((await mine.get(['users', 'u1'], 'prefs'))?.value).toEqual({ theme: 'light' });
    await theirs.batch([{ namespace: ['users', 'u1'], key: 'prefs', value: null }]);
    expect(await mine.get(['users', 'u1'], 'prefs')).toBeNull();
    // Keys with the characters a cache key must not hold directly.
    await mine.put(['a{b}', 'c%d'], '{key}:1', { ok: true });
    expect((await theirs.get(['a{b}', 'c%d'], '{key}:1'))?.value).toEqual({ ok: true });
  });

  it('reads items with a ttl from PostgreSQL, so that reading them keeps them alive', async () => {
    const clock = new ManualClock(Date.parse('2026-06-01T00:00:00.000Z'));
    const [store] = stores({ clock });
    await store.put(['sessions'], 'short', { n: 1 }, undefined, { ttl: 1 });
    for (let i = 0; i < 3; i++) {
      clock.advance(45_000); // each read moves the expiry a minute on
      expect((await store.get(['sessions'], 'short'))?.value).toEqual({ n: 1 });
    }
    clock.advance(61_000);
    expect(await store.get(['sessions'], 'short')).toBeNull();
  });

  it('answers from PostgreSQL while Redis is unreachable', async () => {
    const down = createRedis({ url: `redis://127.0.0.1:${await freePort()}`, connectTimeoutMs: 200 });
    const store = new CairnStore(db, { tenantId: `cache-down-${tenant}`, cache: { redis: down } });
    try {
      await store.put(['users', 'u1'], 'prefs', { theme: 'dark' });
      expect((await store.get(['users', 'u1'], 'prefs'))?.value).toEqual({ theme: 'dark' });
    } finally {
      await store.close();
      await down.close();
    }
  });
});
