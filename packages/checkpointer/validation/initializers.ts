// Initializers of LangGraph's validation suite: every created saver gets a tenant of its own, so
// savers never see each other's threads (the suite reuses thread ids such as "1").
import { createTestDb } from '@cairn/db/testing';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { createRedis, type RedisConnection } from '@cairn/redis';
import type { CairnDb } from '@cairn/db';
import type { CheckpointSaverTestInitializer } from '@langchain/langgraph-checkpoint-validation';
import { MemoryCheckpointer, PostgresCheckpointer } from '../src/index.js';
import { CairnSaver } from '../src/langgraph.js';

let tenants = 0;

async function wipe(saver: CairnSaver): Promise<void> {
  for (;;) {
    const threads = await saver.checkpointer.listThreadIds({ limit: 1000 });
    if (threads.length === 0) break;
    for (const thread of threads) await saver.checkpointer.deleteThread(thread);
  }
  await saver.checkpointer.close();
}

/** PostgreSQL, optionally with the Redis cache (which must never change a result). */
export function postgresInitializer(options: { redis?: boolean } = {}): CheckpointSaverTestInitializer<CairnSaver> {
  let db: CairnDb | undefined;
  let redis: RedisConnection | undefined;
  return {
    checkpointerName: options.redis ? 'CairnSaver (PostgreSQL + Redis)' : 'CairnSaver (PostgreSQL)',
    beforeAllTimeout: 60_000,
    async beforeAll() {
      db = await createTestDb();
      if (options.redis) {
        redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('validation') });
        for (let i = 0; i < 200 && !(await redis.healthCheck()).ok; i += 1) await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async afterAll() {
      await redis?.close();
      await db?.close();
    },
    createCheckpointer() {
      tenants += 1;
      return new CairnSaver(new PostgresCheckpointer(db!, { tenantId: `validation-${tenants}`, ...(redis ? { redis: { connection: redis } } : {}) }));
    },
    destroyCheckpointer: wipe,
  };
}

export function memoryInitializer(): CheckpointSaverTestInitializer<CairnSaver> {
  return {
    checkpointerName: 'CairnSaver (memory)',
    createCheckpointer: () => new CairnSaver(new MemoryCheckpointer()),
    destroyCheckpointer: wipe,
  };
}
