// Cache writes that never reached Redis: whatever the outage looked like, no instance may serve a
// value older than the database once Redis is reachable again.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedisServer, uniqueKeyPrefix, type DisposableRedisServer } from '../src/testing.js';
import { createRedis, RedisCache, type RedisConnection, type RedisOptions, type RedisRecovery } from '@cairn/redis';
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
    // Another instance writes meanwhile. a lost no write, so its recovery leaves that entry alone...
    await cacheB.set('row', 'row after the write');
    proxy.restore();
    await until(servingAgain(a));
    const refusedBefore = a.stats().staleFillsRejected;
    slow.release();
    expect(await fill).toBe('row before the write');
    // ...and a's fill, begun before the outage, does not overwrite it.
    expect(await cacheB.get('row')).toBe('row after the write');
    expect(await cacheA.get('row')).toBe('row after the write');
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

  it('ends other instances\' stale reads when its recovery completes', async () => {
    const { a, b, cacheA, cacheB } = instances();
    await Promise.all([a.ready(), b.ready()]);
    // "PostgreSQL": the version of each row; both instances cache rows as { v }.
    const db = new Map(Array.from({ length: 10 }, (_, i) => [`row${i}`, 0]));
    const load = (key: string) => async () => ({ v: db.get(key)! });
    for (const key of db.keys()) await cacheA.set(key, { v: 0 });
    let recovered = false;
    const recovery = new Promise<RedisRecovery>((resolve) =>
      a.onRecovered((r) => {
        recovered = true; // synchronously, so every read that starts afterwards knows
        resolve(r);
      }),
    );
    const reads = { duringCut: 0, staleDuringCut: 0, afterRecovery: 0, staleAfterRecovery: [] as string[] };
    let phase = 'cut' as 'cut' | 'healed' | 'done';
    /** Instance b reads every row without pause; a read is stale if older than the row when it began. */
    const reader = (async () => {
      for (let i = 0; phase !== 'done'; i++) {
        const key = `row${i % db.size}`;
        const expected = db.get(key)!;
        const [startedInCut, startedAfterRecovery] = [phase === 'cut', recovered];
        const { v } = await cacheB.getOrLoad(key, load(key));
        if (startedInCut) {
          reads.duringCut += 1;
          if (v < expected) reads.staleDuringCut += 1;
        }
        if (startedAfterRecovery) {
          reads.afterRecovery += 1;
          if (v < expected) reads.staleAfterRecovery.push(`${key}: v${v} < v${expected}`);
        }
      }
    })();

    proxy.cut();
    await until(() => a.stats().breaker !== 'closed');
    // Instance a commits to PostgreSQL and writes through; none of it reaches Redis.
    for (const [i, key] of [...db.keys()].entries()) {
      db.set(key, db.get(key)! + 1);
      if (i % 2 === 0) await cacheA.set(key, { v: db.get(key)! });
      else await cacheA.del(key);
    }
    await until(() => reads.staleDuringCut >= db.size); // b serves the entries a failed to invalidate
    const recoveriesBefore = a.stats().recoveries;
    proxy.restore();
    phase = 'healed';
    const { unavailableMs, recoveryMs } = await recovery;
    // Two more passes over every row once a has recovered.
    await until(() => reads.afterRecovery >= 2 * db.size);
    phase = 'done';
    await reader;

    expect(reads.staleDuringCut).toBeGreaterThan(0);
    expect(reads.staleAfterRecovery).toEqual([]);
    for (const key of db.keys()) expect(await cacheB.get(key)).not.toEqual({ v: 0 });
    expect(a.stats().recoveries).toBe(recoveriesBefore + 1);
    expect(unavailableMs).toBeGreaterThanOrEqual(recoveryMs);
  });

  it('recovers while idle: the breaker is probed without any call, and the lost writes are replayed', async () => {
    const { a, b, cacheA, cacheB } = instances({ breaker: { failureThreshold: 100, resetTimeoutMs: 50 } });
    await Promise.all([a.ready(), b.ready()]);
    await cacheA.set('row', 'v1');
    expect(await cacheB.get('row')).toBe('v1');
    const recovered = new Promise<void>((resolve) => a.onRecovered(() => resolve()));
    proxy.stall(); // the connection stays open: no reconnect, no 'ready' to trigger a probe
    await cacheA.set('row', 'v2'); // times out: the breaker opens, the write is on record as lost
    expect(a.stats().breaker).not.toBe('closed');
    proxy.resume();
    await recovered; // nothing calls a meanwhile
    expect(await cacheB.get('row')).toBeUndefined();
  });

  it('flushes its scope of the namespace when more writes were lost than it can remember, and keeps the versions', async () => {
    const { a, b, cacheA } = instances({ cacheScope: 'epoch-a' });
    const other = createRedis({ url: server.url, keyPrefix, cacheScope: 'epoch-b' });
    const cacheOther = new RedisCache(other, { namespace: cacheA.namespace });
    opened.unshift(cacheOther, other);
    await Promise.all([a.ready(), b.ready(), other.ready()]);
    await cacheA.set('kept-version', 'v1');
    await cacheOther.set('kept-version', 'other scope');
    proxy.cut();
    await until(() => a.stats().breaker !== 'closed');
    // More lost writes than the cache remembers (10 000): refused at once, no Redis round trips.
    await Promise.all(Array.from({ length: 10_001 }, (_, i) => cacheA.set(`row${i}`, i)));
    const recovered = new Promise<void>((resolve) => a.onRecovered(() => resolve()));
    proxy.restore();
    await recovered;
    expect(await cacheA.get('kept-version')).toBeUndefined();
    expect(await cacheOther.get('kept-version')).toBe('other scope');
    // The flush removed values only: the version key still refuses fills begun before the outage.
    expect(await b.client.exists(`${keyPrefix}cache:epoch-a:${cacheA.namespace}:{kept-version}:v`)).toBe(1);
    expect(await b.client.exists(`${keyPrefix}cache:epoch-a:${cacheA.namespace}:{kept-version}`)).toBe(0);
  });

  it('holds a delete issued while the first connection is being made until it reaches Redis', async () => {
    const { b, cacheB } = instances();
    await b.ready();
    await cacheB.set('k', 'v1');
    // A process that writes right after it starts: its invalidation must not wait for a recovery.
    const starting = createRedis({ url: server.url, keyPrefix });
    const startingCache = new RedisCache(starting, { namespace: cacheB.namespace });
    opened.unshift(startingCache, starting);
    expect(starting.serving).toBe(false);
    await startingCache.del('k');
    expect(await cacheB.get('k')).toBeUndefined();
    expect(starting.stats().errors).toBe(0);
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
