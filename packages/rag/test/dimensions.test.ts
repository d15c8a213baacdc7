// Collections of any dimension side by side in one documents table, each served by its own
// partial expression index, and the collection registry that keeps every process agreeing on a
// collection's settings. PostgreSQL 15 + pgvector 0.8.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createDb, type CairnDb } from '@cairn/db';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { ValidationError } from '@cairn/core';
import {
  CollectionSettingsConflictError,
  createRag,
  DimensionMismatchError,
  LocalHashEmbedder,
  MIGRATION_INDEX_NAME,
  VectorIndexError,
  type Rag,
} from '../src/index.js';
import { loadDimensionCollections, WORDS, type LoadedCollection } from './dimension-collections.js';
import { cosineSimilarity } from './fixtures.js';

const DIMENSIONS = [384, 768, 1536, 3072] as const;
const ROWS = 400;

/** The ids of the k vectors nearest to `q` by cosine, computed in JavaScript. */
function nearest(vectors: readonly number[][], q: readonly number[], k: number, keep: (i: number) => boolean = () => true): string[] {
  return vectors
    .map((v, i) => ({ i, s: cosineSimilarity(v, q) }))
    .filter(({ i }) => keep(i))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, k)
    .map(({ i }) => `d${i}`);
}

describe('collections of any dimension (PostgreSQL)', () => {
  let database: TestDatabase;
  let db: CairnDb;
  let rag: Rag;
  let loaded: Map<number, LoadedCollection>;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await createDb({ url: database.url, directUrl: database.directUrl });
    rag = createRag(db);
    loaded = await loadDimensionCollections(db, rag, DIMENSIONS, ROWS, 20);
  }, 240_000);

  afterAll(async () => {
    await rag?.close();
    await db?.close();
    await database?.drop();
  });

  it('creates one partial index per dimension, the migration index serving 384', async () => {
    const indexes = await rag.listIndexes();
    expect(indexes.map((i) => [i.name, i.dimensions, i.metric, i.precision, i.scope])).toEqual([
      ['cairn_rag_hnsw_cosine_half_1536', 1536, 'cosine', 'half', 'shared'],
      ['cairn_rag_hnsw_cosine_half_3072', 3072, 'cosine', 'half', 'shared'],
      ['cairn_rag_hnsw_cosine_half_768', 768, 'cosine', 'half', 'shared'],
      [MIGRATION_INDEX_NAME, 384, 'cosine', 'half', 'shared'],
    ]);
    for (const index of indexes) expect(index.definition).toContain(`WHERE (vector_dims(embedding) = ${index.dimensions})`);
  });

  it.each(DIMENSIONS)('searches the %d-dimension collection through its own index, with the exact nearest first', async (dims) => {
    const { collection, vectors } = loaded.get(dims)!;
    const q = vectors[17]!;
    const plan = await collection.explainSearch(q);
    expect(plan).toContain(dims === 384 ? MIGRATION_INDEX_NAME : `cairn_rag_hnsw_cosine_half_${dims}`);
    expect(plan).not.toMatch(/Seq Scan on documents/);
    const hits = await collection.searchByVector(q, { k: 10 });
    const exact = await collection.searchByVector(q, { k: 10, exact: true });
    expect(hits[0]!.id).toBe('d17');
    expect(exact.map((h) => h.id)).toEqual(nearest(vectors, q, 10));
    // A search of this small set through the index finds what the exact scan finds (recall 1).
    expect(hits.map((h) => h.id)).toEqual(exact.map((h) => h.id));
  });

  it.each(DIMENSIONS)('filters, hybrid-searches and deletes in the %d-dimension collection only', async (dims) => {
    const { collection, vectors } = loaded.get(dims)!;
    const q = vectors[3]!;
    const filtered = await collection.searchByVector(q, { k: 5, where: { group: 3 } });
    expect(filtered.map((h) => h.id)).toEqual(nearest(vectors, q, 5, (i) => i % 10 === 3));
    // d3 is "delta document 3": the nearest vector and the only text match ('simple' keeps the "3").
    const hybrid = await collection.hybridSearch('delta 3', { k: 5, vector: q });
    expect(hybrid[0]).toMatchObject({ id: 'd3', vectorRank: 1, textRank: 1 });
    expect(hybrid.slice(1).every((h) => h.textRank === null && h.vectorRank !== null)).toBe(true);
    expect(await collection.delete({ where: { group: 9 } })).toBe(ROWS / 10);
    expect(await collection.count()).toBe(ROWS - ROWS / 10);
    // The other dimensions' collections are untouched.
    for (const other of DIMENSIONS) if (other !== dims) expect(await loaded.get(other)!.collection.count({ where: { group: 3 } })).toBe(ROWS / 10);
    await collection.upsert(vectors.flatMap((v, i) => (i % 10 === 9 ? [{ id: `d${i}`, content: `${WORDS[i % 5]} document ${i}`, metadata: { group: 9, word: WORDS[i % 5]! }, embedding: v }] : [])));
  });

  it('refuses vectors of another dimension than the collection registered, naming both', async () => {
    const c768 = loaded.get(768)!.collection;
    await expect(c768.upsert([{ id: 'x', content: 'x', embedding: loaded.get(384)!.vectors[0]! }])).rejects.toMatchObject({
      name: 'DimensionMismatchError',
      expected: 768,
      actual: 384,
    });
    const err = await rag.collection('c768', { embedder: new LocalHashEmbedder({ dimensions: 384 }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DimensionMismatchError);
    expect((err as Error).message).toMatch(/holds 768-dimensional vectors/);
    expect((err as Error).message).not.toMatch(/schema/);
  });

  it('reopens a registered collection with its stored settings when none are given', async () => {
    const again = await rag.collection('c1536');
    expect([again.dimensions, again.metric, again.language]).toEqual([1536, 'cosine', 'simple']);
    const hits = await again.searchByVector(loaded.get(1536)!.vectors[5]!, { k: 1 });
    expect(hits[0]!.id).toBe('d5');
  });

  it('lists the collections from the registry with their settings and counts', async () => {
    const list = await rag.listCollections();
    expect(list.map((c) => [c.name, c.count, c.settings?.dimensions, c.settings?.metric, c.settings?.language])).toEqual(
      // By name: c1536, c3072, c384, c768.
      [1536, 3072, 384, 768].map((d) => [`c${d}`, ROWS, d, 'cosine', 'simple']),
    );
    expect(list[0]!.settings).toMatchObject({ embedderId: null, indexSettings: { type: 'hnsw', precision: 'half', m: 16, efConstruction: 64 } });
  });

  it('refuses a contradicting open from a second process, naming stored and requested settings', async () => {
    // A second pool and Rag on the same database: what another process sees.
    const otherDb = await createDb({ url: database.url, directUrl: database.directUrl });
    try {
      const other = createRag(otherDb);
      const err = await other.collection('c768', { metric: 'l2' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CollectionSettingsConflictError);
      expect(err).toMatchObject({ code: 'COLLECTION_SETTINGS_CONFLICT', category: 'conflict', stored: { metric: 'cosine' }, requested: { metric: 'l2' } });
      expect((err as Error).message).toMatch(/metric "cosine" \(stored\) against "l2" \(requested\)/);
      await expect(other.collection('c768', { dimensions: 1024, language: 'english' })).rejects.toMatchObject({
        stored: { dimensions: 768, language: 'simple' },
        requested: { dimensions: 1024, language: 'english' },
      });
      // Agreeing settings open fine there, and both see one registry row.
      expect((await other.collection('c768', { dimensions: 768 })).metric).toBe('cosine');
    } finally {
      await otherDb.close();
    }
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM rag_collections WHERE name = 'c768'`);
    expect(rows[0]!.n).toBe(1);
  });

  it('registers a collection once when two processes open it at the same moment, building its index once', async () => {
    const dbs = await Promise.all([0, 1, 2].map(() => createDb({ url: database.url, directUrl: database.directUrl })));
    try {
      const opened = await Promise.all(dbs.map((d) => createRag(d).collection('c1024', { dimensions: 1024, metric: 'inner_product' })));
      expect(opened.map((c) => c.dimensions)).toEqual([1024, 1024, 1024]);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
    const indexes = (await rag.listIndexes()).filter((i) => i.dimensions === 1024);
    expect(indexes.map((i) => [i.name, i.metric, i.valid])).toEqual([['cairn_rag_hnsw_ip_half_1024', 'inner_product', true]]);
  });

  it('needs the dimension of a new collection without an embedder, and refuses an index past 4000 dimensions', async () => {
    await expect(rag.collection('no-dims')).rejects.toBeInstanceOf(ValidationError);
    const tooWide = await rag.collection('huge', { dimensions: 4096 }).catch((e: unknown) => e);
    expect(tooWide).toBeInstanceOf(VectorIndexError);
    expect(tooWide).toMatchObject({ code: 'INDEX_TOO_MANY_DIMENSIONS', details: { dimensions: 4096 } });
    // Without an index it works, by exact search.
    const huge = await rag.collection('huge', { dimensions: 4096, vectorIndex: false });
    const v = Array.from({ length: 4096 }, (_, i) => (i === 7 ? 1 : 0.001));
    await huge.upsert([{ id: 'h', content: 'huge', embedding: v }]);
    expect((await huge.searchByVector(v, { k: 1 }))[0]!.id).toBe('h');
  });

  it('re-embeds a collection into a new one of another dimension, and a second run embeds nothing again', async () => {
    const source = loaded.get(384)!.collection;
    const embedder = new LocalHashEmbedder({ dimensions: 1536 });
    const target = await rag.collection('c384-as-1536', { embedder, language: 'simple' });
    expect(target.dimensions).toBe(1536);
    const progress: number[] = [];
    const first = await source.reembedInto(target, { batchSize: 150, onProgress: (p) => progress.push(p.upserted) });
    expect(first).toMatchObject({ upserted: ROWS, inserted: ROWS, embedded: ROWS });
    expect(progress).toEqual([150, 300, 400]);
    expect(await target.count()).toBe(ROWS);
    expect((await target.get(['d7']))[0]).toMatchObject({ content: 'charlie document 7', metadata: { group: 7, word: 'charlie' } });
    const [hit] = await target.search('charlie document 7', { k: 1 });
    expect(hit!.id).toBe('d7');
    // Writes to the source meanwhile: a second run carries them over, embedding only what changed.
    await source.update([{ id: 'd8', content: 'delta document eight, rewritten', embedding: loaded.get(384)!.vectors[8]! }]);
    const again = await source.reembedInto(target);
    expect(again).toMatchObject({ upserted: ROWS, inserted: 0, updated: 1, unchanged: ROWS - 1, embedded: 1 });
    await expect(source.reembedInto(source)).rejects.toBeInstanceOf(ValidationError);
    await expect(source.reembedInto(loaded.get(768)!.collection)).rejects.toMatchObject({ code: 'EMBEDDER_REQUIRED' });
  });

  it('ensures an index explicitly, idempotently, and reports the one that already serves', async () => {
    const first = await rag.ensureIndex({ dimensions: 512, metric: 'l2' });
    expect(first).toMatchObject({ created: true, index: { name: 'cairn_rag_hnsw_l2_half_512', dimensions: 512, valid: true } });
    expect(await rag.ensureIndex({ dimensions: 512, metric: 'l2' })).toMatchObject({ created: false, index: { name: 'cairn_rag_hnsw_l2_half_512' } });
    expect(await rag.ensureIndex({ dimensions: 384 })).toMatchObject({ created: false, index: { name: MIGRATION_INDEX_NAME } });
    expect(await rag.dropIndex('cairn_rag_hnsw_l2_half_512')).toBe(true);
  });
});
