// Runtime vector index management on `documents.embedding`: HNSW or IVFFlat, per dimension and
// metric, for the whole table or one collection (a partial index), plus drop and rebuild.
//
// The column has no declared dimension (collections of any dimension share it), so every index is
// a partial expression index for one dimension N: on `embedding::halfvec(N)` (or `::vector(N)`),
// `WHERE vector_dims(embedding) = N` (a collection's own adds its tenant and name). The predicate is
// what lets rows of other dimensions in: the cast is evaluated only for the rows an index covers.
// Searches repeat the cast and the predicate, so the planner matches the index.
//
// Indexes are table-wide objects, but management is tenant-scoped: a Rag sees and changes the
// shared indexes (no predicate, serving every tenant) and its own tenant's partial indexes, never
// another tenant's (their names and predicates name that tenant's collections). listAllVectorIndexes
// is the one cross-tenant read, and says so.
//
// Indexes are on the half-precision cast by default (the migration's too):
// about 40% smaller than on the full vectors, faster to insert into, and HNSW takes up to 4000
// dimensions that way. The column keeps full precision and searches re-rank the index's candidates
// by their exact distance, so results and scores are full precision.
//
// The migrations ship one index, HNSW with cosine for 384 dimensions; opening a collection of
// another dimension or metric ensures one for it (ensureVectorIndex). Indexes made here live outside Prisma's
// migrations: they are named `cairn_rag_…` so they are easy to tell apart, and `prisma migrate dev`
// on a development database reports them as drift (it would drop them on reset). That is the
// trade-off of choosing metrics and collections at runtime; an index every deployment needs
// belongs in a migration instead (see the README).
//
// Every statement runs through RagStorage: catalog reads are retried; the DDL is idempotent
// (IF [NOT] EXISTS, REINDEX), so it is retried too, a concurrent build after dropping what a build
// cut short left behind. A failure to reach PostgreSQL is a StorageUnavailableError, whatever step it hit.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { StorageUnavailableError, parseInput } from '@cairn/core';
import { VectorIndexError } from './errors.js';
import { CollectionNameSchema, MaintenanceWorkMemSchema, ParallelWorkersSchema } from './options.js';
import type { Queryable, RagStorage } from './storage.js';
import { METRIC_SQL, METRICS, type Metric } from './vector.js';

/** Prefix of every index this module creates (and the only ones it drops). */
export const MANAGED_INDEX_PREFIX = 'cairn_rag_';
const MANAGED_NAME = /^cairn_rag_[a-z0-9_]{1,53}$/;
const ANY_INDEX_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;
const SHARED_PREDICATE = /^\(vector_dims\(embedding\) = (\d+)\)$/;
const PARTIAL_PREDICATE = /^\(\(tenant_id = '([^']*)'::text\) AND \(collection = '([^']*)'::text\) AND \(vector_dims\(embedding\) = (\d+)\)\)$/;
/** The indexed expression's type, as format_type prints the index's column: `halfvec(384)`, `vector(1536)`. */
const INDEXED_TYPE = /^(halfvec|vector)\((\d+)\)$/;
/** The HNSW cosine index for 384 dimensions the migrations create. */
export const MIGRATION_INDEX_NAME = 'documents_embedding_hnsw_cosine_idx';

const buildSettings = {
  maintenanceWorkMem: MaintenanceWorkMemSchema,
  parallelWorkers: ParallelWorkersSchema,
  /**
   * Build without blocking writes (CREATE/REINDEX … CONCURRENTLY): slower, cannot run in a
   * transaction; a failed concurrent build's invalid index is dropped. @defaultValue false
   */
  concurrently: z.boolean().default(false),
};

export const CreateIndexOptionsSchema = z
  .object({
    /** @defaultValue 'hnsw' */
    type: z.enum(['hnsw', 'ivfflat']).default('hnsw'),
    /** The dimension of the vectors the index holds (a partial index: `vector_dims(embedding) = dimensions`). */
    dimensions: z.number().int().min(1).max(16_000),
    /** Metric whose operator the index serves. @defaultValue 'cosine' */
    metric: z.enum(METRICS).default('cosine'),
    /**
     * What the index stores: `'half'` indexes `embedding::halfvec(N)` (smaller, faster to build and
     * insert into, up to 4000 dimensions; searches re-rank by exact distance), `'full'`
     * `embedding::vector(N)`, the vectors themselves (up to 2000 dimensions). @defaultValue 'half'
     */
    precision: z.enum(['half', 'full']).default('half'),
    /** HNSW: links per node. Higher: better recall, bigger and slower to build. @defaultValue 16 */
    m: z.number().int().min(2).max(100).default(16),
    /** HNSW: candidate list while building; at least 2·m. @defaultValue 64 */
    efConstruction: z.number().int().min(4).max(1000).default(64),
    /** IVFFlat: number of lists (rows/1000 up to 1M rows, √rows above is the usual start). Build after loading data. @defaultValue 100 */
    lists: z.number().int().min(1).max(32_768).default(100),
    /** Only this collection (of the Rag's tenant): a partial index, smaller and faster for it. */
    collection: CollectionNameSchema.optional(),
    /** Index name; must start with `cairn_rag_`. @defaultValue derived from type, metric, precision, dimensions and collection */
    name: z.string().regex(MANAGED_NAME, 'must match cairn_rag_[a-z0-9_]{1,53}').optional(),
    ...buildSettings,
  })
  .strict()
  .refine((o) => o.type !== 'hnsw' || o.efConstruction >= 2 * o.m, { message: 'efConstruction must be at least 2·m', path: ['efConstruction'] });
/** Options of createIndex(). */
export type CreateIndexOptions = z.input<typeof CreateIndexOptionsSchema>;

export const RebuildIndexOptionsSchema = z.object(buildSettings).strict();
/** Options of rebuildIndex(). */
export type RebuildIndexOptions = z.input<typeof RebuildIndexOptionsSchema>;

export const DropIndexOptionsSchema = z.object({ concurrently: buildSettings.concurrently }).strict();
/** Options of dropIndex(). */
export type DropIndexOptions = z.input<typeof DropIndexOptionsSchema>;

/** A vector index on documents.embedding, as the catalog describes it. */
export interface VectorIndexInfo {
  name: string;
  type: 'hnsw' | 'ivfflat';
  /** Metric served, or null for an operator class Cairn does not use (e.g. bit). */
  metric: Metric | null;
  /** `'half'` for an index on `embedding::halfvec(N)`, `'full'` for one on `embedding::vector(N)`; null for other operator classes. */
  precision: 'half' | 'full' | null;
  /** The dimension N of the indexed cast, or null when the index is on something else. */
  dimensions: number | null;
  /** Build parameters from the index's storage options, e.g. { m: 16, ef_construction: 64 } or { lists: 100 }. */
  parameters: Record<string, number>;
  /** The collection a partial index covers, or null for the whole table (its rows of `dimensions`). */
  partial: { tenantId: string; collection: string } | null;
  /**
   * Whom the index serves: 'shared', the whole table's rows of its dimension (every tenant; the
   * predicate `vector_dims(embedding) = N` only); 'collection', one tenant's collection (`partial`
   * says which); 'other', a predicate @cairn/rag did not write (a hand-made partial index), which no
   * tenant's listIndexes shows.
   */
  scope: IndexScope;
  /** False while a concurrent build runs, or after one failed. */
  valid: boolean;
  sizeBytes: number;
  /** 'migration' for the migrations' index, 'cairn-rag' for `cairn_rag_*`, else 'other'. */
  managedBy: 'migration' | 'cairn-rag' | 'other';
  /** CREATE INDEX statement, from pg_get_indexdef. */
  definition: string;
}

/** Whom a vector index serves (see VectorIndexInfo.scope). */
export type IndexScope = 'shared' | 'collection' | 'other';

/** Result of createIndex(). */
export interface CreateIndexResult {
  index: VectorIndexInfo;
  /** False when an index of that name already existed (it is returned unchanged). */
  created: boolean;
}

function operatorClassOf(opclass: string): { metric: Metric; precision: 'half' | 'full' } | null {
  for (const metric of METRICS) {
    if (METRIC_SQL[metric].opclass === opclass) return { metric, precision: 'full' };
    if (METRIC_SQL[metric].halfOpclass === opclass) return { metric, precision: 'half' };
  }
  return null;
}

/** Lists the HNSW and IVFFlat indexes on documents.embedding, on a client (a transaction's). */
export async function listVectorIndexes(client: Queryable): Promise<VectorIndexInfo[]> {
  const { rows } = await client.query<{
    name: string;
    method: 'hnsw' | 'ivfflat';
    opclass: string;
    valid: boolean;
    size_bytes: string;
    definition: string;
    reloptions: string[] | null;
    predicate: string | null;
    indexed_type: string | null;
  }>(
    `SELECT c.relname AS name, am.amname AS method, opc.opcname AS opclass, i.indisvalid AS valid,
            pg_relation_size(c.oid)::text AS size_bytes, pg_get_indexdef(c.oid) AS definition, c.reloptions,
            pg_get_expr(i.indpred, i.indrelid) AS predicate,
            (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attnum = 1) AS indexed_type
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indexrelid
       JOIN pg_am am ON am.oid = c.relam
       JOIN pg_opclass opc ON opc.oid = i.indclass[0]
      WHERE i.indrelid = to_regclass('documents') AND am.amname IN ('hnsw', 'ivfflat')
      ORDER BY c.relname`,
  );
  return rows.map((r) => {
    const parameters: Record<string, number> = {};
    for (const option of r.reloptions ?? []) {
      const [key, value] = option.split('=');
      if (key && value !== undefined && /^\d+$/.test(value)) parameters[key] = Number(value);
    }
    // Indexes made here have exactly the predicate (vector_dims(embedding) = N), or for a collection
    // ((tenant_id = '…'::text) AND (collection = '…'::text) AND (vector_dims(embedding) = N)), with the N
    // of their cast; tenant ids and collection names are slugs, so the literals hold no quote to unescape.
    const typed = INDEXED_TYPE.exec(r.indexed_type ?? '');
    const dimensions = typed ? Number(typed[2]) : null;
    const shared = r.predicate === null || Number(SHARED_PREDICATE.exec(r.predicate)?.[1]) === dimensions;
    const partialMatch = r.predicate ? PARTIAL_PREDICATE.exec(r.predicate) : null;
    const match = partialMatch && Number(partialMatch[3]) === dimensions ? partialMatch : null;
    const served = operatorClassOf(r.opclass);
    return {
      name: r.name,
      type: r.method,
      metric: served?.metric ?? null,
      precision: served?.precision ?? null,
      dimensions,
      parameters,
      partial: match ? { tenantId: match[1]!, collection: match[2]! } : null,
      scope: shared ? 'shared' : match ? 'collection' : 'other',
      valid: r.valid,
      sizeBytes: Number(r.size_bytes),
      managedBy: r.name === MIGRATION_INDEX_NAME ? 'migration' : r.name.startsWith(MANAGED_INDEX_PREFIX) ? 'cairn-rag' : 'other',
      definition: r.definition,
    };
  });
}

/** Applies build settings on a client: transaction-local, or (for CONCURRENTLY) on a connection that is discarded afterwards. */
export async function applyBuildSettings(client: Queryable, s: { maintenanceWorkMem?: string | undefined; parallelWorkers?: number | undefined }, local: boolean) {
  if (s.maintenanceWorkMem !== undefined) await client.query(`SELECT set_config('maintenance_work_mem', $1, $2)`, [s.maintenanceWorkMem, local]);
  if (s.parallelWorkers !== undefined) {
    await client.query(`SELECT set_config('max_parallel_maintenance_workers', $1, $2)`, [String(s.parallelWorkers), local]);
  }
}

/** The vector indexes on documents, every tenant's, read through `storage` (retried). */
export function readVectorIndexes(storage: RagStorage): Promise<VectorIndexInfo[]> {
  return storage.run('listing vector indexes', () => listVectorIndexes(storage.pool));
}

/** Whether `tenantId` may see and manage `index`: a shared one, or a partial index of its own collection. */
export function isVisibleTo(index: VectorIndexInfo, tenantId: string): boolean {
  return index.scope === 'shared' || (index.scope === 'collection' && index.partial?.tenantId === tenantId);
}

/** The shared vector indexes and `tenantId`'s own partial ones (retried). */
export async function readTenantVectorIndexes(storage: RagStorage, tenantId: string): Promise<VectorIndexInfo[]> {
  return (await readVectorIndexes(storage)).filter((index) => isVisibleTo(index, tenantId));
}

/** The error for a name that is none of `tenantId`'s indexes (another tenant's looks the same as a missing one). */
function notFound(name: string, tenantId: string): VectorIndexError {
  return new VectorIndexError(
    'INDEX_NOT_FOUND',
    `No vector index named ${JSON.stringify(name)} on documents.embedding among the shared ones and tenant "${tenantId}"'s (listIndexes() lists them).`,
    { details: { name, tenantId } },
  );
}

/**
 * Runs one idempotent DDL statement with build settings, retried after transient failures.
 * Non-concurrent: in a transaction with SET LOCAL (a retry runs it again from the start).
 * Concurrent: outside any transaction, on a connection of its own (ended afterwards) so its session
 * settings never reach the pool, and behind PgBouncer are not left on a pooled server; before a retry, an invalid index named `building` (what the cut
 * build left) is dropped, since CREATE INDEX … IF NOT EXISTS would keep it.
 * A build (`building` given) first takes an advisory lock on the index's name: two processes
 * ensuring one index at once would otherwise both pass IF NOT EXISTS and the second fail on the
 * catalog's unique name; with the lock the second waits, then finds the index and does nothing.
 * Transaction-scoped for a plain build; for a concurrent one, held by its own session.
 */
async function runDdl(storage: RagStorage, operation: string, sql: string, settings: z.output<typeof RebuildIndexOptionsSchema>, building?: string): Promise<void> {
  const lockKey = building === undefined ? undefined : `cairn_rag_index:${building}`;
  if (!settings.concurrently) {
    await storage.transaction(
      operation,
      async (client) => {
        if (lockKey !== undefined) await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [lockKey]);
        await applyBuildSettings(client, settings, true);
        await client.query(sql);
      },
      'replay',
    );
    return;
  }
  await storage.run(operation, (attempt) =>
    storage.withSession(async (client) => {
      if (lockKey !== undefined) await client.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [lockKey]);
      if (attempt > 1 && building !== undefined) await dropIfInvalid(client, building);
      await applyBuildSettings(client, settings, false);
      await client.query(sql);
      // Ending the session releases it too; this keeps the wait of the next builder short.
      if (lockKey !== undefined) await client.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [lockKey]);
    }),
  );
}

/** Drops index `name` (CONCURRENTLY) when it exists and is invalid. */
async function dropIfInvalid(client: Queryable, name: string): Promise<void> {
  const { rows } = await client.query<{ sql: string }>(
    `SELECT format('DROP INDEX CONCURRENTLY IF EXISTS %I', c.relname) AS sql FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = to_regclass('documents') AND c.relname = $1 AND NOT i.indisvalid`,
    [name],
  );
  if (rows[0]) await client.query(rows[0].sql);
}

/** Builds the DDL text server-side with format(): %I quotes the name, %L the partial index's literals. */
async function formatDdl(client: Queryable, template: string, args: readonly string[]): Promise<string> {
  const placeholders = args.map((_, i) => `$${i + 2}::text`).join(', ');
  const { rows } = await client.query<{ sql: string }>(`SELECT format($1${placeholders ? `, ${placeholders}` : ''}) AS sql`, [template, ...args]);
  return rows[0]!.sql;
}

/** formatDdl on the pool, retried. */
function formatDdlRetried(storage: RagStorage, template: string, args: readonly string[]): Promise<string> {
  return storage.run('preparing index DDL', () => formatDdl(storage.pool, template, args));
}

/** What a failed build or rebuild throws: unreachable storage as such, anything else as INDEX_BUILD_FAILED. */
function buildFailure(what: string, name: string, cause: unknown): Error {
  if (cause instanceof StorageUnavailableError) return cause;
  return new VectorIndexError('INDEX_BUILD_FAILED', `${what} ${name} failed: ${(cause as Error).message}`, { cause, details: { name } });
}

/** Default index name: cairn_rag_<type>_<metric>[_half]_<dimensions>[_<12 hex of tenant/collection>]. */
function defaultIndexName(
  type: 'hnsw' | 'ivfflat',
  metric: Metric,
  precision: 'half' | 'full',
  dimensions: number,
  partial: { tenantId: string; collection: string } | undefined,
): string {
  const base = `${MANAGED_INDEX_PREFIX}${type}_${METRIC_SQL[metric].short}${precision === 'half' ? '_half' : ''}_${dimensions}`;
  if (!partial) return base;
  const hash = createHash('sha256').update(`${partial.tenantId}\u0000${partial.collection}`).digest('hex').slice(0, 12);
  return `${base}_${hash}`;
}

/** The most vectors' dimensions an index on each precision holds (pgvector's limits for HNSW and IVFFlat). */
export const INDEX_DIMENSION_LIMITS = { half: 4000, full: 2000 } as const;

/** The error for an index of more dimensions than its precision holds. */
export function tooManyDimensions(type: string, precision: 'half' | 'full', dimensions: number, name: string): VectorIndexError {
  const limit = INDEX_DIMENSION_LIMITS[precision];
  return new VectorIndexError(
    'INDEX_TOO_MANY_DIMENSIONS',
    `A ${type} index on ${precision === 'half' ? 'halfvec' : 'vector'} holds at most ${limit} dimensions; these vectors have ${dimensions}.` +
      (precision === 'full' ? " Use precision: 'half' (up to 4000)." : ' Search such a collection exactly (open it with vectorIndex: false).'),
    { details: { name, dimensions } },
  );
}

/**
 * Creates a vector index (IF NOT EXISTS) for vectors of `options.dimensions`. `tenantId` scopes a
 * partial index's collection.
 */
export async function createVectorIndex(storage: RagStorage, tenantId: string, options: CreateIndexOptions): Promise<CreateIndexResult> {
  const opts = parseInput(CreateIndexOptionsSchema, options, 'index options');
  const { dimensions } = opts;
  const partial = opts.collection === undefined ? undefined : { tenantId, collection: opts.collection };
  const name = opts.name ?? defaultIndexName(opts.type, opts.metric, opts.precision, dimensions, partial);
  if (dimensions > INDEX_DIMENSION_LIMITS[opts.precision]) throw tooManyDimensions(opts.type, opts.precision, dimensions, name);
  const before = (await readVectorIndexes(storage)).find((i) => i.name === name);
  if (before && !isVisibleTo(before, tenantId)) {
    // Neither returned nor, when invalid, dropped: it serves another tenant (or no rag scope).
    throw new VectorIndexError('INDEX_NAME_TAKEN', `The index name ${JSON.stringify(name)} is taken by an index that is not tenant "${tenantId}"'s; choose another name.`, {
      details: { name, tenantId },
    });
  }
  if (before?.valid) return { index: before, created: false };
  if (before && !before.valid) await dropVectorIndex(storage, tenantId, name, { concurrently: opts.concurrently });
  // Only validated integers and fixed operator classes reach the template; names and literals go through format().
  const withClause = opts.type === 'hnsw' ? `m = ${opts.m}, ef_construction = ${opts.efConstruction}` : `lists = ${opts.lists}`;
  const template =
    `CREATE INDEX ${opts.concurrently ? 'CONCURRENTLY ' : ''}IF NOT EXISTS %I ON documents USING ${opts.type} ` +
    (opts.precision === 'half'
      ? `((embedding::halfvec(${dimensions})) ${METRIC_SQL[opts.metric].halfOpclass})`
      : `((embedding::vector(${dimensions})) ${METRIC_SQL[opts.metric].opclass})`) +
    ` WITH (${withClause})` +
    (partial ? ` WHERE tenant_id = %L AND collection = %L AND vector_dims(embedding) = ${dimensions}` : ` WHERE vector_dims(embedding) = ${dimensions}`);
  const sql = await formatDdlRetried(storage, template, partial ? [name, partial.tenantId, partial.collection] : [name]);
  try {
    await runDdl(storage, `building index ${name}`, sql, opts, name);
  } catch (cause) {
    if (opts.concurrently) await dropVectorIndex(storage, tenantId, name, { concurrently: true }).catch(() => undefined);
    throw buildFailure('Building index', name, cause);
  }
  const index = (await readVectorIndexes(storage)).find((i) => i.name === name);
  if (!index?.valid) {
    throw new VectorIndexError('INDEX_BUILD_FAILED', `Index ${name} is not valid after its build.`, { details: { name } });
  }
  return { index, created: true };
}

/**
 * Drops a `cairn_rag_*` index that is shared or `tenantId`'s own. Returns false when no index has
 * that name; another tenant's index is refused with INDEX_NOT_FOUND, and any other name with INDEX_NOT_MANAGED.
 */
export async function dropVectorIndex(storage: RagStorage, tenantId: string, name: string, options: DropIndexOptions = {}): Promise<boolean> {
  const opts = parseInput(DropIndexOptionsSchema, options, 'drop index options');
  if (typeof name !== 'string' || !MANAGED_NAME.test(name)) {
    throw new VectorIndexError(
      'INDEX_NOT_MANAGED',
      `Refusing to drop ${JSON.stringify(name)}: only indexes named cairn_rag_* are managed at runtime. ` +
        `${name === MIGRATION_INDEX_NAME ? 'This one belongs to the migrations; change it with a migration.' : ''}`.trim(),
    );
  }
  const index = (await readVectorIndexes(storage)).find((i) => i.name === name);
  if (!index) return false;
  if (!isVisibleTo(index, tenantId)) throw notFound(name, tenantId);
  const sql = await formatDdlRetried(storage, `DROP INDEX ${opts.concurrently ? 'CONCURRENTLY ' : ''}IF EXISTS %I`, [name]);
  await runDdl(storage, `dropping index ${name}`, sql, { concurrently: opts.concurrently });
  return true;
}

/**
 * Rebuilds a vector index on documents (REINDEX), the migration's included: its definition does not
 * change. Only shared indexes and `tenantId`'s own partial ones; any other is INDEX_NOT_FOUND.
 */
export async function rebuildVectorIndex(storage: RagStorage, tenantId: string, name: string, options: RebuildIndexOptions = {}): Promise<VectorIndexInfo> {
  const opts = parseInput(RebuildIndexOptionsSchema, options, 'rebuild options');
  if (typeof name !== 'string' || !ANY_INDEX_NAME.test(name) || !(await readTenantVectorIndexes(storage, tenantId)).some((i) => i.name === name)) {
    throw notFound(String(name), tenantId);
  }
  const sql = await formatDdlRetried(storage, `REINDEX INDEX ${opts.concurrently ? 'CONCURRENTLY ' : ''}%I`, [name]);
  try {
    await runDdl(storage, `rebuilding index ${name}`, sql, opts);
  } catch (cause) {
    throw buildFailure('Rebuilding index', name, cause);
  }
  return (await readVectorIndexes(storage)).find((i) => i.name === name)!;
}

/**
 * For a bulk load, inside the caller's transaction: drops every valid vector index on documents
 * that holds vectors of `dimensions` (which locks the table until the transaction ends) and returns
 * their CREATE INDEX statements, from the catalog, for recreateVectorIndexes. Other dimensions'
 * indexes cannot hold the loaded rows, so they are left alone.
 */
export async function dropVectorIndexesForLoad(client: Queryable, dimensions: number): Promise<string[]> {
  const indexes = (await listVectorIndexes(client)).filter((i) => i.valid && (i.dimensions === dimensions || i.dimensions === null));
  for (const index of indexes) await client.query(await formatDdl(client, 'DROP INDEX %I', [index.name]));
  return indexes.map((i) => i.definition);
}

/** Re-creates indexes from the statements dropVectorIndexesForLoad returned, in the same transaction. */
export async function recreateVectorIndexes(client: Queryable, definitions: readonly string[]): Promise<void> {
  for (const definition of definitions) await client.query(definition);
}

/** What a collection's searches are served by. */
export interface IndexTarget {
  tenantId: string;
  collection: string;
  dimensions: number;
  metric: Metric;
}

/**
 * The index the planner will serve a collection's searches with: a valid one for its dimension and
 * metric, a partial index for the collection before a table-wide one (as for the planner), and at
 * equal scope a full-precision one, since it was built on purpose (half is the default).
 */
export function servingIndex(indexes: readonly VectorIndexInfo[], target: IndexTarget): VectorIndexInfo | undefined {
  let chosen: VectorIndexInfo | undefined;
  let rank = -1;
  for (const index of indexes) {
    if (!index.valid || index.metric !== target.metric || index.dimensions !== target.dimensions) continue;
    const ownPartial = index.scope === 'collection' && index.partial?.tenantId === target.tenantId && index.partial.collection === target.collection;
    if (index.scope !== 'shared' && !ownPartial) continue;
    const r = (ownPartial ? 2 : 0) + (index.precision === 'full' ? 1 : 0);
    if (r > rank) [chosen, rank] = [index, r];
  }
  return chosen;
}

export const EnsureIndexOptionsSchema = z
  .object({
    /** The dimension of the vectors to serve. */
    dimensions: z.number().int().min(1).max(16_000),
    /** @defaultValue 'cosine' */
    metric: z.enum(METRICS).default('cosine'),
    /** Of the index built when none serves yet (see CreateIndexOptions). @defaultValue 'half' */
    precision: z.enum(['half', 'full']).default('half'),
    /** @defaultValue 16 */
    m: z.number().int().min(2).max(100).default(16),
    /** @defaultValue 64 */
    efConstruction: z.number().int().min(4).max(1000).default(64),
    ...buildSettings,
  })
  .strict()
  .refine((o) => o.efConstruction >= 2 * o.m, { message: 'efConstruction must be at least 2·m', path: ['efConstruction'] });
/** Options of ensureIndex(). */
export type EnsureIndexOptions = z.input<typeof EnsureIndexOptionsSchema>;

/**
 * Makes sure a table-wide index serves vectors of `dimensions` with `metric`: returns the one that
 * does (the migration's, one created earlier, a full-precision one), or builds an HNSW index
 * `cairn_rag_hnsw_<metric>[_half]_<dimensions>` (`WHERE vector_dims(embedding) = N`). Idempotent,
 * and safe when several processes ensure it at once (see runDdl's advisory lock). Opening a
 * collection calls it without `concurrently`: a new dimension's index starts empty, so the build is
 * one pass over the table under a SHARE lock (writes wait, reads go on). For a dimension whose rows
 * already exist in bulk, call it with `concurrently: true` first.
 */
export async function ensureVectorIndex(storage: RagStorage, tenantId: string, indexes: readonly VectorIndexInfo[], options: EnsureIndexOptions): Promise<CreateIndexResult> {
  const opts = parseInput(EnsureIndexOptionsSchema, options, 'ensure index options');
  const serving = indexes.find((i) => i.valid && i.scope === 'shared' && i.metric === opts.metric && i.dimensions === opts.dimensions);
  if (serving) return { index: serving, created: false };
  return createVectorIndex(storage, tenantId, { type: 'hnsw', ...opts });
}
