// Cache writes that never reached Redis: whatever the outage looked like, no instance may serve a
// value older than the database once Redis is reachable again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedisServer, uniqueKeyPrefix, type DisposableRedisServer } from '@cairn/db/testing';
import { createRedis, RedisCache, type RedisConnection, type RedisOptions } from '@cairn/redis';
import { startProxy, type CuttableProxy } from './proxy.js';

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

/** A loader that reports when it has started and returns only when released. */
function gatedLoader<T>(value: T) {
  let release!: () => void;
  let started = false;
  const gate = new Promise<void>((r) => (release = r));
  return {
    loader: async () => {
      started = true;
      await gate;
      return value;
    },
    started: () => started,
    release: () => release(),
  };
}

const servingAgain = (redis: RedisConnection) => () => redis.stats().breaker === 'closed' && !redis.stats().recovering && redis.serving;

describe('cache writes that Redis missed', () => {
  let server: DisposableRedisServer;
  let proxy: CuttableProxy;
  const keyPrefix = uniqueKeyPrefix('lost-writes');
  const opened: { close(): unknown }[] = [];
  let namespace = 0;

  /** Instance "a" reaches Redis through the proxy (it can be partitioned); instance "b" directly. */
  function instances(overrides: RedisOptions = {}) {
    const a = createRedis({ url: proxy.url, keyPrefix, connectTimeoutMs: 300, commandTimeoutMs: 300, breaker: { failureThreshold: 2, resetTimeoutMs: 100 }, retry: { baseDelayMs: 20, maxDelayMs: 100 }, ...overrides });
    const b = createRedis({ url: server.url, keyPrefix });
    const ns = `rows${(namespace += 1)}`;
    const cacheA = new RedisCache(a, { namespace: ns });
    const cacheB = new RedisCache(b, { namespace: ns });
    opened.push(cacheA, cacheB, b, a);
    return { a, b, cacheA, cacheB };
  }

  beforeAll(async () => {
    server = await startRedisServer();
    proxy = await startProxy(server.port);
  });
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.close();
    proxy.resume();
    proxy.restore();
  });
  afterAll(async () => {
    await proxy.close();
    await server.stop();
  });

  it('refuses a fill another instance began before the outage, once the partitioned instance is back', async () => {
    const { a, b, cacheA, cacheB } = instances();
    await Promise.all([a.ready(), b.ready()]);
    // Instance b misses and starts loading the row as it is before the write...
    const slow = gatedLoader('row before the write');
    const fill = cacheB.getOrLoad('row', slow.loader);
    await until(slow.started);
    // ...instance a, cut off from Redis, commits the write to PostgreSQL; its cache write is lost...
    proxy.cut();
    await until(() => a.stats().breaker !== 'closed');
    await cacheA.set('row', 'row after the write');
    proxy.restore();
    await until(servingAgain(a));
    // ...and b's fill arrives after a is back: it must not land.
    slow.release();
    expect(await fill).toBe('row before the write');
    expect(await cacheB.get('row')).toBeUndefined();
    expect(await cacheA.get('row')).toBeUndefined();
  });

  it('drops its own fill that began before an outage', async () => {
    const { a, b, cacheA, cacheB } = instances();
    await Promise.all([a.ready(), b.ready()]);
    const slow = gatedLoader('row before the write');
    const fill = cacheA.getOrLoad('row', slow.loader);
    await until(slow.started);
    proxy.cut();
    await until(() => a.stats().breaker !== 'closed');
    // Another instance writes meanwhile; a's recovery flush then removes that write's version too.
    await cacheB.set('row', 'row after the write');
    proxy.restore();
    await until(servingAgain(a));
    const refusedBefore = a.stats().staleFillsRejected;
    slow.release();
    expect(await fill).toBe('row before the write');
    expect(await cacheB.get('row')).toBeUndefined();
    expect(a.stats().staleFillsRejected).toBe(refusedBefore + 1);
  });

  it('opens the breaker on a single timed-out write and empties the cache before serving again', async () => {
    const { a, cacheA } = instances({ breaker: { failureThreshold: 100, resetTimeoutMs: 100 } });
    await a.ready();
    await cacheA.set('slow', 'v1');
    proxy.stall();
    await cacheA.set('slow', 'v2'); // times out; Redis may or may not apply it
    expect(a.stats().breaker).not.toBe('closed');
    expect(await cacheA.get('slow')).toBeUndefined();
    proxy.resume();
    await until(async () => {
      await cacheA.get('probe'); // a call in half-open sends the trial PING
      return servingAgain(a)();
    });
    expect(await cacheA.get('slow')).toBeUndefined();
  });

  it('empties the cache before serving when writes were lost before the first connection', async () => {
    const { b, cacheB } = instances();
    await b.ready();
    await cacheB.set('k', 'v1');
    proxy.cut();
    const { a: late, cacheA: lateCache } = (() => {
      // Same namespace as b: the late instance starts while Redis is unreachable.
      const late = createRedis({ url: proxy.url, keyPrefix, connectTimeoutMs: 300, retry: { baseDelayMs: 20, maxDelayMs: 100 } });
      const lateCache = new RedisCache(late, { namespace: cacheB.namespace });
      opened.unshift(lateCache, late);
      return { a: late, cacheA: lateCache };
    })();
    await lateCache.set('k', 'v2'); // PostgreSQL has v2; Redis still has v1
    expect(await lateCache.get('k')).toBeUndefined();
    proxy.restore();
    await late.ready();
    await until(servingAgain(late));
    expect(await lateCache.get('k')).toBeUndefined();
    expect(await cacheB.get('k')).toBeUndefined();
  });
});
