// createCairn() with Redis: health, change notifications between two instances (over Redis and
// over PostgreSQL LISTEN/NOTIFY), and Redis going away and coming back.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createTestDatabase, freePort, type TestDatabase } from '@cairn/db/testing';
import { startRedisServer, testRedisUrl, uniqueKeyPrefix, type DisposableRedisServer } from '@cairn/redis/testing';
import { CairnStartError, createCairn, type Cairn, type CairnEvent } from '../src/index.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

/** Resolves with the first event on `pattern` that `match` accepts. */
async function nextEvent(cairn: Cairn, pattern: string, match: (event: CairnEvent) => boolean): Promise<{ promise: Promise<CairnEvent>; stop: () => Promise<void> }> {
  let resolve!: (event: CairnEvent) => void;
  const promise = new Promise<CairnEvent>((r) => (resolve = r));
  const stop = await cairn.notifier!.subscribe(pattern, (_channel, event) => {
    if (match(event)) resolve(event);
  });
  return { promise, stop };
}

const Counter = z.object({ n: z.number() });

describe.each([
  ['Redis pub/sub', 'redis'],
  ['PostgreSQL LISTEN/NOTIFY', 'postgres'],
] as const)('change notifications over %s', (_name, transport) => {
  let writer: Cairn;
  let reader: Cairn;
  const keyPrefix = uniqueKeyPrefix(`cairn-${transport}`);

  beforeAll(async () => {
    const options = { databaseUrl: database.url, redisUrl: testRedisUrl(), redis: { keyPrefix }, notifications: transport, db: { pool: { max: 2 } } } as const;
    writer = await createCairn(options);
    reader = await createCairn(options);
  });

  afterAll(async () => {
    await writer?.close();
    await reader?.close();
  });

  it('tells another instance about object writes', async () => {
    const id = `counter-${transport}`;
    const { promise, stop } = await nextEvent(reader, 'cairn:objects', (e) => e.type === 'object.updated' && e.id === id);
    try {
      await writer.objects.collection('Counter', Counter).save(id, { n: 1 });
      await expect(promise).resolves.toEqual({ type: 'object.updated', tenantId: 'default', objectType: 'Counter', id, version: 1 });
    } finally {
      await stop();
    }
  });

  it("feeds another instance's checkpointer.subscribe()", async () => {
    const threadId = `thread-${transport}`;
    let resolve!: (event: unknown) => void;
    const heard = new Promise((r) => (resolve = r));
    const unsubscribe = await reader.checkpointer.subscribe(threadId, resolve);
    try {
      const checkpointId = await writer.checkpointer.put(threadId, { step: 1 });
      await expect(heard).resolves.toEqual({ type: 'checkpoint.saved', tenantId: 'default', threadId, namespace: '', checkpointId });
      // The reader sees the new latest checkpoint (its Redis cache was invalidated).
      expect((await reader.checkpointer.get(threadId))?.checkpointId).toBe(checkpointId);
    } finally {
      await unsubscribe();
    }
  });

  it('reports the transport in its health', async () => {
    const health = await writer.health();
    expect(health.notifications.transport).toBe(transport);
    expect(health.redis).toMatchObject({ configured: true, ok: true, state: 'closed' });
  });
});

describe('Redis going away', () => {
  let redis: DisposableRedisServer;
  let cairn: Cairn;

  beforeAll(async () => {
    redis = await startRedisServer();
    cairn = await createCairn({
      databaseUrl: database.url,
      redisUrl: redis.url,
      redis: { keyPrefix: uniqueKeyPrefix('cairn-down'), connection: { connectTimeoutMs: 500, commandTimeoutMs: 500 } },
      // Notifications over PostgreSQL, so that only the caches depend on Redis here.
      notifications: 'postgres',
      db: { pool: { max: 2 } },
    });
  });

  afterAll(async () => {
    await cairn?.close();
    await redis?.stop();
  });

  it('degrades to PostgreSQL while Redis is down, and reports it', async () => {
    const counters = cairn.objects.collection('Counter', Counter);
    await counters.save('c', { n: 1 });
    expect((await counters.load('c'))?.data).toEqual({ n: 1 });

    await redis.stop();
    const health = await cairn.health();
    expect(health).toMatchObject({ ok: true, status: 'degraded', redis: { configured: true, ok: false } });
    // Writes and reads keep working against PostgreSQL.
    await counters.update('c', (c) => ({ n: c.n + 1 }));
    expect((await counters.load('c'))?.data).toEqual({ n: 2 });
    const session = await cairn.sessions.create({ userId: 'u' });
    expect((await cairn.sessions.get(session.id))?.userId).toBe('u');
    // The outage shows in the shared Prometheus registry.
    const during = await cairn.metricsRegistry.metrics();
    expect(metricValue(during, 'cairn_redis_errors_total')).toBeGreaterThan(0);
    expect(metricValue(during, 'cairn_redis_breaker_state{state="closed"}')).toBe(0);

    await redis.start();
    // The connection reconnects by itself; once it answers, health is back to ok.
    let status = (await cairn.health()).status;
    while (status !== 'ok') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await cairn.health()).status;
    }
    expect((await counters.load('c'))?.data).toEqual({ n: 2 });
    expect(metricValue(await cairn.metricsRegistry.metrics(), 'cairn_redis_breaker_state{state="closed"}')).toBe(1);
  });
});

/** The value of one sample (`name` or `name{labels}`) in Prometheus text format. */
function metricValue(exposition: string, sample: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${sample} `));
  if (line === undefined) throw new Error(`no sample ${sample} in:\n${exposition}`);
  return Number(line.slice(sample.length + 1));
}

describe('Redis unreachable at start', () => {
  it('starts degraded unless Redis is required', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const cairn = await createCairn({ databaseUrl: database.url, redisUrl: url, redis: { readyTimeoutMs: 300 }, notifications: 'postgres', db: { pool: { max: 1 } } });
    try {
      expect(await cairn.health()).toMatchObject({ ok: true, status: 'degraded', redis: { configured: true, ok: false } });
      await cairn.checkpointer.put('t', { ok: true });
    } finally {
      await cairn.close();
    }
    const required = createCairn({ databaseUrl: database.url, redisUrl: url, redis: { required: true, readyTimeoutMs: 300 }, db: { pool: { max: 1 } } });
    await expect(required).rejects.toBeInstanceOf(CairnStartError);
    await expect(required).rejects.toMatchObject({ component: 'Redis connection' });
  });
});
