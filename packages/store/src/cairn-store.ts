// CairnStore: LangGraph's BaseStore on Cairn's PostgreSQL tables (store_items, store_vectors).
// A batch of one read or write is one statement on the pool; a longer batch, or a semantic search
// (which sets pgvector's scan settings for itself), runs in one transaction, so a batch is all or
// nothing and each operation sees the ones before it.
import type pg from 'pg';
import type { Item, SearchItem } from '@langchain/langgraph-checkpoint';
import { createDb, type CairnDb, type DbOptions } from '@cairn/db';
import { BaseCairnStore, type BatchResult, type PreparedBatch } from './base-cairn-store.js';
import { namespaceLabels } from './namespace.js';
import type { PlannedOperation } from './operations.js';
import type { StoreOptions } from './options.js';
import { getSql, listItemsSql, listNamespacesSql, putSql, refreshSql, semanticSql, sweepSql, vectorText, vectorsSql, type ItemRow, type ScoredItemRow, type Statement } from './store-sql.js';
import { ensureVectorIndex, isIndexedDimension } from './vector-index.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

function item(row: ItemRow): Item {
  return { namespace: namespaceLabels(row.namespace), key: row.key, value: row.value as Record<string, unknown>, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** The most ef_search pgvector takes. */
const MAX_EF_SEARCH = 1000;

/** A LangGraph BaseStore on PostgreSQL through a CairnDb, scoped to one tenant. */
export class CairnStore extends BaseCairnStore {
  readonly db: CairnDb;
  readonly #ownsDb: boolean;
  #indexReady: Promise<void> | undefined;

  /** A store on `db` (which the application keeps and closes). */
  constructor(db: CairnDb, options?: StoreOptions, internal: { ownsDb?: boolean } = {}) {
    super(options, 'store');
    this.db = db;
    this.#ownsDb = internal.ownsDb ?? false;
  }

  /**
   * A store on its own connection pool to `url` (a migrated database; `db: { migrate: true }` applies
   * Cairn's migrations first). close() ends the pool.
   */
  static async fromUrl(url: string, options?: StoreOptions & { db?: Omit<DbOptions, 'url'> }): Promise<CairnStore> {
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
    const query = async <R extends object>(statement: Statement) => (await client.query<R>(statement.text, statement.values)).rows;
    switch (op.kind) {
      case 'get': {
        const rows = await query<ItemRow>(getSql(this.tenantId, op.namespace, op.key, now));
        await this.#refreshRead(client, rows, op.refreshTtl, now);
        return rows[0] ? item(rows[0]) : null;
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
