// Retention on a thread of 100,000 checkpoints: every statement it runs finishes within a
// statement timeout (the pool's, 10 s here), with and without keeping ancestors, and the thread
// keeps exactly what the rules say.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import { PostgresCheckpointer } from '../src/index.js';
import { loadLongThread } from './fixtures/long-thread.js';

const CHAIN = 100_000;
let db: CairnDb;

beforeAll(async () => {
  db = await createTestDb({ pool: { statementTimeoutMs: 10_000 } });
}, 60_000);

afterAll(async () => {
  await db.close();
});

const loadThread = (threadId: string, length: number) => loadLongThread(db.pool, 'scale', threadId, length, 50);

async function count(threadId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM checkpoints WHERE tenant_id = 'scale' AND thread_id = $1`, [threadId]);
  return rows[0]!.n;
}

describe('retention on a 100k-checkpoint thread', () => {
  it('keeps the live chain and drops only the dead branch when ancestors are kept', async () => {
    await loadThread('kept', CHAIN);
    const cp = new PostgresCheckpointer(db, { tenantId: 'scale' });
    try {
      const result = await cp.prune({ threadId: 'kept', keepLast: 1000 });
      // The latest's ancestors are the whole chain; the branch off checkpoint 10 is dead.
      expect(result).toEqual({ deleted: 50, threads: { kept: 50 } });
      expect(await count('kept')).toBe(CHAIN);
    } finally {
      await cp.close();
    }
  }, 120_000);

  it('deletes everything past keepLast, in batches, when ancestors are not kept', async () => {
    await loadThread('cut', CHAIN);
    const cp = new PostgresCheckpointer(db, { tenantId: 'scale' });
    try {
      const result = await cp.prune({ threadId: 'cut', keepLast: 1000, keepAncestors: false });
      expect(result.deleted).toBe(CHAIN + 50 - 1000);
      expect(await count('cut')).toBe(1000);
      const latest = await cp.get('cut');
      expect(latest?.checkpointId).toBe(`c${String(CHAIN).padStart(8, '0')}`);
    } finally {
      await cp.close();
    }
  }, 120_000);
});
