import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { createDb, type CairnDb } from '@cairn/db';
import { PostgresCheckpointer } from '../src/index.js';
import { runTsx } from './helpers.js';

const WRITERS = 6;
const PER_WRITER = 20;

let database: TestDatabase;
let db: CairnDb;
beforeAll(async () => {
  database = await createTestDatabase();
  db = await createDb({ url: database.url, pool: { max: 2 } });
});
afterAll(async () => {
  await db.close();
  await database.drop();
});

describe('two processes writing one thread', () => {
  it('loses nothing and keeps every writer in order', async () => {
    const args = (label: string) => [database.url, 'concurrency', 'shared-thread', label, String(WRITERS), String(PER_WRITER)];
    const outputs = await Promise.all([runTsx('test/fixtures/concurrent-writer.ts', args('p1')), runTsx('test/fixtures/concurrent-writer.ts', args('p2'))]);
    expect(outputs).toEqual([['done'], ['done']]);

    const cp = new PostgresCheckpointer<{ writer: string; seq: number }>(db, { tenantId: 'concurrency' });
    const all = await cp.list('shared-thread', { limit: 10_000 });
    expect(all).toHaveLength(2 * WRITERS * PER_WRITER);
    expect(new Set(all.map((c) => c.checkpointId)).size).toBe(all.length);
    // Newest first, strictly: "latest" is never ambiguous.
    const ids = all.map((c) => c.checkpointId);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect((await cp.get('shared-thread'))?.checkpointId).toBe(ids[0]);
    // Each writer's checkpoints appear in the order it wrote them.
    const byWriter = new Map<string, number[]>();
    for (const c of [...all].reverse()) byWriter.set(c.state.writer, [...(byWriter.get(c.state.writer) ?? []), c.state.seq]);
    expect(byWriter.size).toBe(2 * WRITERS);
    for (const seqs of byWriter.values()) expect(seqs).toEqual(Array.from({ length: PER_WRITER }, (_, i) => i));
    // Every parent pointer names a checkpoint of the thread; the chain from the latest reaches a root.
    const known = new Set(ids);
    for (const c of all) if (c.parentId !== null) expect(known.has(c.parentId)).toBe(true);
    const history = await cp.history('shared-thread', undefined, { limit: 10_000 });
    expect(history.at(-1)?.parentId).toBeNull();
    await cp.close();
  }, 90_000);
});

describe('overlapping putWrites calls replacing one task’s writes', () => {
  it('leaves the writes of exactly one call, never a mix', async () => {
    const pool = await createDb({ url: database.url, pool: { max: 4 } });
    const cp = new PostgresCheckpointer(pool, { tenantId: 'replace-race' });
    try {
      const id = await cp.put('t', { s: 0 });
      for (let round = 0; round < 40; round += 1) {
        // Calls of different sizes: a replace must leave one call's whole set, nothing of the others.
        const call = (label: string, count: number) =>
          cp.putWrites('t', id, 'task', Array.from({ length: count }, (_, i) => ({ channel: `c${i}`, value: label })), { onConflict: 'replace' });
        const sizes: Record<string, number> = { A: 4, B: 2, C: 3 };
        await Promise.all(Object.entries(sizes).map(([label, count]) => call(`${label}${round}`, count)));
        const writes = (await cp.get('t'))!.pendingWrites.filter((w) => w.taskId === 'task');
        const labels = new Set(writes.map((w) => String(w.value)));
        expect(labels.size).toBe(1);
        expect(writes).toHaveLength(sizes[[...labels][0]!.slice(0, 1)]!);
      }
    } finally {
      await cp.close();
      await pool.close();
    }
  });
});
