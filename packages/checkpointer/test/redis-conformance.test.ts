// The whole conformance suite again with the Redis cache and notifier on: every operation must
// invalidate what it changes, so the cache can never make a result differ.
import { afterAll, beforeAll } from '@jest/globals';
import { createTestDb } from '@cairn/db/testing';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import type { CairnDb } from '@cairn/db';
import { createRedis, type RedisConnection } from '@cairn/redis';
import { PostgresCheckpointer } from '../src/index.js';
import { describeCheckpointer } from '../src/testing.js';

let db: CairnDb;
let redis: RedisConnection;
beforeAll(async () => {
  db = await createTestDb();
  redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('checkpointer') });
  for (let i = 0; i < 200 && !(await redis.healthCheck()).ok; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
});
afterAll(async () => {
  await redis.close();
  await db.close();
});

describeCheckpointer({ name: 'PostgresCheckpointer + Redis', create: async (options) => new PostgresCheckpointer(db, { ...options, redis: { connection: redis } }) });
