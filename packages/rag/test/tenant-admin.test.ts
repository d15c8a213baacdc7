// Index management is tenant-scoped on PostgreSQL: a tenant's Rag lists, drops, rebuilds and
// names only the shared indexes and its own partial ones; another tenant's partial index (whose
// name and predicate carry that tenant's collection) is neither shown nor changed. listAllIndexes
// is the one cross-tenant read.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { createRag, MIGRATION_INDEX_NAME, VectorIndexError, type Rag, type VectorIndexInfo } from '../src/index.js';
import { clusteredVectors } from './fixtures.js';

describe('tenant-scoped index admin (PostgreSQL)', () => {
  let db: CairnDb;
  let root: Rag;
  let alpha: Rag;
  let beta: Rag;
  let betaIndex: VectorIndexInfo;
  let alphaIndex: VectorIndexInfo;

  beforeAll(async () => {
    db = await createTestDb();
    root = createRag(db);
    alpha = root.forTenant('alpha');
    beta = root.forTenant('beta@corp');
    const dims = 384;
    const { vectors } = clusteredVectors(200, dims, { clusters: 5, seed: 5 });
    const docs = vectors.map((embedding, i) => ({ id: `d${i}`, content: `doc ${i}`, embedding }));
    // No shared l2 index ensured on open: the test is about the partial ones.
    const betaSecrets = await beta.collection('beta-secret-plans', { metric: 'l2', dimensions: dims, vectorIndex: false });
    await betaSecrets.upsert(docs);
    const alphaNotes = await alpha.collection('alpha-notes', { metric: 'l2', dimensions: dims, vectorIndex: false });
    await alphaNotes.upsert(docs);
    betaIndex = (await betaSecrets.createIndex({ m: 4, efConstruction: 8 })).index;
    alphaIndex = (await alphaNotes.createIndex({ m: 4, efConstruction: 8 })).index;
  }, 60_000);

  afterAll(async () => {
    await root?.close();
    await db?.close();
  });

  it("lists the shared indexes and the tenant's own partial ones, never another tenant's", async () => {
    const seen = await alpha.listIndexes();
    expect(seen.map((i) => i.name).sort()).toEqual([MIGRATION_INDEX_NAME, alphaIndex.name].sort());
    expect(seen.find((i) => i.name === MIGRATION_INDEX_NAME)).toMatchObject({ scope: 'shared', partial: null });
    expect(seen.find((i) => i.name === alphaIndex.name)).toMatchObject({ scope: 'collection', partial: { tenantId: 'alpha', collection: 'alpha-notes' } });
    // Nothing of beta's: not its index's name, not its tenant id, not its collection's name.
    const text = JSON.stringify(seen);
    expect(text).not.toContain(betaIndex.name);
    expect(text).not.toContain('beta');
    expect((await beta.listIndexes()).map((i) => i.name).sort()).toEqual([MIGRATION_INDEX_NAME, betaIndex.name].sort());
    expect((await root.listIndexes()).map((i) => i.name)).toEqual([MIGRATION_INDEX_NAME]);
  });

  it("refuses to drop or rebuild another tenant's index, which stays as it was", async () => {
    const dropped = await alpha.dropIndex(betaIndex.name).catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(VectorIndexError);
    expect(dropped).toMatchObject({ code: 'INDEX_NOT_FOUND', category: 'not_found' });
    expect((dropped as Error).message).not.toContain('beta');
    await expect(alpha.dropIndex(betaIndex.name, { concurrently: true })).rejects.toMatchObject({ code: 'INDEX_NOT_FOUND' });
    await expect(alpha.rebuildIndex(betaIndex.name)).rejects.toMatchObject({ code: 'INDEX_NOT_FOUND', category: 'not_found' });
    expect((await beta.listIndexes()).find((i) => i.name === betaIndex.name)).toMatchObject({ valid: true, definition: betaIndex.definition });
  });

  it("refuses an index name another tenant's index holds, neither returning nor replacing it", async () => {
    const taken = await alpha.createIndex({ dimensions: 384, name: betaIndex.name, metric: 'l2' }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(VectorIndexError);
    expect(taken).toMatchObject({ code: 'INDEX_NAME_TAKEN', category: 'conflict' });
    expect(JSON.stringify((taken as VectorIndexError).details)).not.toContain('beta-secret-plans');
    expect((await beta.listIndexes()).find((i) => i.name === betaIndex.name)?.definition).toBe(betaIndex.definition);
  });

  it('manages shared indexes from any tenant and its own partial ones, and lists every index only when asked across tenants', async () => {
    expect(await alpha.rebuildIndex(alphaIndex.name)).toMatchObject({ name: alphaIndex.name, valid: true });
    const { index: shared } = await alpha.createIndex({ dimensions: 384, metric: 'inner_product', m: 4, efConstruction: 8 });
    expect(shared).toMatchObject({ scope: 'shared', partial: null });
    expect((await beta.listIndexes()).map((i) => i.name)).toContain(shared.name);
    // A hand-made partial index: rag cannot tell whose it is, so no tenant's list shows it.
    await db.pool.query(`CREATE INDEX cairn_rag_hand_made ON documents USING hnsw ((embedding::vector(384)) vector_l2_ops) WITH (m = 4, ef_construction = 8) WHERE tenant_id = 'beta@corp' AND vector_dims(embedding) = 384`);
    const all = await alpha.listAllIndexes();
    expect(all.map((i) => i.name).sort()).toEqual([MIGRATION_INDEX_NAME, alphaIndex.name, betaIndex.name, shared.name, 'cairn_rag_hand_made'].sort());
    expect(all.find((i) => i.name === 'cairn_rag_hand_made')).toMatchObject({ scope: 'other', partial: null });
    expect((await beta.listIndexes()).map((i) => i.name)).not.toContain('cairn_rag_hand_made');
    await expect(beta.dropIndex('cairn_rag_hand_made')).rejects.toMatchObject({ code: 'INDEX_NOT_FOUND' });
    await db.pool.query('DROP INDEX cairn_rag_hand_made');
    expect(await beta.dropIndex(shared.name)).toBe(true);
    expect(await alpha.dropIndex(alphaIndex.name)).toBe(true);
    expect(await beta.dropIndex(betaIndex.name)).toBe(true);
    expect((await alpha.listAllIndexes()).map((i) => i.name)).toEqual([MIGRATION_INDEX_NAME]);
  });
});
