import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDb } from '@cairn/db/testing';
import { startRedisServer, uniqueKeyPrefix, type DisposableRedisServer } from '@cairn/redis/testing';
import type { CairnDb } from '@cairn/db';
import { PostgresNotifier, RedisNotifier, createRedis, type ChangeNotifier, type RedisConnection } from '@cairn/redis';
import { PostgresCheckpointer, type CheckpointEvent } from '../src/index.js';

let db: CairnDb;
let server: DisposableRedisServer;
let redisA: RedisConnection;
let redisB: RedisConnection;
let a: PostgresCheckpointer;
let b: PostgresCheckpointer;

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function cacheCount(cp: PostgresCheckpointer, result: 'hit' | 'miss'): Promise<number> {
  const metric = await cp.metricsRegistry.getSingleMetric('cairn_checkpointer_cache_requests_total')?.get();
  return metric?.values.find((v) => v.labels.result === result)?.value ?? 0;
}

beforeAll(async () => {
  db = await createTestDb();
  server = await startRedisServer();
  const keyPrefix = uniqueKeyPrefix('checkpointer');
  // Two app instances: one database, one Redis, a connection each.
  redisA = createRedis({ url: server.url, keyPrefix, breaker: { failureThreshold: 1, resetTimeoutMs: 100 } });
  redisB = createRedis({ url: server.url, keyPrefix, breaker: { failureThreshold: 1, resetTimeoutMs: 100 } });
  await until(async () => (await redisA.healthCheck()).ok && (await redisB.healthCheck()).ok, 'Redis connections');
  a = new PostgresCheckpointer(db, { redis: { connection: redisA } });
  b = new PostgresCheckpointer(db, { redis: { connection: redisB } });
});
afterAll(async () => {
  await a.close();
  await b.close();
  await redisA.close();
  await redisB.close();
  await (server as unknown as AsyncDisposable)[Symbol.asyncDispose]();
  await db.close();
});

describe('PostgresCheckpointer with Redis', () => {
  it('serves the latest checkpoint from the cache and never an outdated one', async () => {
    const first = await a.put('hot', 'v1');
    expect((await b.get('hot'))?.state).toBe('v1');
    const hits = await cacheCount(b, 'hit');
    expect((await b.get('hot'))?.checkpointId).toBe(first);
    expect(await cacheCount(b, 'hit')).toBe(hits + 1);

    const second = await a.put('hot', 'v2');
    expect((await b.get('hot'))?.state).toBe('v2');
    await a.putWrites('hot', second, 'task', [{ channel: 'c', value: 42 }]);
    expect((await b.get('hot'))?.pendingWrites.map((w) => w.value)).toEqual([42]);
    await a.delete('hot', second);
    expect((await b.get('hot'))?.checkpointId).toBe(first);
    await a.deleteThread('hot');
    expect(await b.get('hot')).toBeUndefined();
    expect((await a.healthCheck()).redis).toEqual({ ok: true });
  });

  it('tells subscribers of other instances about changes, once', async () => {
    const seenByB: CheckpointEvent[] = [];
    const seenByA: CheckpointEvent[] = [];
    const offB = await b.subscribe('feed', (e) => seenByB.push(e));
    const offA = await a.subscribe('feed', (e) => seenByA.push(e));
    const id = await a.put('feed', 1);
    await until(() => seenByB.length === 1, 'the event on instance B');
    expect(seenByB).toEqual([{ type: 'checkpoint.saved', tenantId: 'default', threadId: 'feed', namespace: '', checkpointId: id }]);
    await b.deleteThread('feed');
    await until(() => seenByA.length === 2, 'the delete on instance A');
    expect(seenByA.map((e) => e.type)).toEqual(['checkpoint.saved', 'checkpoint.deleted']);
    // Each instance hears its own change once (not again as an echo from Redis).
    await a.put('feed', 2);
    await until(() => seenByB.length === 3, 'the second put on B');
    expect(seenByA).toHaveLength(3);
    await offA();
    await offB();
  });

  it('keeps reading and writing through PostgreSQL while Redis is down, and serves no stale data after', async () => {
    await a.put('outage', 'before');
    expect((await b.get('outage'))?.state).toBe('before');
    expect((await b.get('outage'))?.state).toBe('before');

    await server.stop();
    await a.put('outage', 'during');
    expect((await b.get('outage'))?.state).toBe('during');
    expect((await a.get('outage'))?.state).toBe('during');
    const events: CheckpointEvent[] = [];
    const off = await b.subscribe('outage', (e) => events.push(e));
    await b.put('outage', 'local');
    expect(events.map((e) => e.type)).toEqual(['checkpoint.saved']);
    const health = await b.healthCheck();
    expect(health.ok).toBe(true);
    expect(health.redis?.ok).toBe(false);

    await server.start();
    await until(async () => (await redisA.healthCheck()).ok && (await redisB.healthCheck()).ok, 'Redis to come back');
    expect((await b.get('outage'))?.state).toBe('local');
    await a.put('outage', 'after');
    expect((await b.get('outage'))?.state).toBe('after');
    expect((await b.get('outage'))?.state).toBe('after');
    await off();
  });
});

describe('PostgresCheckpointer with a LISTEN/NOTIFY notifier (no Redis)', () => {
  it('tells subscribers of another instance about changes', async () => {
    const notifierA = new PostgresNotifier(db);
    const notifierB = new PostgresNotifier(db);
    const x = new PostgresCheckpointer(db, { tenantId: 'pg-notify', notifier: notifierA });
    const y = new PostgresCheckpointer(db, { tenantId: 'pg-notify', notifier: notifierB });
    const seen: CheckpointEvent[] = [];
    const off = await y.subscribe('pg-feed', (e) => seen.push(e));
    await x.subscribe('pg-feed', () => undefined);
    const id = await x.put('pg-feed', 1);
    await until(() => seen.length === 1, 'the NOTIFY on the other instance');
    expect(seen[0]).toEqual({ type: 'checkpoint.saved', tenantId: 'pg-notify', threadId: 'pg-feed', namespace: '', checkpointId: id });
    await off();
    await x.close();
    await y.close();
    await notifierA.close();
    await notifierB.close();
  });
});

describe('tenant scope of the change feed', () => {
  const feeds: { name: string; open: () => Promise<{ notifiers: [ChangeNotifier, ChangeNotifier]; close: () => Promise<void> }> }[] = [
    {
      name: 'Redis',
      open: async () => {
        const one = new RedisNotifier(redisA);
        const two = new RedisNotifier(redisB);
        return { notifiers: [one, two], close: async () => void (await Promise.all([one.close(), two.close()])) };
      },
    },
    {
      name: 'LISTEN/NOTIFY',
      open: async () => {
        const one = new PostgresNotifier(db);
        const two = new PostgresNotifier(db);
        return { notifiers: [one, two], close: async () => void (await Promise.all([one.close(), two.close()])) };
      },
    },
  ];

  it.each(feeds)('a subscriber of tenant B never hears tenant A on the same thread id ($name)', async ({ open }) => {
    const { notifiers, close } = await open();
    const thread = `shared-${Math.random().toString(36).slice(2)}`;
    const tenantA = new PostgresCheckpointer(db, { tenantId: 'feed-a', notifier: notifiers[0] });
    const tenantB = new PostgresCheckpointer(db, { tenantId: 'feed-b', notifier: notifiers[1] });
    const otherB = new PostgresCheckpointer(db, { tenantId: 'feed-b', notifier: notifiers[0] });
    try {
      const seen: CheckpointEvent[] = [];
      const off = await tenantB.subscribe(thread, (e) => seen.push(e));
      await tenantA.subscribe(thread, () => undefined);
      await tenantA.put(thread, 'a1');
      await tenantA.deleteThread(thread);
      await tenantA.put(thread, 'a2');
      // A change of tenant B's own, made through the same notifier connection as tenant A's, arrives:
      // the feed works, and everything of A's published before it would have arrived first.
      const own = await otherB.put(thread, 'b1');
      await until(() => seen.length > 0, "tenant B's own event");
      expect(seen).toEqual([{ type: 'checkpoint.saved', tenantId: 'feed-b', threadId: thread, namespace: '', checkpointId: own }]);
      await off();
    } finally {
      await Promise.all([tenantA.close(), tenantB.close(), otherB.close()]);
      await close();
    }
  });
});
