// Concurrent writers on one item: every put succeeds (upserts serialise on the item's row), and the
// item ends with the value and the vectors of one of them, never a mix.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { CairnStore, WordHashEmbeddings } from '../src/index.js';

let db: CairnDb;
beforeAll(async () => {
  db = await createTestDb({ pool: { max: 8 } });
});
afterAll(async () => {
  await db.close();
});

describe('concurrent puts of one item', () => {
  it('all succeed and leave one writer’s value with exactly its vectors', async () => {
    const embeddings = new WordHashEmbeddings(16);
    const store = new CairnStore(db, { tenantId: 'race', index: { dims: 16, embed: embeddings, fields: ['notes[*]'] } });
    await store.start();
    const writers = Array.from({ length: 24 }, (_, i) => ({ notes: Array.from({ length: (i % 4) + 1 }, (__, j) => `writer${i} note${j}`) }));
    await Promise.all(writers.map((value) => store.put(['r'], 'k', value)));
    const final = (await store.get(['r'], 'k'))!.value as { notes: string[] };
    const { rows } = await db.pool.query<{ field: string }>(`SELECT field FROM store_vectors WHERE tenant_id = 'race' ORDER BY field`);
    expect(rows.map((r) => r.field)).toEqual(final.notes.map((_, j) => `notes[${j}]`));
    const [best] = await store.search(['r'], { query: final.notes.at(-1)!, limit: 1 });
    expect(best?.score).toBeCloseTo(1, 5);
    await store.close();
  });
});
