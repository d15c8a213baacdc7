// What @cairn/rag needs to know about the database before it writes: that `documents.embedding`
// is the untyped `vector` column (collections of any dimension share it) and the collection
// registry exists (both from the migrations), the pgvector version (iterative scans need 0.8), and
// which text search configurations exist.
import { MIGRATE_HINT } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { RagSchemaError, UnknownLanguageError } from './errors.js';

/** Facts about the documents table, read once per Rag. */
export interface DocumentsTableInfo {
  /** The column's type as PostgreSQL prints it: `vector` (no declared dimension; each collection has its own). */
  columnType: string;
  /** Installed pgvector version, e.g. `0.8.0`. */
  pgvectorVersion: string;
  /** pgvector >= 0.8: `hnsw.iterative_scan` and friends exist. */
  iterativeScans: boolean;
  /** Oid of the `vector` type (as `::vector` resolves it), for binary array parameters. */
  vectorOid: number;
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

/** Reads the documents table's embedding column, the registry's presence and the pgvector version. */
export async function readDocumentsTable(pool: CairnDb['pool']): Promise<DocumentsTableInfo> {
  const { rows } = await pool.query<{
    column_type: string | null;
    pgvector: string | null;
    table_exists: boolean;
    registry_exists: boolean;
    vector_oid: string | number | null;
  }>(
    `SELECT to_regclass('documents') IS NOT NULL AS table_exists, to_regclass('rag_collections') IS NOT NULL AS registry_exists,
            to_regtype('vector')::oid AS vector_oid,
            (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
              WHERE a.attrelid = to_regclass('documents') AND a.attname = 'embedding' AND NOT a.attisdropped) AS column_type,
            (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector`,
  );
  const row = rows[0];
  if (!row?.table_exists) {
    throw new RagSchemaError(`The \`documents\` table does not exist in this database (search_path). Apply Cairn's migrations: ${MIGRATE_HINT}.`);
  }
  if (!row.pgvector) throw new RagSchemaError(`The pgvector extension (\`vector\`) is not installed in this database. Apply Cairn's migrations: ${MIGRATE_HINT}.`);
  if (row.column_type !== 'vector' || !row.registry_exists) {
    throw new RagSchemaError(
      `documents.embedding has type ${row.column_type ?? '(missing)'}${row.registry_exists ? '' : ' and the rag_collections table is missing'}; ` +
        `@cairn/rag needs the layout of migration 20261203160000_embedding_any_dimension (an untyped vector column and the collection registry). ` +
        `Apply Cairn's migrations: ${MIGRATE_HINT}.`,
    );
  }
  return {
    columnType: row.column_type,
    pgvectorVersion: row.pgvector,
    iterativeScans: versionAtLeast(row.pgvector, 0, 8),
    vectorOid: Number(row.vector_oid),
  };
}

/** Checks that `language` names a text search configuration; throws UnknownLanguageError listing the ones that exist. */
export async function assertLanguage(pool: CairnDb['pool'], language: string): Promise<void> {
  const { rows } = await pool.query<{ cfgname: string }>(`SELECT cfgname FROM pg_ts_config ORDER BY cfgname`);
  const names = rows.map((r) => r.cfgname);
  if (!names.includes(language)) throw new UnknownLanguageError(language, names);
}
