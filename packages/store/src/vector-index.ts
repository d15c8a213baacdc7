// The partial HNSW index of one embedding dimension on store_vectors: cosine over
// `embedding::halfvec(N)`, for the rows `WHERE vector_dims(embedding) = N`. The column is untyped,
// so stores of different dimensions share the table and each dimension gets an index of its own,
// made the first time a store of that dimension starts (or writes or searches). This mirrors how
// @cairn/rag indexes documents of any dimension; rag's index code is not exported, and this one
// knows only store_vectors, so it stays here.
//
// Made at run time, not in a migration, because the dimension is the application's choice. The
// statement is idempotent (IF NOT EXISTS) and serialised by an advisory lock, so two processes
// starting together build it once. Index names start with `cairn_store_`.
import type { CairnDb } from '@cairn/db';
import { MAX_INDEXED_DIMENSIONS } from './options.js';

/** Prefix of the indexes this module creates. */
export const STORE_INDEX_PREFIX = 'cairn_store_';

/** The advisory lock key of index builds (any fixed bigint; this one spells "cstoreix" in ASCII). */
const BUILD_LOCK = 0x6373746f72656978n;

/** The name of the index of dimension `dims`. */
export function vectorIndexName(dims: number): string {
  return `${STORE_INDEX_PREFIX}hnsw_cosine_half_${dims}`;
}

/** Whether dimension `dims` gets an HNSW index (half precision takes up to 4000). */
export function isIndexedDimension(dims: number): boolean {
  return dims <= MAX_INDEXED_DIMENSIONS;
}

/** Creates the index of `dims` unless it exists. `m` and `efConstruction` are validated integers. */
export async function ensureVectorIndex(db: CairnDb, dims: number, build: { m: number; efConstruction: number }): Promise<void> {
  if (!isIndexedDimension(dims)) return;
  const name = vectorIndexName(dims);
  const exists = async () => {
    const { rows } = await db.pool.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]);
    return rows[0]?.present === true;
  };
  // Checked first: CREATE INDEX IF NOT EXISTS still locks the table against writes before it sees the name.
  if (await db.run(exists, { operation: 'checking the store vector index' })) return;
  await db.transaction(
    async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [BUILD_LOCK.toString()]);
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${name} ON store_vectors USING hnsw ((embedding::halfvec(${dims})) halfvec_cosine_ops) ` +
          `WITH (m = ${build.m}, ef_construction = ${build.efConstruction}) WHERE vector_dims(embedding) = ${dims}`,
      );
    },
    { operation: `creating the store vector index ${name}` },
  );
}
