// The upgrade from the 384-only layout (documents.embedding vector(384), a table-wide HNSW index)
// to collections of any dimension, on a database holding documents: every row and every search
// result is the same afterwards, and the rebuilt 384 index serves the old collections' searches.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createDb, migrateDatabase, MIGRATIONS_DIR, type CairnDb } from '@cairn/db';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { createRag, MIGRATION_INDEX_NAME } from '../src/index.js';
import { clusteredVectors } from './fixtures.js';

const UPGRADE = '20261203160000_embedding_any_dimension';
const ROWS = 600;

interface StoredRow {
  tenant_id: string;
  collection: string;
  id: string;
  content: string;
  metadata: unknown;
  embedding: string;
  tsv: string;
  embedded_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const vec = (v: readonly number[]) => `[${v.join(',')}]`;

describe('migrating from the 384-only layout (PostgreSQL)', () => {
  let database: TestDatabase;
  let client: pg.Client;
  let db: CairnDb | undefined;
  let migrationsDir: string;
  const queries = clusteredVectors(ROWS + 5, 384, { clusters: 25, seed: 11 }).vectors.slice(ROWS);
  const before = { rows: [] as StoredRow[], nearest: [] as string[][], filtered: [] as string[][] };

  const readRows = async () =>
    (await client.query<StoredRow>(`SELECT tenant_id, collection, id, content, metadata, embedding::text AS embedding, tsv::text AS tsv, embedded_by, created_at, updated_at FROM documents ORDER BY 1, 2, 3`)).rows;
  const exactNearest = async (q: readonly number[], where = '') =>
    (
      await client.query<{ id: string }>(
        `SELECT id FROM documents WHERE tenant_id = 'default' AND collection = 'kb' ${where} ORDER BY embedding <=> $1::vector, id LIMIT 10`,
        [vec(q)],
      )
    ).rows.map((r) => r.id);

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    // The migrations up to the one before the upgrade, as a database deployed before it has them.
    migrationsDir = await mkdtemp(path.join(tmpdir(), 'cairn-old-migrations-'));
    for (const entry of await readdir(MIGRATIONS_DIR)) {
      if (entry.endsWith('.toml') || entry < UPGRADE) await cp(path.join(MIGRATIONS_DIR, entry), path.join(migrationsDir, entry), { recursive: true });
    }
    await migrateDatabase(database.directUrl, { migrationsDir });
    client = new pg.Client({ connectionString: database.directUrl });
    await client.connect();
    const { vectors } = clusteredVectors(ROWS, 384, { clusters: 25, seed: 11 });
    // Written as the old @cairn/rag wrote them: two collections and two tenants, tsv in English.
    await client.query(
      `INSERT INTO documents (tenant_id, collection, id, content, metadata, embedding, tsv, embedded_by)
       SELECT CASE WHEN u.n % 5 = 0 THEN 'other' ELSE 'default' END, CASE WHEN u.n % 2 = 0 THEN 'kb' ELSE 'notes' END, 'd' || u.n,
              'document number ' || u.n, jsonb_build_object('group', u.n % 7), u.e::vector, to_tsvector('english', 'document number ' || u.n), 'hash'
         FROM unnest($1::int[], $2::text[]) AS u(n, e)`,
      [vectors.map((_, i) => i), vectors.map(vec)],
    );
    before.rows = await readRows();
    for (const q of queries) {
      before.nearest.push(await exactNearest(q));
      before.filtered.push(await exactNearest(q, `AND metadata @> '{"group": 3}'`));
    }
    expect((await client.query(`SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'documents'::regclass AND attname = 'embedding'`)).rows[0]).toEqual({
      t: 'vector(384)',
    });
    await migrateDatabase(database.directUrl);
  }, 180_000);

  afterAll(async () => {
    await db?.close();
    await client?.end();
    await database?.drop();
    if (migrationsDir) await rm(migrationsDir, { recursive: true, force: true });
  });

  it('keeps every row as it was, the column untyped and the 384 index rebuilt as a partial expression index', async () => {
    expect(await readRows()).toEqual(before.rows);
    const { rows } = await client.query<{ t: string; def: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t, pg_get_indexdef($1::regclass) AS def FROM pg_attribute WHERE attrelid = 'documents'::regclass AND attname = 'embedding'`,
      [MIGRATION_INDEX_NAME],
    );
    expect(rows[0]!.t).toBe('vector');
    expect(rows[0]!.def).toMatch(/USING hnsw \(\(\(embedding\)::halfvec\(384\)\) halfvec_cosine_ops\) WITH \(m='16', ef_construction='64'\) WHERE \(vector_dims\(embedding\) = 384\)/);
  });

  it('answers the same searches afterwards, through the rebuilt index, registering the old collection with its stored dimension', async () => {
    await client.query('ANALYZE documents');
    db = await createDb({ url: database.url, directUrl: database.directUrl });
    const rag = createRag(db);
    // Opened without settings, as an application written for the 384-only layout did.
    const kb = await rag.collection('kb');
    expect(kb.dimensions).toBe(384);
    expect(await kb.explainSearch(queries[0]!)).toContain(MIGRATION_INDEX_NAME);
    for (const [i, q] of queries.entries()) {
      expect((await kb.searchByVector(q, { k: 10, exact: true })).map((h) => h.id)).toEqual(before.nearest[i]);
      expect((await kb.searchByVector(q, { k: 10 })).map((h) => h.id)).toEqual(before.nearest[i]);
      expect((await kb.searchByVector(q, { k: 10, where: { group: 3 } })).map((h) => h.id)).toEqual(before.filtered[i]);
    }
    expect((await kb.hybridSearch('number 42', { k: 3, vector: queries[0]! }))[0]).toMatchObject({ textRank: 1 });
    expect(await kb.count()).toBe(before.rows.filter((r) => r.tenant_id === 'default' && r.collection === 'kb').length);
    // Opening it with another dimension is refused: its stored vectors have 384.
    await expect(rag.collection('notes', { dimensions: 768 })).rejects.toMatchObject({ code: 'COLLECTION_SETTINGS_CONFLICT', stored: { dimensions: 384 } });
    const list = await rag.listCollections();
    expect(list.map((c) => [c.name, c.settings?.dimensions ?? null])).toEqual([
      ['kb', 384],
      ['notes', null],
    ]);
  });
});
