// The SQL of vector and hybrid search.
//
// Index tuning (hnsw.ef_search, hnsw.iterative_scan, ivfflat.probes, …) must be in force when the
// index scan starts, and must not leak into the pooled connection. A transaction with SET LOCAL
// costs four round trips; instead the statement calls set_config(…, is_local => true) in a
// one-row subquery that the index scan depends on through LATERAL, so the settings are applied
// before the scan's first tuple and end with the statement's own transaction.
//
// Every vector index is a partial expression index for one dimension N (on `embedding::halfvec(N)`
// or `::vector(N)`, `WHERE vector_dims(embedding) = N`): the planner uses one only when the query
// orders by the same expression and its WHERE implies the predicate, so every statement here
// filters on `vector_dims(d.embedding) = N`, with N a literal (a generic plan still proves it).
//
// Filters and the tenant/collection predicate are applied during the index scan. pgvector 0.8's
// iterative scan keeps scanning until k rows pass them (or maxScanTuples is reached). When the
// scan still comes up short, the answer comes from an exact scan instead: for searchByVector as a
// second statement (only then), for hybrid search inside the same statement, where a one-time
// filter skips the exact branch entirely when the index branch filled its quota.
import { compileFilter, filterUsesMetadataIndex, type MetadataFilter } from './filter.js';
import { SqlParams } from '@cairn/db';
import { METRIC_SQL, type Metric } from './vector.js';

/** Everything a vector candidate query needs. */
export interface VectorQuery {
  tenantId: string;
  collection: string;
  metric: Metric;
  /** The query vector in pgvector's binary format (encodeVector). */
  vector: Buffer;
  where: MetadataFilter | undefined;
  /** Rows wanted from the vector side. */
  limit: number;
  efSearch: number;
  probes: number;
  iterativeScan: 'relaxed_order' | 'strict_order' | 'off';
  maxScanTuples: number;
  exact: boolean;
  exactFallback: boolean;
  /** pgvector >= 0.8 (iterative scan settings exist). */
  iterativeScans: boolean;
  /** The collection's vector length N (an integer from the registry, never from a caller's SQL). */
  dimensions: number;
  /**
   * Set when an index serves the search, on `embedding::halfvec(N)` ('half') or
   * `embedding::vector(N)` ('full'): the scan orders by that expression (so the planner matches the
   * index) and takes `candidates` rows, which are then re-ranked by their exact distance and cut to
   * `limit`.
   */
  index: { precision: 'half' | 'full'; candidates: number } | undefined;
  /** Extra columns every candidate row carries besides id and distance, each `<expression> AS <name>`. */
  carry: readonly string[];
}

/** Shared placeholders of one statement: tenant, collection, vector and the compiled filter. */
export interface QueryContext {
  params: SqlParams;
  tenant: string;
  collection: string;
  vector: string;
  filter: string;
  /** The collection's dimension, for `vector_dims(d.embedding) = N` (vector statements; the others need none). */
  dimensions: number | undefined;
}

/** Starts a statement: tenant and collection are $1 and $2, then the filter's values. */
export function queryContext(q: Pick<VectorQuery, 'tenantId' | 'collection' | 'where'> & Partial<Pick<VectorQuery, 'dimensions'>>, vector?: Buffer): QueryContext {
  const params = new SqlParams();
  const tenant = params.add(q.tenantId);
  const collection = params.add(q.collection);
  const filter = compileFilter(q.where, params);
  return { params, tenant, collection, vector: vector === undefined ? '' : params.add(vector, 'vector'), filter, dimensions: q.dimensions === undefined ? undefined : Math.trunc(q.dimensions) };
}

/** The exact statement: every matching row's distance, the k smallest. */
function exactSelect(ctx: QueryContext, q: VectorQuery, limit: string): string {
  const op = METRIC_SQL[q.metric].operator;
  const carried = q.carry.map((c) => `, ${c}`).join('');
  // OFFSET 0 keeps the subquery from being flattened, so ORDER BY sorts the computed distance
  // (one distance per row) and the planner cannot turn it back into an index scan.
  return (
    `SELECT e.* FROM (SELECT d.id, d.embedding ${op} ${ctx.vector} AS distance${carried} FROM documents d ` +
    `WHERE ${rowFilter(ctx)} OFFSET 0) e ORDER BY e.distance LIMIT ${limit}`
  );
}

/**
 * The index statement: the tuning applied by set_config in a subquery the scan depends on (see the
 * top). On a half-precision index, ordered by the halfvec cast and re-ranked by exact distance.
 */
function approxSelect(ctx: QueryContext, q: VectorQuery, limit: string): string {
  const { params } = ctx;
  const op = METRIC_SQL[q.metric].operator;
  const carried = q.carry.map((c) => `, ${c}`).join('');
  const settings: string[] = [`set_config('hnsw.ef_search', ${params.add(String(q.efSearch))}, true)`];
  settings.push(`set_config('ivfflat.probes', ${params.add(String(q.probes))}, true)`);
  if (q.iterativeScans) {
    settings.push(`set_config('hnsw.iterative_scan', ${params.add(q.iterativeScan)}, true)`);
    settings.push(`set_config('hnsw.max_scan_tuples', ${params.add(String(q.maxScanTuples))}, true)`);
    // IVFFlat has no strict order mode.
    settings.push(`set_config('ivfflat.iterative_scan', ${params.add(q.iterativeScan === 'off' ? 'off' : 'relaxed_order')}, true)`);
  }
  // The dimension is the registry's (an integer), never a caller's text.
  const cast = q.index === undefined ? undefined : `${q.index.precision === 'half' ? 'halfvec' : 'vector'}(${ctx.dimensions})`;
  const order = cast === undefined ? `d.embedding ${op} ${ctx.vector}` : `(d.embedding::${cast}) ${op} (${ctx.vector}::${cast})`;
  const taken = q.index === undefined || q.index.candidates <= q.limit ? limit : params.add(q.index.candidates, 'int');
  const scan =
    `SELECT s.* FROM (SELECT ${settings.join(' || ')} AS applied OFFSET 0) cfg ` +
    `CROSS JOIN LATERAL (SELECT d.id, d.embedding ${op} ${ctx.vector} AS distance${carried} FROM documents d ` +
    `WHERE cfg.applied IS NOT NULL AND ${rowFilter(ctx)} ORDER BY ${order} LIMIT ${taken}) s`;
  return taken === limit ? scan : `SELECT r.* FROM (${scan}) r ORDER BY r.distance LIMIT ${limit}`;
}

/** The rows a vector search considers; `vector_dims` is the predicate of the dimension's indexes. */
function rowFilter(ctx: QueryContext): string {
  const dims = ctx.dimensions === undefined ? '' : ` AND vector_dims(d.embedding) = ${ctx.dimensions}`;
  return `d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND d.embedding IS NOT NULL${dims} AND ${ctx.filter}`;
}

/**
 * CTEs ending in one named `name` with columns (id, distance, …carry), at most `limit` rows, the
 * nearest first (relaxed order; callers sort). With `exactFallback`, a one-time filter runs the
 * exact branch only when the index branch returned fewer than `limit` rows.
 */
export function vectorCandidateCtes(ctx: QueryContext, q: VectorQuery, name: string): string {
  const limit = ctx.params.add(q.limit, 'int');
  if (q.exact) return `${name} AS MATERIALIZED (${exactSelect(ctx, q, limit)})`;
  const approx = `${name}_approx AS MATERIALIZED (${approxSelect(ctx, q, limit)})`;
  if (!q.exactFallback) return `${approx}, ${name} AS (SELECT * FROM ${name}_approx)`;
  const columns = ['id', 'distance', ...q.carry.map((c) => c.split(' AS ')[1])].join(', ');
  return (
    `${approx}, ${name}_exact AS (${exactSelect(ctx, q, limit)}), ` +
    `${name} AS (SELECT ${columns} FROM ${name}_approx WHERE (SELECT count(*) FROM ${name}_approx) >= ${limit} ` +
    `UNION ALL SELECT ${columns} FROM ${name}_exact WHERE (SELECT count(*) FROM ${name}_approx) < ${limit})`
  );
}

/**
 * A filtered statement that counts the filter's matches (stopping past `exactFilterLimit`) and
 * runs exactly one of its branches, picked by a one-time filter: exact search when the filter is
 * that selective, the index scan otherwise. An HNSW scan under a 1% filter must walk past ~99
 * rejected neighbours per accepted one and, bounded by maxScanTuples, returns approximate
 * results; exact search over a few thousand rows found through the metadata index is both
 * faster and exact. Only for filters that index can serve (filterUsesMetadataIndex): counting
 * the matches of a range filter would read the whole collection.
 */
function selectiveFilterSelect(ctx: QueryContext, q: VectorQuery, limit: string, exactFilterLimit: number): string {
  const cap = ctx.params.add(exactFilterLimit, 'int');
  const small = `(SELECT count(*) <= ${cap} FROM (SELECT 1 FROM documents d WHERE ${rowFilter(ctx)} LIMIT ${cap} + 1) m)`;
  return (
    `WITH small AS MATERIALIZED (SELECT ${small} AS yes) ` +
    `SELECT x.* FROM (${exactSelect(ctx, q, limit)}) x WHERE (SELECT yes FROM small) ` +
    `UNION ALL SELECT y.* FROM (${approxSelect(ctx, q, limit)}) y WHERE NOT (SELECT yes FROM small)`
  );
}

/**
 * searchByVector's statements: rows (id, content, metadata, distance[, embedding]), at most k, in
 * relaxed order (the caller sorts). The index statement carries no fallback branch, so it plans as
 * fast as a hand-written query; the caller runs the exact one when it comes up short (a second
 * round trip, only then). A filtered search first checks whether its filter is selective enough
 * for exact search (see selectiveFilterSelect), in the same statement.
 */
export function vectorSearchSql(q: VectorQuery & { includeEmbedding: boolean; exactFilterLimit: number }): { text: string; values: unknown[] } {
  const ctx = queryContext(q, q.vector);
  const carry = ['d.content AS content', 'd.metadata AS metadata', ...(q.includeEmbedding ? ['d.embedding::text AS embedding'] : [])];
  const query = { ...q, carry };
  const limit = ctx.params.add(q.limit, 'int');
  if (q.exact) return { text: exactSelect(ctx, query, limit), values: ctx.params.values };
  const text = q.exactFilterLimit > 0 && filterUsesMetadataIndex(q.where) ? selectiveFilterSelect(ctx, query, limit, q.exactFilterLimit) : approxSelect(ctx, query, limit);
  return { text, values: ctx.params.values };
}

/** What hybridSearchSql needs on top of the vector query. */
export interface HybridQuery extends Omit<VectorQuery, 'vector' | 'carry'> {
  vector: Buffer | undefined;
  text: string;
  language: string;
  k: number;
  weights: { vector: number; text: number };
  rrfK: number;
  minScore: number | undefined;
  includeEmbedding: boolean;
}

/**
 * Hybrid search in one statement: the vector candidates and the full-text candidates
 * (websearch_to_tsquery in the collection's language, ranked by ts_rank_cd normalised by document
 * length) fused by weighted reciprocal rank fusion, score = Σ weight / (rrfK + rank).
 */
export function hybridSearchSql(q: HybridQuery): { text: string; values: unknown[] } {
  const ctx = queryContext(q, q.vector);
  const { params } = ctx;
  const ctes: string[] = [];
  const arms: string[] = [];
  if (q.weights.vector > 0 && q.vector !== undefined) {
    ctes.push(vectorCandidateCtes(ctx, { ...q, vector: q.vector, carry: [] }, 'vec'));
    ctes.push(`vec_ranked AS (SELECT id, distance, row_number() OVER (ORDER BY distance, id) AS rank FROM vec)`);
    arms.push(
      `SELECT id, ${params.add(q.weights.vector, 'float8')} / (${params.add(q.rrfK, 'float8')} + rank) AS score, rank AS vector_rank, NULL::bigint AS text_rank, distance FROM vec_ranked`,
    );
  }
  if (q.weights.text > 0) {
    const tsquery = `websearch_to_tsquery(${params.add(q.language, 'regconfig')}, ${params.add(q.text)})`;
    ctes.push(
      `fts AS MATERIALIZED (SELECT t.id, row_number() OVER (ORDER BY t.rank DESC, t.id) AS rank FROM ` +
        `(SELECT d.id, ts_rank_cd(d.tsv, tq.query, 1) AS rank FROM documents d, ${tsquery} AS tq(query) ` +
        `WHERE d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND d.tsv @@ tq.query AND ${ctx.filter} ` +
        `ORDER BY rank DESC, d.id LIMIT ${params.add(q.limit, 'int')}) t)`,
    );
    arms.push(
      `SELECT id, ${params.add(q.weights.text, 'float8')} / (${params.add(q.rrfK, 'float8')} + rank) AS score, NULL::bigint AS vector_rank, rank AS text_rank, NULL::float8 AS distance FROM fts`,
    );
  }
  ctes.push(
    `fused AS (SELECT id, sum(score) AS score, max(vector_rank) AS vector_rank, max(text_rank) AS text_rank, max(distance) AS distance ` +
      `FROM (${arms.join(' UNION ALL ')}) u GROUP BY id ORDER BY score DESC, id LIMIT ${params.add(q.k, 'int')})`,
  );
  const cut = q.minScore === undefined ? '' : ` WHERE f.score >= ${params.add(q.minScore, 'float8')}`;
  const text =
    `WITH ${ctes.join(', ')} SELECT d.id, d.content, d.metadata, f.score, f.vector_rank, f.text_rank, f.distance` +
    `${q.includeEmbedding ? ', d.embedding::text AS embedding' : ''} FROM fused f ` +
    `JOIN documents d ON d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND d.id = f.id${cut} ` +
    `ORDER BY f.score DESC, d.id`;
  return { text, values: params.values };
}
