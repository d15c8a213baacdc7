// PostgreSQL specifics of semantic search: the per-dimension partial HNSW indexes on the untyped
// column, that searches go through them, and that a filter the nearest rows fail still fills the
// page (pgvector's iterative scan), on a database whose planner is told to avoid sequential scans.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, type CairnDb } from '@cairn/db';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { parseFilter } from '@cairn/core';
import { CairnStore, vectorIndexName } from '../src/index.js';
import { WordHashEmbeddings } from '../src/testing.js';
import { semanticSql } from '../src/store-sql.js';

let database: TestDatabase;
let db: CairnDb;
beforeAll(async () => {
  database = await createTestDatabase();
  const admin = await createDb({ url: database.directUrl });
  // New sessions of this database only: the planner then takes an index wherever one applies,
  // as it would on a table large enough for the index to win.
  await admin.pool.query(`ALTER DATABASE "${database.name}" SET enable_seqscan = off`);
  await admin.close();
  db = await createDb({ url: database.url, pool: { max: 4 } });
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

async function indexes(): Promise<{ name: string; definition: string }[]> {
  const { rows } = await db.pool.query<{ name: string; definition: string }>(
    `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE tablename = 'store_vectors' AND indexname LIKE 'cairn\\_store\\_%' ORDER BY indexname`,
  );
  return rows;
}

describe('vector indexes on store_vectors', () => {
  it('creates one partial half-precision HNSW index per dimension, once, however many stores start together', async () => {
    const stores = [16, 16, 16, 24].map((dims, i) => new CairnStore(db, { tenantId: `ix-${i}`, index: { dims, embed: new WordHashEmbeddings(dims) } }));
    await Promise.all(stores.map((s) => s.start()));
    const found = await indexes();
    expect(found.map((i) => i.name)).toEqual([vectorIndexName(16), vectorIndexName(24)]);
    expect(found[0]!.definition).toContain('USING hnsw (((embedding)::halfvec(16)) halfvec_cosine_ops)');
    expect(found[0]!.definition).toContain('WHERE (vector_dims(embedding) = 16)');
    await Promise.all(stores.map((s) => s.close()));
  });

  it('ranks only vectors of the store’s own dimension when stores of two dimensions share a tenant', async () => {
    const small = new CairnStore(db, { tenantId: 'mixed', index: { dims: 16, embed: new WordHashEmbeddings(16) } });
    const large = new CairnStore(db, { tenantId: 'mixed', index: { dims: 24, embed: new WordHashEmbeddings(24) } });
    await small.put(['n'], 'small', { text: 'harbour lighthouse' });
    await large.put(['n'], 'large', { text: 'harbour lighthouse' });
    expect((await small.search(['n'], { query: 'lighthouse' })).map((i) => i.key)).toEqual(['small']);
    expect((await large.search(['n'], { query: 'lighthouse' })).map((i) => i.key)).toEqual(['large']);
    expect((await small.search(['n'])).map((i) => i.key).sort()).toEqual(['large', 'small']);
    await small.close();
    await large.close();
  });

  it('searches through the index and still fills the page under a filter the nearest rows fail', async () => {
    const embeddings = new WordHashEmbeddings(32);
    const store = new CairnStore(db, { tenantId: 'iterative', index: { dims: 32, embed: embeddings, fields: ['text'] } });
    await store.batch(Array.from({ length: 300 }, (_, i) => ({ namespace: ['mem'], key: `near-${i}`, value: { text: `coffee espresso morning ${i}`, rank: i } })));
    await store.batch(Array.from({ length: 6 }, (_, i) => ({ namespace: ['mem'], key: `far-${i}`, value: { text: `coffee tasting notes ${i} from a trip`, rank: 1000 + i } })));
    await db.pool.query('ANALYZE store_items, store_vectors');
    // A range condition, which no index on the value answers: the HNSW scan has to skip the nearest rows.
    const filter = { rank: { $gte: 1000 } };
    const results = await store.search(['mem'], { query: 'coffee espresso morning', filter, limit: 5 });
    expect(results).toHaveLength(5);
    expect(results.every((r) => r.key.startsWith('far-'))).toBe(true);

    const op = { kind: 'search' as const, prefix: ['mem'], filter: parseFilter(filter), limit: 5, offset: 0, query: 'q', refreshTtl: false };
    const statement = semanticSql('iterative', op, embeddings.vector('coffee espresso morning'), 32, new Date(), 20);
    const plan = await db.transaction(async (client) => {
      await client.query(`SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement.text}`, statement.values);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain(`Index Scan using ${vectorIndexName(32)}`);
    await store.close();
  });
});

describe('CairnStore.fromUrl', () => {
  it('opens a pool of its own and ends it on close', async () => {
    const store = await CairnStore.fromUrl(database.url, { tenantId: 'from-url' });
    await store.put(['a'], 'k', { v: 1 });
    expect((await store.get(['a'], 'k'))?.value).toEqual({ v: 1 });
    await store.close();
    expect(store.db.poolStats().total).toBe(0);
    await expect(store.get(['a'], 'k')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
