// The hot read paths keep their plan before the first ANALYZE: a freshly loaded tenant has no
// statistics, and a plan chosen from defaults once turned history(limit 20) on a 100k-checkpoint
// thread into a hash join over the whole tenant for every step (1.4 s instead of 1 ms).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import { PostgresCheckpointer } from '../src/index.js';
import { THREAD_IDS_SQL, historySql } from '../src/postgres-sql.js';

let db: CairnDb;
const CHAIN = 20_000;

beforeAll(async () => {
  db = await createTestDb();
  // No statistics, and none arriving mid-test.
  await db.pool.query('ALTER TABLE checkpoints SET (autovacuum_enabled = false)');
  await db.pool.query('ALTER TABLE checkpoint_writes SET (autovacuum_enabled = false)');
  // One long chain (ids sort by position; each parent is the previous one) and 300 short threads.
  await db.pool.query(
    `INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_id, parent_checkpoint_id, state)
     SELECT 'plans', 'long', lpad(i::text, 8, '0'), CASE WHEN i > 1 THEN lpad((i - 1)::text, 8, '0') END, convert_to('1', 'UTF8')
     FROM generate_series(1, $1) AS i`,
    [CHAIN],
  );
  await db.pool.query(
    `INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_id, state)
     SELECT 'plans', 't' || lpad(t::text, 4, '0'), lpad(i::text, 8, '0'), convert_to('1', 'UTF8') FROM generate_series(1, 300) AS t, generate_series(1, 20) AS i`,
  );
}, 60_000);

afterAll(async () => {
  await db.close();
});

/** The plan, custom (for these values) and generic (what a named statement settles on after five runs). */
async function plan(text: string, values: unknown[]): Promise<string> {
  const client = await db.pool.connect();
  try {
    const shown: string[] = [];
    for (const mode of ['force_custom_plan', 'force_generic_plan']) {
      await client.query(`SET plan_cache_mode = ${mode}`);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>({ text: `EXPLAIN ${text}`, values });
      shown.push(...rows.map((r) => r['QUERY PLAN']));
    }
    return shown.join('\n');
  } finally {
    await client.query('RESET plan_cache_mode');
    client.release();
  }
}

describe('plans that do not depend on statistics', () => {
  it('walks history by index probes, never a scan of the tenant', async () => {
    const shown = await plan(historySql(false).text, ['plans', 'long', '', 20]);
    expect(shown).not.toMatch(/Seq Scan|Hash Join|Merge Join/);
    const cp = new PostgresCheckpointer(db, { tenantId: 'plans' });
    try {
      const history = await cp.history('long', undefined, { limit: 20 });
      expect(history.map((c) => c.checkpointId)).toEqual(Array.from({ length: 20 }, (_, i) => String(CHAIN - i).padStart(8, '0')));
    } finally {
      await cp.close();
    }
  });

  it('lists thread ids with one probe per thread, not a DISTINCT over every checkpoint', async () => {
    const shown = await plan(THREAD_IDS_SQL.text, ['plans', null, 50]);
    expect(shown).not.toMatch(/Seq Scan|HashAggregate|Unique/);
    const cp = new PostgresCheckpointer(db, { tenantId: 'plans' });
    try {
      const first = await cp.listThreadIds({ limit: 50 });
      expect(first).toEqual(['long', ...Array.from({ length: 49 }, (_, i) => `t${String(i + 1).padStart(4, '0')}`)]);
      const next = await cp.listThreadIds({ limit: 1000, after: 't0290' });
      expect(next).toEqual(Array.from({ length: 10 }, (_, i) => `t${String(i + 291).padStart(4, '0')}`));
    } finally {
      await cp.close();
    }
  });
});
