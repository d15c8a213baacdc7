// Initializers of LangGraph's validation suite: every created saver gets a tenant of its own, so
// savers never see each other's threads (the suite reuses thread ids such as "1").
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import type { CheckpointSaverTestInitializer } from '@langchain/langgraph-checkpoint-validation';
import { CairnSaver, MemoryCheckpointer, PostgresCheckpointer } from '../src/index.js';

let tenants = 0;

async function wipe(saver: CairnSaver): Promise<void> {
  for (;;) {
    const threads = await saver.checkpointer.listThreadIds({ limit: 1000 });
    if (threads.length === 0) break;
    for (const thread of threads) await saver.checkpointer.deleteThread(thread);
  }
  await saver.checkpointer.close();
}

export function postgresInitializer(): CheckpointSaverTestInitializer<CairnSaver> {
  let db: CairnDb | undefined;
  return {
    checkpointerName: 'CairnSaver (PostgreSQL)',
    beforeAllTimeout: 60_000,
    async beforeAll() {
      db = await createTestDb();
    },
    async afterAll() {
      await db?.close();
    },
    createCheckpointer() {
      tenants += 1;
      return new CairnSaver(new PostgresCheckpointer(db!, { tenantId: `validation-${tenants}` }));
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
