// CairnStore: LangGraph's BaseStore on Cairn's PostgreSQL tables (store_items, store_vectors).
// A batch of one read or write is one statement on the pool; a longer batch, or a semantic search
// (which sets pgvector's scan settings for itself), runs in one transaction, so a batch is all or
// nothing and each operation sees the ones before it.
import type pg from 'pg';
import { z } from 'zod';
import type { Item, SearchItem } from '@langchain/langgraph-checkpoint';
import { parseInput } from '@cairn/core';
import { createDb, type CairnDb, type DbOptions } from '@cairn/db';
import { RedisCache, RedisConnectionSchema, Uncached, composeCacheKey } from '@cairn/redis';
import { BaseCairnStore, type BatchResult, type PreparedBatch } from './base-cairn-store.js';
import { namespaceLabels } from './namespace.js';
import type { PlannedGet, PlannedOperation } from './operations.js';
import type { StoreOptions } from './options.js';
import { getSql, listItemsSql, listNamespacesSql, putSql, refreshSql, semanticSql, sweepSql, vectorText, vectorsSql, type ItemRow, type ScoredItemRow, type Statement } from './store-sql.js';
import { ensureVectorIndex, isIndexedDimension } from './vector-index.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

function item(row: ItemRow): Item {
  return { namespace: namespaceLabels(row.namespace), key: row.key, value: row.value as Record<string, unknown>, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** The most ef_search pgvector takes. */
const MAX_EF_SEARCH = 1000;

/**
 * A read-through Redis cache of `get` (@cairn/redis' RedisCache: versioned fills, invalidation
 * replayed after an outage). Items with a ttl are never cached: their reads move their expiry, so
 * they must reach the database. Every instance writing the tenant's items must use the same Redis.
 */
export const StoreCacheOptionsSchema = z
  .object({
    /** The connection. */
    redis: RedisConnectionSchema,
    /** How long an entry lives at most, in seconds. @defaultValue 300 */
    ttlSeconds: z.number().min(1).max(86_400).default(300),
  })
  .strict();

/** Options of CairnStore: the store's, and its cache. */
export type CairnStoreOptions = StoreOptions & { cache?: z.input<typeof StoreCacheOptionsSchema> };

/** A LangGraph BaseStore on PostgreSQL through a CairnDb, scoped to one tenant. */
export class CairnStore extends BaseCairnStore {
  readonly db: CairnDb;
  readonly #ownsDb: boolean;
  readonly #cache: RedisCache | undefined;
  #indexReady: Promise<void> | undefined;

  /** A store on `db` (which the application keeps and closes); `cache`: a Redis read-through cache of get. */
  constructor(db: CairnDb, options?: CairnStoreOptions, internal: { ownsDb?: boolean } = {}) {
    const { cache, ...storeOptions } = options ?? {};
    super(storeOptions, 'store');
    this.db = db;
    this.#ownsDb = internal.ownsDb ?? false;
    if (cache !== undefined) {
      const { redis, ttlSeconds } = parseInput(StoreCacheOptionsSchema, cache, 'store cache options');
      this.#cache = new RedisCache(redis, { namespace: 'store', defaultTtlSeconds: ttlSeconds });
    }
  }

  /**
   * A store on its own connection pool to `url` (a migrated database; `db: { migrate: true }` applies
   * Cairn's migrations first). close() ends the pool.
   */
  static async fromUrl(url: string, options?: CairnStoreOptions & { db?: Omit<DbOptions, 'url'> }): Promise<CairnStore> {
    const { db: dbOptions, ...storeOptions } = options ?? {};
    const db = await createDb({ ...dbOptions, url });
    try {
      return new CairnStore(db, storeOptions, { ownsDb: true });
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  protected async execute(batch: PreparedBatch): Promise<BatchResult[]> {
    const { operations } = batch;
    if (this.#cache && operations.length === 1 && operations[0]!.kind === 'get') return [await this.#cachedGet(this.#cache, operations[0]!, batch)];
    const written = this.#cache ? operations.flatMap((op) => (op.kind === 'put' ? [composeCacheKey(this.tenantId, op.namespace, op.key)] : [])) : [];
    if (written.length === 0) return this.#execute(batch);
    try {
      return await this.#execute(batch);
    } finally {
      // After the commit (or a failure whose outcome may be a commit): readers must not keep the old value.
      await this.#cache!.del(...written);
    }
  }

  /** A get through the cache: a hit is one Redis GET; a miss reads (and refreshes) as #run does. */
  async #cachedGet(cache: RedisCache, op: PlannedGet, batch: PreparedBatch): Promise<Item | null> {
    const now = new Date(batch.now);
    const found = await cache.getOrLoad<Item | undefined>(composeCacheKey(this.tenantId, op.namespace, op.key), async () => {
      const row = await this.db.run(() => this.#getRow(this.db.pool, op, now), { operation: 'store get' });
      if (!row) return undefined;
      return row.ttl_minutes === null ? item(row) : new Uncached(item(row));
    });
    return found ?? null;
  }

  async #execute(batch: PreparedBatch): Promise<BatchResult[]> {
    const { operations } = batch;
    const writesVectors = operations.some((op) => op.kind === 'put' && op.value !== null);
    const semantic = operations.some((op, i) => op.kind === 'search' && batch.queryVectors.has(i));
    if (this.embedder && (writesVectors || semantic)) await this.prepareStorage();
    // A put that writes vectors is two statements (see vectorsSql), so it needs a transaction too.
    if (operations.length === 1 && !semantic && !(this.embedder && writesVectors)) {
      return [await this.db.run(() => this.#run(this.db.pool, batch, 0), { operation: `store ${operations[0]!.kind}` })];
    }
    return this.db.transaction(
      async (client) => {
        const results: BatchResult[] = [];
        for (let i = 0; i < operations.length; i++) results.push(await this.#run(client, batch, i));
        return results;
      },
      { operation: 'store batch', ...(semantic ? { settings: this.#scanSettings(operations, batch) } : {}) },
    );
  }

  protected async sweepExpired(now: number): Promise<number> {
    const size = this.options.ttl.sweepBatchSize;
    let total = 0;
    for (;;) {
      const statement = sweepSql(this.tenantId, new Date(now), size);
      const deleted = await this.db.run(async () => (await this.db.pool.query(statement.text, statement.values)).rowCount ?? 0, { operation: 'store sweep' });
      total += deleted;
      if (deleted < size) return total;
    }
  }

  protected prepareStorage(): Promise<void> {
    const index = this.options.index;
    if (!index) return Promise.resolve();
    this.#indexReady ??= ensureVectorIndex(this.db, index.dims, index).catch((error: unknown) => {
      this.#indexReady = undefined;
      throw error;
    });
    return this.#indexReady;
  }

  protected async release(): Promise<void> {
    this.#cache?.close();
    if (this.#ownsDb) await this.db.close();
  }

  /**
   * For the batch's transaction: the HNSW scan continues past rows the conditions drop (without it
   * a filtered page comes back short), and reads as many candidates as the searches need.
   */
  #scanSettings(operations: readonly PlannedOperation[], batch: PreparedBatch): Record<string, string> {
    let candidates = this.options.index!.efSearch;
    operations.forEach((op, i) => {
      if (op.kind === 'search' && batch.queryVectors.has(i)) candidates = Math.max(candidates, this.#candidates(op.limit + op.offset));
    });
    return { 'hnsw.iterative_scan': 'relaxed_order', 'hnsw.ef_search': String(Math.min(MAX_EF_SEARCH, candidates)) };
  }

  #candidates(wanted: number): number {
    return Math.max(1, wanted) * this.options.index!.candidatesPerResult;
  }

  /** The item a get reads, its expiry moved when refreshing (and it has a ttl). */
  async #getRow(client: Queryable, op: PlannedGet, now: Date): Promise<ItemRow | undefined> {
    const { rows } = await client.query<ItemRow>(getSql(this.tenantId, op.namespace, op.key, now));
    await this.#refreshRead(client, rows, op.refreshTtl, now);
    return rows[0];
  }

  /** Moves the expiry of what a read returned, when refreshing and some of it has a ttl. */
  async #refreshRead(client: Queryable, rows: readonly ItemRow[], requested: boolean | undefined, now: Date): Promise<void> {
    if (!(requested ?? this.options.ttl.refreshOnRead)) return;
    const expiring = rows.filter((r) => r.ttl_minutes !== null);
    if (expiring.length === 0) return;
    const statement = refreshSql(this.tenantId, now, expiring);
    await client.query(statement.text, statement.values);
  }

  async #run(client: Queryable, batch: PreparedBatch, i: number): Promise<BatchResult> {
    const op = batch.operations[i]!;
    const now = new Date(batch.now);
    const query = async <R extends pg.QueryResultRow>(statement: Statement) => (await client.query<R>(statement)).rows;
    switch (op.kind) {
      case 'get': {
        const row = await this.#getRow(client, op, now);
        return row ? item(row) : null;
      }
      case 'search': {
        const vector = batch.queryVectors.get(i);
        let found: Item[] | SearchItem[];
        let rows: ItemRow[];
        if (vector === undefined) {
          rows = await query<ItemRow>(listItemsSql(this.tenantId, op, now));
          found = rows.map(item);
        } else {
          const index = this.options.index!;
          const exact = index.exact || !isIndexedDimension(index.dims);
          const scored = await query<ScoredItemRow>(semanticSql(this.tenantId, op, vector, index.dims, now, exact ? undefined : this.#candidates(op.limit + op.offset)));
          rows = scored;
          found = scored.map((row): SearchItem => ({ ...item(row), score: row.score }));
        }
        await this.#refreshRead(client, rows, op.refreshTtl, now);
        return found;
      }
      case 'put': {
        const ttl = op.ttl === undefined ? this.options.ttl.defaultTtl : (op.ttl ?? undefined);
        await query(putSql(this.tenantId, op, now, ttl, !this.embedder));
        const vectors = batch.putVectors.get(i);
        if (this.embedder && op.value !== null) {
          await query(vectorsSql(this.tenantId, op.namespace, op.key, vectors?.fields ?? [], (vectors?.vectors ?? []).map(vectorText)));
        }
        return undefined;
      }
      case 'list': {
        const rows = await query<{ path: string }>(listNamespacesSql(this.tenantId, op, now));
        return rows.map((r) => namespaceLabels(r.path));
      }
    }
  }
}
