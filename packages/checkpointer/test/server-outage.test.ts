// A private PostgreSQL stopped and started again under a checkpointer with a Redis cache, and the
// private Redis stopped: typed errors while PostgreSQL is down, answers from PostgreSQL while Redis
// is down, everything back without a new checkpointer, and no uncaught exception at any point.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, type CairnDb } from '@cairn/db';
import { startPostgresServer, type DisposablePostgresServer } from '@cairn/db/testing';
import { startRedisServer, uniqueKeyPrefix, type DisposableRedisServer } from '@cairn/redis/testing';
import { createRedis, type RedisConnection } from '@cairn/redis';
import { PostgresCheckpointer, StorageUnavailableError } from '../src/index.js';

let postgres: DisposablePostgresServer;
let redisServer: DisposableRedisServer;
let db: CairnDb;
let redis: RedisConnection;
const uncaught: unknown[] = [];
const record = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  process.on('uncaughtException', record);
  [postgres, redisServer] = await Promise.all([startPostgresServer(), startRedisServer()]);
  db = await createDb({ url: postgres.url, pool: { max: 3, connectionTimeoutMs: 1000 }, retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 20 }, onConnectionError: () => undefined });
  redis = createRedis({ url: redisServer.url, keyPrefix: uniqueKeyPrefix('outage'), connectTimeoutMs: 300, commandTimeoutMs: 300 });
  await redis.ready(5000);
}, 60_000);

afterAll(async () => {
  process.off('uncaughtException', record);
  await redis?.close();
  await db?.close();
  await Promise.all([postgres?.destroy(), redisServer?.stop()]);
});

describe('servers going away and coming back', () => {
  it('raises StorageUnavailableError while PostgreSQL is stopped and recovers after it starts', async () => {
    const cp = new PostgresCheckpointer(db, { retry: { maxAttempts: 2, initialDelayMs: 5, maxDelayMs: 20 }, redis: { connection: redis, publish: false } });
    try {
      const first = await cp.put('t', { n: 1 });
      await postgres.stop('immediate');
      const refused = await cp.put('t', { n: 2 }, { parentId: first }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StorageUnavailableError);
      expect((refused as StorageUnavailableError).attempts).toBe(2);
      await expect(cp.list('t')).rejects.toBeInstanceOf(StorageUnavailableError);
      await postgres.start();
      const second = await cp.put('t', { n: 2 }, { parentId: first });
      expect((await cp.get('t'))?.checkpointId).toBe(second);
      // The idle pooled connections the stop cut were counted, not thrown.
      expect(db.poolStats().droppedConnections).toBeGreaterThanOrEqual(1);
      expect(uncaught).toEqual([]);
    } finally {
      await cp.close();
    }
  });

  it('answers from PostgreSQL while Redis is stopped, and never serves a value written during the outage as stale', async () => {
    const cp = new PostgresCheckpointer(db, { redis: { connection: redis, publish: false } });
    try {
      const first = await cp.put('r', { n: 1 });
      expect((await cp.get('r'))?.state).toEqual({ n: 1 });
      expect((await cp.get('r'))?.state).toEqual({ n: 1 });
      await redisServer.stop();
      const second = await cp.put('r', { n: 2 }, { parentId: first });
      expect((await cp.get('r'))?.checkpointId).toBe(second);
      await redisServer.start();
      await redis.ready(5000);
      // Until the connection has recovered (lost invalidations replayed) the cache is not served from.
      for (let i = 0; i < 20; i += 1) expect((await cp.get('r'))?.state).toEqual({ n: 2 });
      expect(uncaught).toEqual([]);
    } finally {
      await cp.close();
    }
  });
});
