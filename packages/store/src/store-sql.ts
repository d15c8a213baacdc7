// The SQL of CairnStore, one statement per operation. Every statement filters by tenant first;
// every value is a bind parameter (SqlParams); the only text spliced in is Cairn's own: column
// names, the filter compiler's output, and the validated integer dimension the partial vector
// indexes are declared with (a literal, so the planner can match `vector_dims(embedding) = N`).
import { SqlParams, compileFilter, type Row } from '@cairn/db';
import type { FilterNode } from '@cairn/core';
import { hasWildcard, type PlannedList, type PlannedPut, type PlannedSearch } from './operations.js';
import { namespacePath } from './namespace.js';

/** A statement and its parameters. */
export interface Statement {
  /** Set on the statements whose text never varies: prepared once per connection. */
  readonly name?: string;
  readonly text: string;
  readonly values: unknown[];
}

/** An item as the statements return it. */
export type ItemRow = Row<'store_items', 'namespace' | 'key' | 'value' | 'created_at' | 'updated_at' | 'ttl_minutes'>;
/** An item with its similarity. */
export type ScoredItemRow = ItemRow & { score: number };

const ITEM_COLUMNS = 'i.namespace, i.key, i.value, i.created_at, i.updated_at, i.ttl_minutes';
const NOT_EXPIRED = (column: string, now: string) => `(${column} IS NULL OR ${column} > ${now})`;

/** The text pgvector parses as a vector (and a halfvec). */
export function vectorText(vector: readonly number[]): string {
  return `[${vector.join(',')}]`;
}

/**
 * `column` lies under `prefix`: the path itself, or the path and `.` then anything, as a range in
 * code-point order (which the C-collation namespace index answers) narrowed to those two cases.
 */
function prefixSql(column: string, prefix: readonly string[], params: SqlParams): string {
  if (prefix.length === 0) return 'TRUE';
  const path = namespacePath(prefix);
  const low = params.add(path);
  // '/' follows '.' in code-point order: [path, path + '/') holds every path under the prefix.
  return `(${column} COLLATE "C" >= ${low} AND ${column} COLLATE "C" < ${params.add(`${path}/`)} AND (${column} = ${low} OR ${column} COLLATE "C" >= ${params.add(`${path}.`)}))`;
}

/**
 * Moves the expiry of items a read returned to now + their own ttl (the items without one, or
 * expired since, are left alone). A statement of its own, run only when a read returned an item
 * with a ttl, so that reads of items without one stay plain SELECTs.
 */
export function refreshSql(tenantId: string, now: Date, rows: readonly { namespace: string; key: string }[]): Statement {
  const text = `UPDATE store_items s SET expires_at = $2::timestamptz + s.ttl_minutes * interval '1 minute'
      FROM unnest($3::text[], $4::text[]) AS r(namespace, key)
     WHERE s.tenant_id = $1 AND s.namespace = r.namespace AND s.key = r.key AND s.ttl_minutes IS NOT NULL AND s.expires_at > $2`;
  return { text, values: [tenantId, now, rows.map((r) => r.namespace), rows.map((r) => r.key)] };
}

export function getSql(tenantId: string, namespace: string, key: string, now: Date): Statement {
  const text = `SELECT ${ITEM_COLUMNS} FROM store_items i
     WHERE i.tenant_id = $1 AND i.namespace = $2 AND i.key = $3 AND ${NOT_EXPIRED('i.expires_at', '$4')}`;
  return { name: 'cairn_store_get', text, values: [tenantId, namespace, key, now] };
}

/**
 * The upsert of an item. An expired row still awaiting the sweeper is a new item: its createdAt
 * restarts. With `dropVectors` (a store without semantic search) the item's vectors go in the same
 * statement: every put replaces them, so they always describe the current value.
 */
export function putSql(tenantId: string, op: PlannedPut, now: Date, ttl: number | undefined, dropVectors: boolean): Statement {
  if (op.value === null) {
    return { text: 'DELETE FROM store_items WHERE tenant_id = $1 AND namespace = $2 AND key = $3', values: [tenantId, op.namespace, op.key] };
  }
  const expires = ttl === undefined ? null : new Date(now.getTime() + ttl * 60_000);
  const text = `WITH item AS (
    INSERT INTO store_items AS s (tenant_id, namespace, key, value, created_at, updated_at, expires_at, ttl_minutes)
    VALUES ($1, $2, $3, $4::jsonb, $5, $5, $6, $7)
    ON CONFLICT (tenant_id, namespace, key) DO UPDATE SET
      value = EXCLUDED.value,
      created_at = CASE WHEN s.expires_at IS NOT NULL AND s.expires_at <= EXCLUDED.updated_at THEN EXCLUDED.created_at ELSE s.created_at END,
      updated_at = EXCLUDED.updated_at,
      expires_at = EXCLUDED.expires_at,
      ttl_minutes = EXCLUDED.ttl_minutes
    RETURNING 1
  )${dropVectors ? ', stale AS (DELETE FROM store_vectors WHERE tenant_id = $1 AND namespace = $2 AND key = $3)' : ''}
  SELECT count(*) FROM item`;
  return { text, values: [tenantId, op.namespace, op.key, JSON.stringify(op.value), now, expires, ttl ?? null] };
}

/**
 * Replaces an item's vectors with these fields' (none: all go). Runs after putSql in the same
 * transaction: the upsert holds the item's row lock, and this statement's snapshot, taken after
 * it, sees every vector an earlier writer of the item committed (one statement doing both would
 * miss those and leave a mix of two writers' fields).
 */
export function vectorsSql(tenantId: string, namespace: string, key: string, fields: readonly string[], vectors: readonly string[]): Statement {
  const text = `WITH stale AS (
    DELETE FROM store_vectors WHERE tenant_id = $1 AND namespace = $2 AND key = $3 AND field <> ALL($4::text[])
  )${
    fields.length === 0
      ? ''
      : `, fresh AS (
    INSERT INTO store_vectors (tenant_id, namespace, key, field, embedding)
    SELECT $1, $2, $3, f.field, f.embedding::vector FROM unnest($4::text[], $5::text[]) AS f(field, embedding)
    ON CONFLICT (tenant_id, namespace, key, field) DO UPDATE SET embedding = EXCLUDED.embedding)`
  }
  SELECT 1`;
  const values: unknown[] = [tenantId, namespace, key, fields];
  if (fields.length > 0) values.push(vectors);
  return { text, values };
}

function filterSql(filter: FilterNode, column: string, params: SqlParams): string {
  const sql = compileFilter(filter, column, params);
  return sql === 'TRUE' ? '' : ` AND ${sql}`;
}

const RECENCY = 'i.updated_at DESC, i.namespace COLLATE "C", i.key COLLATE "C"';

/** A search without a query: newest update first. */
export function listItemsSql(tenantId: string, op: PlannedSearch, now: Date): Statement {
  const params = new SqlParams([tenantId, now]);
  const where = `i.tenant_id = $1 AND ${NOT_EXPIRED('i.expires_at', '$2')} AND ${prefixSql('i.namespace', op.prefix, params)}${filterSql(op.filter, 'i.value', params)}`;
  const text = `SELECT ${ITEM_COLUMNS} FROM store_items i WHERE ${where}
     ORDER BY ${RECENCY} LIMIT ${params.add(op.limit)} OFFSET ${params.add(op.offset)}`;
  return { text, values: params.values };
}

/**
 * A search ranked by similarity to `query`. Approximate: the partial HNSW index of the dimension
 * (on half-precision casts) yields `candidates` vector rows in order, with the filters applied
 * during the scan (the caller enables pgvector's iterative scan, so filtered rows do not leave the
 * page short); each item keeps its best field, ranked by exact full-precision cosine distance.
 * Exact: every matching vector is compared.
 */
export function semanticSql(tenantId: string, op: PlannedSearch, query: readonly number[], dims: number, now: Date, candidates: number | undefined): Statement {
  const params = new SqlParams([tenantId, now, vectorText(query)]);
  const where =
    `v.tenant_id = $1 AND vector_dims(v.embedding) = ${dims} AND ${prefixSql('v.namespace', op.prefix, params)}` +
    ` AND ${NOT_EXPIRED('i.expires_at', '$2')}${filterSql(op.filter, 'i.value', params)}`;
  const scan =
    candidates === undefined
      ? ''
      : ` ORDER BY v.embedding::halfvec(${dims}) <=> $3::vector::halfvec(${dims}) LIMIT ${params.add(candidates)}`;
  const text = `WITH candidates AS MATERIALIZED (
    SELECT v.namespace, v.key, v.embedding <=> $3::vector AS distance
      FROM store_vectors v
      JOIN store_items i ON i.tenant_id = v.tenant_id AND i.namespace = v.namespace AND i.key = v.key
     WHERE ${where}${scan}
  ), best AS (
    SELECT namespace, key, min(distance) AS distance FROM candidates GROUP BY namespace, key
  ), page AS (
    SELECT namespace, key, distance FROM best
     ORDER BY distance, namespace COLLATE "C", key COLLATE "C" LIMIT ${params.add(op.limit)} OFFSET ${params.add(op.offset)}
  )
  SELECT ${ITEM_COLUMNS}, 1 - p.distance AS score
    FROM page p JOIN store_items i ON i.tenant_id = $1 AND i.namespace = p.namespace AND i.key = p.key
   ORDER BY p.distance, i.namespace COLLATE "C", i.key COLLATE "C"`;
  return { text, values: params.values };
}

/** listNamespaces: distinct namespaces (cut to maxDepth) of live items, in code-point order of their paths. */
export function listNamespacesSql(tenantId: string, op: PlannedList, now: Date): Statement {
  const params = new SqlParams([tenantId, now]);
  const fast: string[] = [];
  const labelled: string[] = [];
  for (const c of op.conditions) {
    if (c.path.length === 0) continue;
    if (c.matchType === 'prefix' && !hasWildcard(c.path)) {
      fast.push(prefixSql('namespace', c.path, params));
      continue;
    }
    labelled.push(`cardinality(labels) >= ${c.path.length}`);
    c.path.forEach((label, i) => {
      if (label === '*') return;
      const at = c.matchType === 'prefix' ? String(i + 1) : `cardinality(labels) - ${c.path.length - 1 - i}`;
      labelled.push(`labels[${at}] = ${params.add(label)}`);
    });
  }
  const live = `tenant_id = $1 AND ${NOT_EXPIRED('expires_at', '$2')}${fast.map((f) => ` AND ${f}`).join('')}`;
  if (labelled.length === 0 && op.maxDepth === undefined) {
    // A skip scan: from each namespace found, the next one is the first live row past it on the
    // (tenant_id, namespace COLLATE "C", key) index, one probe per namespace rather than a pass over
    // every item, stopping once the page is full.
    const wanted = params.add(op.limit + op.offset);
    const first = `SELECT namespace COLLATE "C" AS path FROM store_items WHERE ${live} ORDER BY namespace COLLATE "C" LIMIT 1`;
    const next = `SELECT namespace COLLATE "C" FROM store_items WHERE ${live} AND namespace COLLATE "C" > ns.path ORDER BY namespace COLLATE "C" LIMIT 1`;
    const text = `WITH RECURSIVE ns(path, n) AS (
        (SELECT path, 1 FROM (${first}) f)
        UNION ALL
        SELECT (${next}), ns.n + 1 FROM ns WHERE ns.path IS NOT NULL AND ns.n < ${wanted}
      )
      SELECT path FROM ns WHERE path IS NOT NULL ORDER BY path COLLATE "C" LIMIT ${params.add(op.limit)} OFFSET ${params.add(op.offset)}`;
    // The text depends only on how many prefix conditions there are.
    return { name: `cairn_store_namespaces_${fast.length}`, text, values: params.values };
  }
  // Splitting into labels costs a little per row: only when a condition or maxDepth needs them.
  const source = `SELECT DISTINCT ${op.maxDepth === undefined ? 'namespace' : `array_to_string(labels[1:${params.add(op.maxDepth)}::int], '.')`} COLLATE "C" AS path
      FROM (SELECT namespace, string_to_array(namespace, '.') AS labels FROM store_items WHERE ${live}) n
     ${labelled.length > 0 ? `WHERE ${labelled.join(' AND ')}` : ''}`;
  const text = `SELECT path FROM (${source}) t ORDER BY path LIMIT ${params.add(op.limit)} OFFSET ${params.add(op.offset)}`;
  return { text, values: params.values };
}

/** One batch of the sweep: up to `batchSize` of the tenant's expired items, with their vectors (cascade). */
export function sweepSql(tenantId: string, now: Date, batchSize: number): Statement {
  const text = `WITH doomed AS (
    SELECT namespace, key FROM store_items WHERE tenant_id = $1 AND expires_at <= $2
     ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED)
  DELETE FROM store_items s USING doomed d WHERE s.tenant_id = $1 AND s.namespace = d.namespace AND s.key = d.key`;
  return { text, values: [tenantId, now, batchSize] };
}
