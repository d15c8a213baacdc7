// Collections of any dimension on the embedded database: PGlite (PostgreSQL 18 in WASM) with
// pgvector 0.8.7 takes the same per-dimension partial expression indexes (halfvec up to 3072 here)
// and the registry, as PostgreSQL 15 does in dimensions.test.ts. Fewer rows: WASM is slower.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, type CairnDb } from '@cairn/db';
import { CollectionSettingsConflictError, createRag, MIGRATION_INDEX_NAME, type Rag } from '../src/index.js';
import { loadDimensionCollections, type LoadedCollection } from './dimension-collections.js';

const DIMENSIONS = [384, 768, 1536, 3072] as const;
const ROWS = 200;

describe('collections of any dimension (PGlite)', () => {
  let db: CairnDb;
  let rag: Rag;
  let loaded: Map<number, LoadedCollection>;

  beforeAll(async () => {
    db = await createDb({ embedded: { inMemory: true } });
    rag = createRag(db);
    loaded = await loadDimensionCollections(db, rag, DIMENSIONS, ROWS, 10);
  }, 240_000);

  afterAll(async () => {
    await rag?.close();
    await db?.close();
  });

  it('builds the partial expression index of every dimension', async () => {
    expect((await rag.listIndexes()).map((i) => [i.name, i.dimensions, i.scope, i.valid])).toEqual([
      ['cairn_rag_hnsw_cosine_half_1536', 1536, 'shared', true],
      ['cairn_rag_hnsw_cosine_half_3072', 3072, 'shared', true],
      ['cairn_rag_hnsw_cosine_half_768', 768, 'shared', true],
      [MIGRATION_INDEX_NAME, 384, 'shared', true],
    ]);
  });

  it.each(DIMENSIONS)('searches, filters, hybrid-searches and deletes at %d dimensions through its index', async (dims) => {
    const { collection, vectors } = loaded.get(dims)!;
    const q = vectors[13]!;
    expect(await collection.explainSearch(q)).toContain(dims === 384 ? MIGRATION_INDEX_NAME : `cairn_rag_hnsw_cosine_half_${dims}`);
    const exact = await collection.searchByVector(q, { k: 5, exact: true });
    expect(exact[0]!.id).toBe('d13');
    expect((await collection.searchByVector(q, { k: 5 })).map((h) => h.id)).toEqual(exact.map((h) => h.id));
    const filtered = await collection.searchByVector(q, { k: 5, where: { group: 3 } });
    expect(filtered[0]!.id).toBe('d13');
    expect(filtered.every((h) => h.metadata['group'] === 3)).toBe(true);
    expect((await collection.hybridSearch('delta 13', { k: 3, vector: q }))[0]).toMatchObject({ id: 'd13', vectorRank: 1, textRank: 1 });
    expect(await collection.delete(['d13'])).toBe(1);
    expect(await collection.count()).toBe(ROWS - 1);
  });

  it('refuses a contradicting open through a second pool', async () => {
    const other = await createDb({ url: db.connectionString() });
    try {
      await expect(createRag(other).collection('c768', { metric: 'l2' })).rejects.toBeInstanceOf(CollectionSettingsConflictError);
    } finally {
      await other.close();
    }
  });
});
