// Runtime vector indexes (per metric, per collection, HNSW and IVFFlat) and the catalog checks
// of the embedding column, on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { ValidationError } from '@cairn/core';
import {
  createRag,
  MIGRATION_INDEX_NAME,
  RagSchemaError,
  VectorIndexError,
  type PgVectorCollection,
  type Rag,
} from '../src/index.js';
import { clusteredVectors } from './fixtures.js';

const DIMS = 384;

describe('vector indexes (PostgreSQL)', () => {
  let db: CairnDb;
  let rag: Rag;
  let l2: PgVectorCollection;
  let ip: PgVectorCollection;
  let vectors: number[][];

  beforeAll(async () => {
    db = await createTestDb();
    rag = createRag(db);
    vectors = clusteredVectors(1500, DIMS, { clusters: 30, seed: 3 }).vectors;
    // No index ensured on open: these tests build their own.
    l2 = await rag.collection('by-l2', { metric: 'l2', dimensions: DIMS, vectorIndex: false });
    ip = await rag.collection('by-ip', { metric: 'inner_product', dimensions: DIMS, vectorIndex: false });
    const docs = vectors.map((v, i) => ({ id: `d${i}`, content: `d ${i}`, metadata: { group: i % 10 }, embedding: v }));
    await l2.upsert(docs);
    await ip.upsert(docs);
    await db.pool.query('ANALYZE documents');
  }, 120_000);

  afterAll(async () => {
    await db?.close();
  });

  it('lists the migration index', async () => {
    const [index] = await rag.listIndexes();
    expect(index).toMatchObject({
      name: MIGRATION_INDEX_NAME,
      type: 'hnsw',
      metric: 'cosine',
      precision: 'half',
      dimensions: 384,
      parameters: { m: 16, ef_construction: 64 },
      partial: null,
      scope: 'shared',
      valid: true,
      managedBy: 'migration',
    });
  });

  it('builds a partial HNSW index for one collection and metric, which its searches then use', async () => {
    const q = vectors[7]!;
    const exactBefore = await l2.searchByVector(q, { k: 10, exact: true });
    expect(await l2.explainSearch(q)).not.toContain('cairn_rag_');
    const { index, created } = await l2.createIndex({ m: 8, efConstruction: 32 });
    expect(created).toBe(true);
    expect(index).toMatchObject({ type: 'hnsw', metric: 'l2', parameters: { m: 8, ef_construction: 32 }, partial: { tenantId: 'default', collection: 'by-l2' }, managedBy: 'cairn-rag', valid: true });
    expect(index.name).toMatch(/^cairn_rag_hnsw_l2_half_384_[0-9a-f]{12}$/);
    expect(index).toMatchObject({ precision: 'half', dimensions: 384, scope: 'collection' });
    expect(index.definition).toContain('halfvec_l2_ops');
    expect(index.definition).toContain("WHERE ((tenant_id = 'default'::text) AND (collection = 'by-l2'::text) AND (vector_dims(embedding) = 384))");
    expect(await l2.explainSearch(q)).toContain(index.name);
    // Same search, same answer (this small set is well inside ef_search), with exact distances:
    // the half-precision index only picks the candidates.
    const approx = await l2.searchByVector(q, { k: 10 });
    expect(approx.map((h) => h.id)).toEqual(exactBefore.map((h) => h.id));
    approx.forEach((h, i) => expect(h.distance).toBe(exactBefore[i]!.distance));
    // Another collection with the same metric does not get it.
    const other = await rag.collection('other-l2', { metric: 'l2', dimensions: DIMS, vectorIndex: false });
    expect(await other.explainSearch(q)).not.toContain(index.name);
    expect(await l2.createIndex({ m: 8, efConstruction: 32 })).toMatchObject({ created: false, index: { name: index.name } });
  });

  it('builds an IVFFlat index and searches it with probes, concurrently and with build settings', async () => {
    const { index } = await ip.createIndex({ type: 'ivfflat', lists: 20, concurrently: true, maintenanceWorkMem: '96MB', parallelWorkers: 1 });
    expect(index).toMatchObject({ type: 'ivfflat', metric: 'inner_product', parameters: { lists: 20 }, valid: true });
    const q = vectors[42]!;
    expect(await ip.explainSearch(q)).toContain(index.name);
    const exact = await ip.searchByVector(q, { k: 10, exact: true });
    const all = await ip.searchByVector(q, { k: 10, probes: 20 });
    expect(all.map((h) => h.id)).toEqual(exact.map((h) => h.id));
    const one = await ip.searchByVector(q, { k: 10, probes: 1, where: { group: 3 } });
    expect(one).toHaveLength(10);
    for (const h of one) expect(h.metadata['group']).toBe(3);
    // Build settings were transaction- or connection-local: the pool's sessions are unchanged.
    const { rows } = await db.pool.query<{ mwm: string }>(`SELECT current_setting('maintenance_work_mem') AS mwm`);
    expect(rows[0]!.mwm).not.toBe('96MB');
  });

  it('builds a table-wide index for a metric', async () => {
    const { index } = await rag.createIndex({ dimensions: DIMS, type: 'hnsw', metric: 'inner_product' });
    expect(index).toMatchObject({ name: 'cairn_rag_hnsw_ip_half_384', partial: null, metric: 'inner_product', precision: 'half', dimensions: 384, scope: 'shared' });
    expect(await rag.dropIndex(index.name)).toBe(true);
  });

  it('prefers a full-precision index built on purpose, and searches whichever serves the collection', async () => {
    const cosine = await rag.collection('by-cosine', { dimensions: DIMS });
    await cosine.upsert(vectors.map((embedding, i) => ({ id: `c${i}`, content: `doc ${i}`, embedding })));
    await db.pool.query('ANALYZE documents');
    const q = vectors[11]!;
    const exact = await cosine.searchByVector(q, { k: 10, exact: true });
    // The migration's index is on the halfvec cast, so the search orders by that expression.
    expect(await cosine.explainSearch(q)).toContain(MIGRATION_INDEX_NAME);
    const { index } = await cosine.createIndex({ precision: 'full', m: 8, efConstruction: 32 });
    expect(index).toMatchObject({ precision: 'full', name: expect.stringMatching(/^cairn_rag_hnsw_cosine_384_[0-9a-f]{12}$/) });
    expect(index.definition).toContain('vector_cosine_ops');
    const plan = await cosine.explainSearch(q);
    expect(plan).toContain(index.name);
    expect(plan).not.toContain(MIGRATION_INDEX_NAME);
    expect((await cosine.searchByVector(q, { k: 10 })).map((h) => h.id)).toEqual(exact.map((h) => h.id));
    expect(await rag.dropIndex(index.name)).toBe(true);
    // Dropped through the Rag: the next search plans with the migration's index again.
    expect(await cosine.explainSearch(q)).toContain(MIGRATION_INDEX_NAME);
    const hybrid = await cosine.hybridSearch('doc', { k: 5, vector: q, weights: { vector: 1, text: 0 } });
    expect(hybrid.map((h) => h.id)).toEqual(exact.slice(0, 5).map((h) => h.id));
  });

  it("'auto' scans an unfiltered query once, and iterates for a collection other collections crowd out", async () => {
    const major = await rag.collection('auto-major', { dimensions: DIMS });
    await major.upsert(vectors.map((embedding, i) => ({ id: `m${i}`, content: `doc ${i}`, embedding })));
    // Documents far from the others (enough of them that the planner scans the index for this
    // collection): the index's nearest rows to a query among the others are not theirs.
    const minor = await rag.collection('auto-minor', { dimensions: DIMS });
    const far = clusteredVectors(1500, vectors[0]!.length, { clusters: 3, seed: 99 }).vectors;
    await minor.upsert(far.map((embedding, i) => ({ id: `f${i}`, content: `far ${i}`, embedding })));
    await db.pool.query('ANALYZE documents');
    const q = vectors[21]!;
    expect(await major.explainSearch(q)).toContain(MIGRATION_INDEX_NAME);
    expect(await minor.explainSearch(q)).toContain(MIGRATION_INDEX_NAME);

    // Counts the statements a search sends (the pool stays real; this only counts).
    const query = db.pool.query.bind(db.pool);
    const sent: string[] = [];
    db.pool.query = ((text: string, values?: unknown[]) => {
      sent.push(text);
      return query(text, values);
    }) as typeof db.pool.query;
    const recallOf = (got: { id: string }[], truth: { id: string }[]) => got.filter((h) => truth.some((t) => t.id === h.id)).length / truth.length;
    const statements = async (search: () => Promise<unknown>) => {
      sent.length = 0;
      await search();
      return sent.length;
    };
    try {
      const relaxed = await major.searchByVector(q, { k: 10, iterativeScan: 'relaxed_order' });
      let auto: Awaited<ReturnType<typeof major.searchByVector>> = [];
      expect(await statements(async () => (auto = await major.searchByVector(q, { k: 10 })))).toBe(1);
      expect(auto).toEqual(relaxed);

      const exact = await minor.searchByVector(q, { k: 10, exact: true });
      let found: Awaited<ReturnType<typeof minor.searchByVector>> = [];
      // Scanned once: short; repeated iteratively: full.
      expect(await statements(async () => (found = await minor.searchByVector(q, { k: 10 })))).toBe(2);
      expect(found).toHaveLength(10);
      expect(recallOf(found, exact)).toBeGreaterThanOrEqual(0.8);
      // Remembered: the next unfiltered search of this collection iterates from the start…
      expect(await statements(() => minor.searchByVector(q, { k: 10 }))).toBe(1);
      // …and so does another handle on it; other collections do not.
      const again = await rag.collection('auto-minor');
      expect(await statements(() => again.searchByVector(q, { k: 10 }))).toBe(1);
      expect(await statements(() => major.searchByVector(q, { k: 10 }))).toBe(1);
      // k·2 candidates beyond ef_search cannot come from one scan: it iterates from the start.
      expect(await statements(() => major.searchByVector(q, { k: 60, efSearch: 40 }))).toBe(1);
      expect(await major.searchByVector(q, { k: 60, efSearch: 40 })).toHaveLength(60);
    } finally {
      db.pool.query = query;
    }
  });

  it('rebuilds any vector index, the migration one included, and drops only its own', async () => {
    expect(await rag.rebuildIndex(MIGRATION_INDEX_NAME)).toMatchObject({ name: MIGRATION_INDEX_NAME, valid: true });
    const err = await rag.dropIndex(MIGRATION_INDEX_NAME).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VectorIndexError);
    expect((err as VectorIndexError).code).toBe('INDEX_NOT_MANAGED');
    await expect(rag.dropIndex('documents_pkey')).rejects.toBeInstanceOf(VectorIndexError);
    await expect(rag.rebuildIndex('documents_pkey')).rejects.toMatchObject({ code: 'INDEX_NOT_FOUND' });
    expect(await rag.dropIndex('cairn_rag_never_made')).toBe(false);
    const [own] = (await rag.listIndexes()).filter((i) => i.managedBy === 'cairn-rag' && i.metric === 'l2');
    expect(await rag.rebuildIndex(own!.name, { concurrently: true })).toMatchObject({ valid: true });
    expect(await rag.dropIndex(own!.name, { concurrently: true })).toBe(true);
    expect((await rag.listIndexes()).some((i) => i.name === own!.name)).toBe(false);
  });

  it('validates index options', async () => {
    await expect(rag.createIndex({ dimensions: DIMS, m: 32, efConstruction: 40 })).rejects.toBeInstanceOf(ValidationError);
    await expect(rag.createIndex({ dimensions: DIMS, name: 'documents_evil' })).rejects.toBeInstanceOf(ValidationError);
    await expect(rag.createIndex({ dimensions: DIMS, maintenanceWorkMem: "1GB'; DROP TABLE documents; --" })).rejects.toBeInstanceOf(ValidationError);
    // @ts-expect-error: the dimension is required
    await expect(rag.createIndex({ metric: 'l2' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('a collection of 3072 dimensions, and the layout the catalog reports (PostgreSQL)', () => {
  let db: CairnDb | undefined;
  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('indexes 3072 dimensions at half precision and refuses a full-precision index with a clear error', async () => {
    const col = await createRag(db!).collection('wide', { dimensions: 3072, vectorIndex: false });
    // Clustered, as embeddings are (a graph over near-orthogonal vectors has no neighbourhoods to walk).
    // Whether the planner takes the index for 3000 rows alone is its cost call (the plans of
    // collections of every dimension are checked in dimensions.test.ts); the search orders by its expression.
    const wide = clusteredVectors(3000, 3072, { clusters: 30, seed: 5 }).vectors;
    await col.upsertStream(wide.map((embedding, i) => ({ id: `w${i}`, content: `w ${i}`, embedding })));
    const err = await col.createIndex({ precision: 'full' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VectorIndexError);
    expect(err).toMatchObject({ code: 'INDEX_TOO_MANY_DIMENSIONS' });
    expect((err as Error).message).toContain("precision: 'half'");
    const { index } = await col.createIndex();
    expect(index).toMatchObject({ precision: 'half', valid: true });
    expect(await col.explainSearch(wide[20]!)).toContain('::halfvec(3072)');
    const [hit] = await col.searchByVector(wide[20]!, { k: 1, efSearch: 400 });
    expect(hit!.id).toBe('w20');
    expect(hit!.distance).toBeCloseTo(0, 6);
  });

  it('reports the untyped column, and refuses a database whose migrations stopped at the typed column', async () => {
    expect(await createRag(db!).tableInfo()).toMatchObject({ columnType: 'vector', iterativeScans: true });
    // As a database migrated only up to the 384-only layout looks.
    await db!.pool.query(`DELETE FROM documents`);
    await db!.pool.query(`DROP INDEX documents_embedding_hnsw_cosine_idx`);
    await db!.pool.query(`ALTER TABLE documents ALTER COLUMN embedding TYPE vector(384)`);
    const err = await createRag(db!).collection('c', { dimensions: 384 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RagSchemaError);
    expect((err as Error).message).toContain('documents.embedding has type vector(384)');
    expect((err as Error).message).toContain('20261203160000_embedding_any_dimension');
  });

  it('maps a table dropped under an open collection to RagSchemaError', async () => {
    await db!.pool.query(`ALTER TABLE documents ALTER COLUMN embedding TYPE vector`);
    const col = await createRag(db!).collection('small', { dimensions: 8, vectorIndex: false });
    await col.upsert([{ id: 'a', content: 'a', embedding: [1, 0, 0, 0, 0, 0, 0, 0] }]);
    expect((await col.searchByVector([1, 0.1, 0, 0, 0, 0, 0, 0], { k: 1 }))[0]!.id).toBe('a');
    await db!.pool.query(`DROP TABLE documents`);
    await expect(col.count()).rejects.toBeInstanceOf(RagSchemaError);
  });
});
