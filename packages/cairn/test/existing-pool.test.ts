// createCairn({ db: { pool } }) on real PostgreSQL: an application's own pg.Pool carries every
// component (checkpoints, objects, RAG, LISTEN/NOTIFY through its settings), and close() leaves it usable.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import pg from 'pg';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { createCairn } from '../src/index.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

it('runs on the application pool and leaves it answering queries after close()', async () => {
  const pool = new pg.Pool({ connectionString: database.directUrl, max: 4 });
  const onAppError = () => undefined;
  pool.on('error', onAppError);
  try {
    const cairn = await createCairn({ db: { pool } });
    expect(cairn.db.pool).toBe(pool);
    expect(cairn.db.embedded).toBeUndefined();
    const first = await cairn.checkpointer.put('t1', { step: 1 });
    await cairn.checkpointer.put('t1', { step: 2 }, { parentId: first });
    expect((await cairn.checkpointer.get('t1'))?.state).toEqual({ step: 2 });
    const notes = cairn.objects.collection('Note', z.object({ text: z.string() }));
    await notes.save('n1', { text: 'kept' });
    expect((await notes.get('n1')).data).toEqual({ text: 'kept' });
    const docs = await cairn.rag.collection('c', { dimensions: 384, metric: 'cosine' });
    await docs.upsert([{ id: 'd1', content: 'stones stacked on a trail' }]);
    expect((await docs.search('trail stones', { k: 1 }))[0]?.id).toBe('d1');
    expect((await cairn.health()).status).toBe('ok');
    await cairn.close();

    expect(pool.ended).toBe(false);
    expect(pool.listeners('error')).toEqual([onAppError]);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM checkpoints');
    expect(rows[0]?.n).toBe(2);
  } finally {
    await pool.end();
  }
});
