// The statements a collection issues to write, read and delete its documents, and the rows they
// return (search's statements are in search-sql.ts). Each filters by tenant and collection first;
// values are parameters, never text of the statement.
import type { Row } from '@cairn/db';
import { FULL_TEXT_MAX_BYTES } from '@cairn/core';
import type { MetadataFilter } from './filter.js';
import type { Metadata } from './options.js';
import { queryContext } from './search-sql.js';

/**
 * A row's text index: to_tsvector in the collection's language (`language`, a regconfig
 * placeholder), or NULL when the content is longer than FULL_TEXT_MAX_BYTES. Such content reaches
 * the database only from collections with longDocuments: 'skip-text-index' (the others refuse it
 * first); the same test in SQL keeps refreshTextIndex from failing on it. octet_length is the
 * UTF-8 length that fitsFullTextIndex measures, and the bound is core's constant, not input.
 */
function textIndexSql(content: string, language: string): string {
  return `CASE WHEN octet_length(${content}) <= ${FULL_TEXT_MAX_BYTES} THEN to_tsvector(${language}::regconfig, ${content}) END`;
}

/**
 * One batch of upserts: $1 tenant, $2 collection, $3 language, then parallel arrays of id,
 * content, metadata (JSON text), embedding and embedded_by. Returns one row: written, inserted.
 */
export const UPSERT_SQL =
  `WITH written AS (` +
  `INSERT INTO documents AS d (tenant_id, collection, id, content, metadata, embedding, embedded_by, tsv) ` +
  `SELECT $1, $2, u.id, u.content, u.metadata::jsonb, u.embedding, u.embedded_by, ${textIndexSql('u.content', '$3')} ` +
  // $7 is a binary vector[] (encodeVectorArray): no decimal formatting or parsing of floats.
  `FROM unnest($4::text[], $5::text[], $6::text[], $7::vector[], $8::text[]) AS u(id, content, metadata, embedding, embedded_by) ` +
  `ON CONFLICT (tenant_id, collection, id) DO UPDATE SET content = EXCLUDED.content, metadata = EXCLUDED.metadata, ` +
  `embedding = EXCLUDED.embedding, embedded_by = EXCLUDED.embedded_by, tsv = EXCLUDED.tsv, updated_at = now() ` +
  // An identical document is not rewritten: a rewrite would add a new row version and, with the
  // heap page full, a new entry in every index, the HNSW graph insert being most of an ingest's cost.
  `WHERE (d.content, d.metadata, d.embedding, d.embedded_by, d.tsv) IS DISTINCT FROM ` +
  `(EXCLUDED.content, EXCLUDED.metadata, EXCLUDED.embedding, EXCLUDED.embedded_by, EXCLUDED.tsv) ` +
  // xmax = 0 on a row this statement inserted; an updated row carries the updating transaction's id.
  `RETURNING (xmax = 0) AS inserted) ` +
  `SELECT count(*)::int AS written, (count(*) FILTER (WHERE inserted))::int AS inserted FROM written`;

/** Stored vectors that still fit: same id and content, computed by the same embedder ($5). */
export const REUSABLE_EMBEDDINGS_SQL =
  `SELECT u.ord::int AS ord, d.embedding::text AS embedding ` +
  `FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(id, content, ord) ` +
  `JOIN documents d ON d.tenant_id = $1 AND d.collection = $2 AND d.id = u.id ` +
  `AND d.content = u.content AND d.embedded_by = $5 AND d.embedding IS NOT NULL`;

/**
 * update(): $1 tenant, $2 collection, $3 language, $4 whether to merge metadata, then parallel
 * arrays of id, content, metadata, embedding and embedded_by, a NULL keeping the stored value.
 * Returns the ids it found.
 */
export const UPDATE_SQL =
  `UPDATE documents AS d SET content = COALESCE(u.content, d.content), ` +
  `metadata = CASE WHEN u.metadata IS NULL THEN d.metadata WHEN $4 THEN d.metadata || u.metadata::jsonb ELSE u.metadata::jsonb END, ` +
  `embedding = COALESCE(u.embedding, d.embedding), ` +
  `embedded_by = CASE WHEN u.embedding IS NULL THEN d.embedded_by ELSE u.embedded_by END, ` +
  `tsv = CASE WHEN u.content IS NULL THEN d.tsv ELSE ${textIndexSql('u.content', '$3')} END, updated_at = now() ` +
  `FROM unnest($5::text[], $6::text[], $7::text[], $8::vector[], $9::text[]) AS u(id, content, metadata, embedding, embedded_by) ` +
  `WHERE d.tenant_id = $1 AND d.collection = $2 AND d.id = u.id RETURNING d.id`;

/** $1 tenant, $2 collection, $3 language. */
export const REFRESH_TEXT_INDEX_SQL = `UPDATE documents SET tsv = ${textIndexSql('content', '$3')} WHERE tenant_id = $1 AND collection = $2`;

/** $1 tenant, $2 collection, $3 the ids. */
export const DELETE_BY_IDS_SQL = `DELETE FROM documents WHERE tenant_id = $1 AND collection = $2 AND id = ANY($3::text[])`;

/** $1 tenant, $2 collection. */
export const CLEAR_SQL = `DELETE FROM documents WHERE tenant_id = $1 AND collection = $2`;

/**
 * A `documents` row as get and list return it, `metadata` typed as the collection's. `embedding` is a
 * pgvector column (Unsupported in the schema, so absent from the generated types), read as
 * `embedding::text` when asked for.
 */
export type DocumentRow<M extends Metadata> = Row<'documents', 'id' | 'content' | 'metadata' | 'created_at' | 'updated_at', { metadata: M }> & { embedding?: string };

/** get(): $1 tenant, $2 collection, $3 the ids; DocumentRow rows in no particular order. */
export function getDocumentsSql(includeEmbedding: boolean): string {
  return (
    `SELECT id, content, metadata, created_at, updated_at${includeEmbedding ? ', embedding::text AS embedding' : ''} ` +
    `FROM documents WHERE tenant_id = $1 AND collection = $2 AND id = ANY($3::text[])`
  );
}

/** The documents matching `where`, deleted. */
export function deleteWhereSql(tenantId: string, collection: string, where: MetadataFilter): { text: string; values: unknown[] } {
  const ctx = queryContext({ tenantId, collection, where });
  return { text: `DELETE FROM documents d WHERE d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND ${ctx.filter}`, values: ctx.params.values };
}

/** A page of DocumentRow rows in id order, after the id `after` when given. */
export function listDocumentsSql(
  tenantId: string,
  collection: string,
  page: { where?: MetadataFilter | undefined; after?: string | undefined; limit: number; includeEmbedding: boolean },
): { text: string; values: unknown[] } {
  const ctx = queryContext({ tenantId, collection, where: page.where });
  const after = page.after === undefined ? '' : ` AND d.id > ${ctx.params.add(page.after)}`;
  return {
    text:
      `SELECT d.id, d.content, d.metadata, d.created_at, d.updated_at${page.includeEmbedding ? ', d.embedding::text AS embedding' : ''} ` +
      `FROM documents d WHERE d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND ${ctx.filter}${after} ` +
      `ORDER BY d.id LIMIT ${ctx.params.add(page.limit, 'int')}`,
    values: ctx.params.values,
  };
}

/** One row `{ n }`: the number of documents matching `where` (bigint, as text). */
export function countDocumentsSql(tenantId: string, collection: string, where: MetadataFilter | undefined): { text: string; values: unknown[] } {
  const ctx = queryContext({ tenantId, collection, where });
  return { text: `SELECT count(*) AS n FROM documents d WHERE d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND ${ctx.filter}`, values: ctx.params.values };
}
