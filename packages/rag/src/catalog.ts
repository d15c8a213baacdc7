// What @cairn/rag needs to know about the database before it writes: the real dimension of
// `documents.embedding` (from the catalog, so a migrated column change is seen), the pgvector
// version (iterative scans need 0.8), and which text search configurations exist.
import { MIGRATE_HINT } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { DimensionMismatchError, RagSchemaError, UnknownLanguageError } from './errors.js';

/** Facts about the documents table, read once per Rag. */
export interface DocumentsTableInfo {
  /** Declared dimension of `documents.embedding`, from `format_type`. */
  dimensions: number;
  /** The column's type as PostgreSQL prints it, e.g. `vector(384)`. */
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

/** Reads the documents table's embedding column and the pgvector version. */
export async function readDocumentsTable(pool: CairnDb['pool']): Promise<DocumentsTableInfo> {
  const { rows } = await pool.query<{ column_type: string | null; pgvector: string | null; table_exists: boolean; vector_oid: string | number | null }>(
    `SELECT to_regclass('documents') IS NOT NULL AS table_exists, to_regtype('vector')::oid AS vector_oid,
            (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
              WHERE a.attrelid = to_regclass('documents') AND a.attname = 'embedding' AND NOT a.attisdropped) AS column_type,
            (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector`,
  );
  const row = rows[0];
  if (!row?.table_exists) {
    throw new RagSchemaError(`The \`documents\` table does not exist in this database (search_path). Apply Cairn's migrations: ${MIGRATE_HINT}.`);
  }
  if (!row.pgvector) throw new RagSchemaError(`The pgvector extension (\`vector\`) is not installed in this database. Apply Cairn's migrations: ${MIGRATE_HINT}.`);
  const match = /^vector\((\d+)\)$/.exec(row.column_type ?? '');
  if (!match) {
    throw new RagSchemaError(
      `documents.embedding has type ${row.column_type ?? '(missing)'}; @cairn/rag needs vector(N) with a declared dimension. ` +
        'Declare it in prisma/schema.prisma as Unsupported("vector(N)") and run `pnpm db:migrate`.',
    );
  }
  return {
    dimensions: Number(match[1]),
    columnType: row.column_type!,
    pgvectorVersion: row.pgvector,
    iterativeScans: versionAtLeast(row.pgvector, 0, 8),
    vectorOid: Number(row.vector_oid),
  };
}

/** The error for a collection whose dimension differs from the column's, with the way to change the column. */
export function columnDimensionError(table: DocumentsTableInfo, requested: number, source: string): DimensionMismatchError {
  return new DimensionMismatchError(
    table.dimensions,
    requested,
    `${source} has ${requested} dimensions, but documents.embedding is ${table.columnType}. ` +
      `Either use a ${table.dimensions}-dimensional model (OpenAI's text-embedding-3 models return ${table.dimensions} when asked with \`dimensions: ${table.dimensions}\`), ` +
      `or change the column: edit Unsupported("vector(${table.dimensions})") to Unsupported("vector(${requested})") in prisma/schema.prisma, ` +
      `run \`pnpm db:migrate --name embedding_${requested}\`, and in that migration drop and recreate documents_embedding_hnsw_cosine_idx ` +
      `on embedding::halfvec(${requested}) (keep its -- cairn:manual-index marker; halfvec indexes hold up to 4000 dimensions). ` +
      `Existing embeddings must be recomputed. See packages/db/README.md.`,
    { details: { columnType: table.columnType } },
  );
}

/** Checks that `language` names a text search configuration; throws UnknownLanguageError listing the ones that exist. */
export async function assertLanguage(pool: CairnDb['pool'], language: string): Promise<void> {
  const { rows } = await pool.query<{ cfgname: string }>(`SELECT cfgname FROM pg_ts_config ORDER BY cfgname`);
  const names = rows.map((r) => r.cfgname);
  if (!names.includes(language)) throw new UnknownLanguageError(language, names);
}
