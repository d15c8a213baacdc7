import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRedisServer, type DisposableRedisServer } from '../src/testing.js';
import { createRedis, RedisCache, RedisNotifier, RedisUnavailableError, RedisSessionStore, type CairnEvent, type RedisConnection } from '@cairn/redis';
import { startProxy, type CuttableProxy } from './proxy.js';

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

describe('when Redis goes away', () => {
  let server: DisposableRedisServer;
  let proxy: CuttableProxy;
  let redis: RedisConnection;
  let cache: RedisCache;

  beforeAll(async () => {
    server = await startRedisServer();
    proxy = await startProxy(server.port);
    redis = createRedis({ url: proxy.url, connectTimeoutMs: 300, commandTimeoutMs: 300, breaker: { failureThreshold: 2, resetTimeoutMs: 100 }, retry: { baseDelayMs: 20, maxDelayMs: 100 } });
    await redis.ready();
    cache = new RedisCache(redis, { namespace: 'outage' });
  });
  afterAll(async () => {
    cache.close();
    await redis.close();
    await proxy.close();
    await server.stop();
  });

  it('turns reads into misses and writes into no-ops, opens the breaker, and recovers without serving stale data', async () => {
    await cache.set('profile', 'v1');
    expect(await cache.get('profile')).toBe('v1');

    proxy.cut(); // a partition: Redis keeps 'v1'
    await until(() => redis.stats().breaker !== 'closed');
    const errorsBefore = redis.stats().errors;
    // The application writes v2 to PostgreSQL; its cache write cannot reach Redis.
    await expect(cache.set('profile', 'v2')).resolves.toBeUndefined();
    expect(await cache.get('profile')).toBeUndefined();
    let loads = 0;
    expect(await cache.getOrLoad('profile', async () => (loads += 1, 'v2 from postgres'))).toBe('v2 from postgres');
    expect(loads).toBe(1);
    expect(redis.stats().errors).toBeGreaterThan(errorsBefore);
    await expect(redis.run((c) => c.ping())).rejects.toBeInstanceOf(RedisUnavailableError);

    proxy.restore();
    await until(async () => redis.stats().breaker === 'closed' && !redis.stats().recovering);
    // 'v1' is still in Redis' memory; the recovery emptied the namespace before serving again.
    expect(await cache.get('profile')).toBeUndefined();
    await cache.set('profile', 'v3');
    expect(await cache.get('profile')).toBe('v3');
  });

  it('survives Redis being stopped and started again', async () => {
    await cache.set('k', 'before');
    await server.stop();
    await until(() => redis.stats().breaker !== 'closed');
    expect(await cache.get('k')).toBeUndefined();
    const sessions = new RedisSessionStore(redis);
    // Session storage is storage: it says Redis is down instead of pretending.
    await expect(sessions.set('s', { user: 'u' })).rejects.toBeInstanceOf(RedisUnavailableError);
    expect((await redis.healthCheck()).ok).toBe(false);

    await server.start();
    await until(async () => redis.stats().breaker === 'closed' && !redis.stats().recovering, 15_000);
    await cache.set('k', 'after');
    expect(await cache.get('k')).toBe('after');
    expect((await redis.healthCheck()).ok).toBe(true);
  });

  it('lets a notifier subscribe while Redis is down, and delivers once Redis is back', async () => {
    await server.stop();
    await until(() => redis.stats().breaker !== 'closed');
    const notifier = new RedisNotifier(redis);
    const received: CairnEvent[] = [];
    const unsubscribe = await notifier.forTenant('default').subscribe('back:*', (_c, e) => void received.push(e));
    await server.start();
    await until(() => redis.serving, 15_000);
    // At most once: what is published before the subscription is re-established is lost.
    const deadline = Date.now() + 15_000;
    while (received.length === 0) {
      if (Date.now() > deadline) throw new Error('nothing delivered after Redis came back');
      await notifier.publish('back:1', { type: 'session.updated', tenantId: 'default', sessionId: 's1' });
      await sleep(50);
    }
    expect(received[0]).toEqual({ type: 'session.updated', tenantId: 'default', sessionId: 's1' });
    await unsubscribe();
    await notifier.close();
  });
});
