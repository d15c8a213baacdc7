// The Redis layer under objects and sessions, on a real Redis and a real PostgreSQL: read-through
// caching, invalidation on every write path, TTL bounded by session expiry, change events, and
// reads falling through to PostgreSQL while Redis is down.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { scanKeys, startRedisServer, testRedisUrl, uniqueKeyPrefix, type DisposableRedisServer } from '@cairn/redis/testing';
import { createRedis, RedisNotifier, type CairnEvent, type RedisConnection } from '@cairn/redis';
import { createObjectStore, OBJECT_EVENTS_CHANNEL, SESSION_EVENTS_CHANNEL, SessionManager, type ObjectStore } from '../src/index.js';

const Note = z.object({ text: z.string() });

let db: CairnDb;
let redis: RedisConnection;

beforeAll(async () => {
  db = await createTestDb();
  redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('objects') });
  await redis.ready();
});

afterAll(async () => {
  await redis.close();
  await db.close();
});

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('object cache', () => {
  let store: ObjectStore;

  beforeAll(() => {
    store = createObjectStore(db, { tenantId: 'cached', redis });
  });

  afterAll(async () => {
    await store.close();
  });

  it('serves repeated loads from Redis and never a version older than the last write', async () => {
    const notes = store.collection('Note', Note);
    await notes.save('n1', { text: 'v1' });
    expect((await notes.get('n1')).data.text).toBe('v1'); // miss, filled
    const hits = redis.stats().hits;
    expect((await notes.get('n1')).data.text).toBe('v1');
    expect(redis.stats().hits).toBe(hits + 1);

    await notes.save('n1', { text: 'v2' });
    expect(await notes.get('n1')).toMatchObject({ version: 2, data: { text: 'v2' } });
    await notes.update('n1', () => ({ text: 'v3' }));
    expect((await notes.get('n1')).data.text).toBe('v3');
    await notes.patch('n1', [{ op: 'replace', path: '/text', value: 'v4' }]);
    expect((await notes.get('n1')).data.text).toBe('v4');
    await notes.restore('n1', 1);
    expect((await notes.get('n1')).data.text).toBe('v1');
    await store.transaction(async (tx) => {
      await tx.collection(notes).save('n1', { text: 'v6 in a transaction' });
    });
    expect((await notes.get('n1')).data.text).toBe('v6 in a transaction');
    await notes.delete('n1');
    expect(await notes.load('n1')).toBeNull();
  });

  it('sees writes made through another connection (another process) at once', async () => {
    const otherRedis = createRedis({ url: testRedisUrl(), keyPrefix: redis.keyPrefix });
    const other = createObjectStore(db, { tenantId: 'cached', redis: otherRedis });
    try {
      const mine = store.collection('Note', Note);
      const theirs = other.collection('Note', Note);
      await mine.save('shared', { text: 'mine' });
      expect((await mine.get('shared')).data.text).toBe('mine');
      await theirs.save('shared', { text: 'theirs' });
      expect((await mine.get('shared')).data.text).toBe('theirs');
    } finally {
      await other.close();
      await otherRedis.close();
    }
  });

  it('invalidates after write-behind writes are persisted', async () => {
    const behind = createObjectStore(db, { tenantId: 'cached', redis, persistence: { mode: 'write-behind', onError: () => undefined } });
    const notes = behind.collection('Note', Note);
    const direct = store.collection('Note', Note);
    await direct.save('wb', { text: 'before' });
    expect((await direct.get('wb')).data.text).toBe('before');
    const queued = await notes.save('wb', { text: 'after' });
    await queued.persisted();
    expect((await direct.get('wb')).data.text).toBe('after');
    await behind.close();
  });

  it('publishes object events after each committed write', async () => {
    const notifier = new RedisNotifier(redis);
    const events: CairnEvent[] = [];
    const unsubscribe = await notifier.forTenant('events').subscribe(OBJECT_EVENTS_CHANNEL, (_channel, event) => {
      events.push(event);
    });
    const announcing = createObjectStore(db, { tenantId: 'events', notifier });
    try {
      const notes = announcing.collection('Note', Note);
      await notes.save('e1', { text: 'a' });
      await notes.save('e1', { text: 'b' });
      await notes.delete('e1');
      await until(() => events.length >= 3);
      expect(events).toEqual([
        { type: 'object.updated', tenantId: 'events', objectType: 'Note', id: 'e1', version: 1 },
        { type: 'object.updated', tenantId: 'events', objectType: 'Note', id: 'e1', version: 2 },
        { type: 'object.deleted', tenantId: 'events', objectType: 'Note', id: 'e1' },
      ]);
    } finally {
      await unsubscribe();
      await announcing.close();
      await notifier.close();
    }
  });
});

describe('session cache', () => {
  it('reads through Redis, invalidates on every write, and caches no longer than the session lives', async () => {
    const sessions = new SessionManager(db, { tenantId: 'sessions-cached', redis, cacheTtlSeconds: 600 });
    try {
      const short = await sessions.create({ userId: 'u', ttlSeconds: 30, metadata: { n: 1 } });
      const forever = await sessions.create({ userId: 'u' });
      expect(await sessions.get(short.id)).toEqual(short);
      const hits = redis.stats().hits;
      expect(await sessions.get(short.id)).toEqual(short);
      expect(redis.stats().hits).toBe(hits + 1);

      // The shortest TTL among the keys Redis holds for this session (whatever the cache's key layout).
      const ttl = async (id: string) => {
        const keys = await scanKeys(redis, `${redis.keyPrefix}*${id}*`);
        expect(keys.length).toBeGreaterThan(0);
        return Math.min(...(await Promise.all(keys.map((k) => redis.run((c) => c.pttl(k))))));
      };
      const shortTtl = await ttl(short.id);
      expect(shortTtl).toBeGreaterThan(0);
      expect(shortTtl).toBeLessThanOrEqual(30_000);
      await sessions.get(forever.id);
      expect(await ttl(forever.id)).toBeGreaterThan(30_000);

      await sessions.update(short.id, { mergeMetadata: { n: 2 } });
      expect((await sessions.get(short.id))?.metadata).toEqual({ n: 2 });
      await sessions.touch(short.id);
      expect((await sessions.get(short.id))?.lastActivityAt.getTime()).toBeGreaterThanOrEqual(short.lastActivityAt.getTime());
      await sessions.update(short.id, { expiresAt: new Date(Date.now() - 1) });
      expect(await sessions.get(short.id)).toBeNull();
      expect(await sessions.purgeExpired()).toBe(1);
      await sessions.delete(forever.id);
      expect(await sessions.get(forever.id)).toBeNull();
    } finally {
      await sessions.close();
    }
  });

  it('publishes session events', async () => {
    const notifier = new RedisNotifier(redis);
    const events: CairnEvent[] = [];
    const unsubscribe = await notifier.forTenant('sessions-events').subscribe(SESSION_EVENTS_CHANNEL, (_channel, event) => {
      events.push(event);
    });
    const sessions = new SessionManager(db, { tenantId: 'sessions-events', notifier });
    try {
      const s = await sessions.create({ userId: 'u' });
      await sessions.touch(s.id);
      await sessions.delete(s.id);
      await until(() => events.length >= 3);
      expect(events.map((e) => e.type)).toEqual(['session.updated', 'session.updated', 'session.deleted']);
    } finally {
      await unsubscribe();
      await notifier.close();
    }
  });
});

describe('when Redis is down', () => {
  let server: DisposableRedisServer;
  let flaky: RedisConnection;

  beforeAll(async () => {
    server = await startRedisServer();
    flaky = createRedis({
      url: server.url,
      keyPrefix: uniqueKeyPrefix('objects-down'),
      connectTimeoutMs: 300,
      commandTimeoutMs: 300,
      breaker: { failureThreshold: 1, resetTimeoutMs: 100 },
      retry: { baseDelayMs: 20, maxDelayMs: 100 },
    });
    await flaky.ready();
  });

  afterAll(async () => {
    await flaky.close();
    await server.stop();
  });

  it('falls through to PostgreSQL for objects and sessions, and serves fresh data when it is back', async () => {
    const store = createObjectStore(db, { tenantId: 'down', redis: flaky });
    const sessions = new SessionManager(db, { tenantId: 'down', redis: flaky });
    try {
      const notes = store.collection('Note', Note);
      await notes.save('n', { text: 'cached' });
      await notes.get('n');
      const session = await sessions.create({ userId: 'u', metadata: { step: 1 } });
      await sessions.get(session.id);

      await server.stop();
      await until(() => flaky.stats().breaker !== 'closed');
      await notes.save('n', { text: 'written while Redis was down' });
      expect((await notes.get('n')).data.text).toBe('written while Redis was down');
      await sessions.update(session.id, { metadata: { step: 2 } });
      expect((await sessions.get(session.id))?.metadata).toEqual({ step: 2 });
      expect(await sessions.get('absent')).toBeNull();

      await server.start();
      await until(() => flaky.stats().breaker === 'closed' && !flaky.stats().recovering);
      expect((await notes.get('n')).data.text).toBe('written while Redis was down');
      expect((await sessions.get(session.id))?.metadata).toEqual({ step: 2 });
    } finally {
      await sessions.close();
      await store.close();
    }
  });
});
