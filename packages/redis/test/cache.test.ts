import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError, type Serializer } from '@cairn/core';
import { scanKeys, testRedisUrl, uniqueKeyPrefix } from '../src/testing.js';
import { createRedis, composeCacheKey, RedisCache, Uncached, type RedisConnection } from '@cairn/redis';

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await sleep(5);
}

describe('RedisCache', () => {
  let redis: RedisConnection;
  let cache: RedisCache;
  beforeAll(async () => {
    redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('cache') });
    await redis.ready();
    cache = new RedisCache(redis, { namespace: 'things', defaultTtlSeconds: 60 });
  });
  afterAll(async () => {
    await cache.clear();
    cache.close();
    await redis.close();
  });

  it('stores values with the same serializer as the checkpointer', async () => {
    const value = { at: new Date('2026-01-01T00:00:00Z'), tags: new Set(['a']), counts: new Map([['x', 1]]), big: 2n ** 70n };
    await cache.set('v', value);
    expect(await cache.get('v')).toEqual(value);
  });

  it('round-trips non-ASCII text, and binary values of a serializer that does not decode text', async () => {
    await cache.set('text', { city: '東京', note: 'déjà vu 🚀' });
    expect(await cache.get('text')).toEqual({ city: '東京', note: 'déjà vu 🚀' });
    expect(await cache.getOrLoad('text', async () => 'loader must not run')).toEqual({ city: '東京', note: 'déjà vu 🚀' });
    // Bytes that are not UTF-8: the cache must read them back as bytes.
    const bytes: Serializer = {
      format: 'raw-bytes',
      serialize: (value) => Uint8Array.from(value as number[]),
      deserialize: (data) => [...data],
    };
    const binary = new RedisCache(redis, { namespace: 'binary', serializer: bytes });
    try {
      await binary.set('b', [0, 255, 128, 10]);
      expect(await binary.get('b')).toEqual([0, 255, 128, 10]);
      expect(await binary.getOrLoad('b', async () => [1])).toEqual([0, 255, 128, 10]);
    } finally {
      await binary.clear();
      binary.close();
    }
  });

  it('misses unknown keys and forgets deleted ones', async () => {
    expect(await cache.get('nothing')).toBeUndefined();
    await cache.set('gone', 1);
    await cache.del('gone');
    expect(await cache.get('gone')).toBeUndefined();
  });

  it('expires entries after their TTL', async () => {
    await cache.set('short', 'x', { ttlSeconds: 0.3 });
    expect(await cache.get('short')).toBe('x');
    await sleep(450);
    expect(await cache.get('short')).toBeUndefined();
  });

  it('calls the loader once for concurrent misses of one key', async () => {
    let calls = 0;
    const loader = async () => {
      calls += 1;
      await sleep(50);
      return { loaded: true };
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.getOrLoad('flight', loader)));
    expect(calls).toBe(1);
    expect(results.every((r) => r.loaded)).toBe(true);
    expect(await cache.getOrLoad('flight', loader)).toEqual({ loaded: true });
    expect(calls).toBe(1);
  });

  it('returns a loader result wrapped in Uncached to every waiting caller without caching it', async () => {
    let calls = 0;
    const loader = async () => {
      calls += 1;
      await sleep(20);
      return new Uncached({ expires: true });
    };
    expect(await Promise.all([cache.getOrLoad('uncached', loader), cache.getOrLoad('uncached', loader)])).toEqual([{ expires: true }, { expires: true }]);
    expect(calls).toBe(1);
    expect(await cache.get('uncached')).toBeUndefined();
    expect(await cache.getOrLoad('uncached', loader)).toEqual({ expires: true });
    expect(calls).toBe(2);
  });

  it('composes keys from parts holding any text', () => {
    expect(composeCacheKey('t', 'a:b', '{x}')).toBe('t:a%3Ab:%7Bx%7D');
    expect(composeCacheKey('a', 'b')).not.toBe(composeCacheKey('a:b'));
    const long = composeCacheKey('x'.repeat(2000));
    expect(long).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(composeCacheKey('x'.repeat(2000))).toBe(long);
  });

  it('hands a loader failure to every waiting caller, and loads again on the next call', async () => {
    let calls = 0;
    const failing = () => {
      calls += 1;
      throw new Error('database down');
    };
    const results = await Promise.allSettled([cache.getOrLoad('fails', failing as () => Promise<string>), cache.getOrLoad('fails', failing as () => Promise<string>)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(calls).toBe(1);
    expect(await cache.getOrLoad('fails', async () => 'recovered')).toBe('recovered');
    expect(await cache.get('fails')).toBe('recovered');
  });

  it('never lets a stale read-through fill overwrite a newer write', async () => {
    let release!: () => void;
    let loading = false;
    const gate = new Promise<void>((r) => (release = r));
    // A reader misses and starts loading the old row...
    const fill = cache.getOrLoad('race', async () => {
      loading = true;
      await gate;
      return 'old row';
    });
    await until(() => loading);
    // ...a writer commits the new row and writes it through...
    await cache.set('race', 'new row');
    // ...then the slow reader's fill arrives with data from before the write.
    const refusedBefore = redis.stats().staleFillsRejected;
    release();
    expect(await fill).toBe('old row');
    expect(await cache.get('race')).toBe('new row');
    expect(redis.stats().staleFillsRejected).toBe(refusedBefore + 1);
  });

  it('refuses a fill that raced a delete, too', async () => {
    await cache.set('raced-delete', 'v1');
    await cache.del('raced-delete');
    let release!: () => void;
    let loading = false;
    const gate = new Promise<void>((r) => (release = r));
    const fill = cache.getOrLoad('raced-delete', async () => {
      loading = true;
      await gate;
      return 'v1 read before the delete';
    });
    await until(() => loading);
    await cache.del('raced-delete');
    release();
    await fill;
    expect(await cache.get('raced-delete')).toBeUndefined();
  });

  it('counts hits and misses', async () => {
    const before = redis.stats();
    await cache.set('counted', 1);
    await cache.get('counted');
    await cache.get('not-there');
    const after = redis.stats();
    expect(after.hits - before.hits).toBe(1);
    expect(after.misses - before.misses).toBe(1);
    expect(after.breaker).toBe('closed');
  });

  it('empties only its own namespace', async () => {
    const other = new RedisCache(redis, { namespace: 'others' });
    await other.set('k', 'kept');
    await cache.set('k', 'cleared');
    await cache.clear();
    expect(await cache.get('k')).toBeUndefined();
    expect(await other.get('k')).toBe('kept');
    other.close();
  });

  it('keeps the entries of connections with different cache scopes apart, and clears only its own scope', async () => {
    // Two instances on one key prefix, in front of two generations of one database (reset in between).
    const keyPrefix = uniqueKeyPrefix('scoped');
    const before = createRedis({ url: testRedisUrl(), keyPrefix, cacheScope: 'epoch-1' });
    const after = createRedis({ url: testRedisUrl(), keyPrefix, cacheScope: 'epoch-2' });
    const unscoped = createRedis({ url: testRedisUrl(), keyPrefix });
    const caches = [before, after, unscoped].map((r) => new RedisCache(r, { namespace: 'rows' }));
    const [old, fresh, plain] = caches as [RedisCache, RedisCache, RedisCache];
    try {
      await Promise.all([before.ready(), after.ready(), unscoped.ready()]);
      expect([before.cacheScope, after.cacheScope, unscoped.cacheScope]).toEqual(['epoch-1', 'epoch-2', undefined]);
      await old.set('row', 'from the old database');
      expect(await fresh.get('row')).toBeUndefined();
      expect(await fresh.getOrLoad('row', async () => 'from the new database')).toBe('from the new database');
      expect(await old.get('row')).toBe('from the old database');
      await plain.set('row', 'unscoped');
      // The scope sits between `cache:` and the namespace; without one the layout is unchanged.
      const keys = (await scanKeys(unscoped, `${keyPrefix}*`)).sort();
      expect(keys).toEqual(
        [`${keyPrefix}cache:epoch-1:rows:{row}`, `${keyPrefix}cache:epoch-1:rows:{row}:v`, `${keyPrefix}cache:epoch-2:rows:{row}`, `${keyPrefix}cache:rows:{row}`, `${keyPrefix}cache:rows:{row}:v`].sort(),
      );
      await fresh.clear();
      expect(await fresh.get('row')).toBeUndefined();
      expect(await old.get('row')).toBe('from the old database');
      expect(await plain.get('row')).toBe('unscoped');
      await plain.clear();
      expect(await plain.get('row')).toBeUndefined();
      expect(await old.get('row')).toBe('from the old database');
    } finally {
      for (const c of caches) await c.clear();
      for (const c of caches) c.close();
      await Promise.all([before.close(), after.close(), unscoped.close()]);
    }
  });

  it('accepts only short, key-safe cache scopes', () => {
    for (const cacheScope of ['', 'a:b', '{tag}', 'ep*ch', 'a b', 'x'.repeat(65)]) {
      expect(() => createRedis({ url: testRedisUrl(), cacheScope })).toThrow(ValidationError);
    }
  });

  it('rejects bad keys and options with a ValidationError', async () => {
    await expect(cache.get('')).rejects.toBeInstanceOf(ValidationError);
    await expect(cache.set('k', 1, { ttlSeconds: -1 })).rejects.toBeInstanceOf(ValidationError);
    expect(() => new RedisCache(redis, { namespace: 'bad space' })).toThrow(ValidationError);
    expect(() => createRedis({ url: 'http://nope' })).toThrow(ValidationError);
  });
});
