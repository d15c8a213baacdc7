// createRag(): the entry point. A Rag is a tenant-scoped handle on the documents table of a
// CairnDb: it opens collections (registering their settings, or checking them against the
// registry, and ensuring a vector index for their dimension) and manages vector indexes. It does
// not own the database; the application closes that. Everything it and its collections ask of PostgreSQL goes through one RagStorage (retries, typed errors).
import type { CairnDb } from '@cairn/db';
import { TenantIdSchema, ValidationError, parseInput } from '@cairn/core';
import { assertLanguage, readDocumentsTable, type DocumentsTableInfo } from './catalog.js';
import type { CollectionContext } from './collection-context.js';
import { listCollections, openRegisteredCollection, type CollectionSummary, type VectorIndexSettings } from './collection-registry.js';
import { PgVectorCollection } from './collection.js';
import type { Embedder } from './embedder.js';
import { ClosedError } from '@cairn/core';
import { DimensionMismatchError } from './errors.js';
import { CollectionNameSchema, CollectionOptionsSchema, RagOptionsSchema, type CollectionOptions, type Metadata, type RagOptions } from './options.js';
import { RagStorage } from './storage.js';
import {
  createVectorIndex,
  dropVectorIndex,
  ensureVectorIndex,
  readTenantVectorIndexes,
  readVectorIndexes,
  rebuildVectorIndex,
  type CreateIndexOptions,
  type CreateIndexResult,
  type DropIndexOptions,
  type EnsureIndexOptions,
  type RebuildIndexOptions,
  type VectorIndexInfo,
} from './vector-index.js';

/**
 * How long searches plan with a read of the vector indexes before reading them again. An index
 * created or dropped through this Rag is seen at once; one changed elsewhere within this time
 * is missed until then, which only makes a search slower, never wrong (see PgVectorCollection#halfvecDimensions).
 */
const INDEX_CACHE_MS = 30_000;

/**
 * After an unfiltered scan of a collection came up short without iterating, how long that
 * collection's unfiltered scans iterate from the start (see CollectionOptions.iterativeScan).
 */
const ITERATE_AFTER_SHORT_SCAN_MS = 60_000;

/** State shared by a Rag and the tenant views made from it. */
interface SharedState {
  storage: RagStorage;
  table: Promise<DocumentsTableInfo> | undefined;
  indexes: { readAt: number; list: Promise<VectorIndexInfo[]> } | undefined;
  languages: Map<string, Promise<void>>;
  /** Until when each (tenant, collection)'s unfiltered scans iterate from the start. */
  iterateUntil: Map<string, number>;
  closed: boolean;
}

export type { CollectionSummary };

/**
 * Documents, search and vector indexes over a CairnDb, for one tenant. Create with createRag().
 * `close()` stops this handle (and its tenant views) from being used; the database stays open.
 */
export class Rag {
  /** Tenant whose documents this handle reads and writes. */
  readonly tenantId: string;
  /** Default embedder of collections that do not name one. */
  readonly embedder: Embedder | undefined;
  readonly #state: SharedState;

  /** @internal use createRag(). */
  constructor(state: SharedState, tenantId: string, embedder: Embedder | undefined) {
    this.#state = state;
    this.tenantId = tenantId;
    this.embedder = embedder;
  }

  /** The documents table's embedding column and pgvector version (read once, then cached). */
  tableInfo(): Promise<DocumentsTableInfo> {
    this.#assertOpen();
    const state = this.#state;
    state.table ??= state.storage.run('reading the documents table', () => readDocumentsTable(state.storage.pool)).catch((err: unknown) => {
      state.table = undefined;
      throw err;
    });
    return state.table;
  }

  /**
   * Opens a collection. The first open registers its settings (dimensions, metric, language,
   * embedder id, vector index) in `rag_collections`; every later open, in any process, is checked
   * against them: a contradicting dimension, metric or language is a
   * CollectionSettingsConflictError, and settings left out are the registered ones. Its embedder
   * must return vectors of its dimension, and its language must be a text search configuration
   * PostgreSQL has. Unless `vectorIndex: false`, it then ensures a vector index serves its
   * dimension and metric (built on the first open of a new dimension; see ensureIndex).
   */
  async collection<M extends Metadata = Metadata>(name: string, options: CollectionOptions = {}): Promise<PgVectorCollection<M>> {
    this.#assertOpen();
    const collectionName = parseInput(CollectionNameSchema, name, 'collection name');
    const opts = parseInput(CollectionOptionsSchema, options, 'collection options');
    const embedder = opts.embedder ?? this.embedder;
    const table = await this.tableInfo();
    if (opts.language !== undefined) await this.#assertLanguage(opts.language);
    const indexSettings: VectorIndexSettings = opts.vectorIndex === false ? { type: 'none' } : { type: 'hnsw', ...opts.vectorIndex };
    const registered = await openRegisteredCollection(this.#state.storage, this.tenantId, collectionName, {
      dimensions: opts.dimensions,
      embedderDimensions: embedder?.dimensions,
      metric: opts.metric,
      language: opts.language,
      embedderId: embedder?.id,
      indexSettings,
    });
    const { dimensions, metric, language } = registered;
    if (embedder && embedder.dimensions !== dimensions) {
      throw new DimensionMismatchError(
        dimensions,
        embedder.dimensions,
        `The embedder ${embedder.id} of collection "${collectionName}" returns ${embedder.dimensions} dimensions, but the collection holds ` +
          `${dimensions}-dimensional vectors (registered when it was first opened). Use a ${dimensions}-dimensional model (OpenAI's ` +
          `text-embedding-3 models return ${dimensions} when asked with \`dimensions: ${dimensions}\`), or open a new collection for ` +
          `${embedder.dimensions}-dimensional vectors and re-embed the documents into it (collection.reembedInto).`,
        { details: { collection: collectionName } },
      );
    }
    if (opts.language === undefined) await this.#assertLanguage(language);
    if (opts.vectorIndex !== false) {
      const indexes = await this.#vectorIndexes();
      const { created } = await ensureVectorIndex(this.#state.storage, this.tenantId, indexes, { dimensions, metric, ...opts.vectorIndex });
      if (created) this.#state.indexes = undefined;
    }
    const scanKey = `${this.tenantId}\u0000${collectionName}`;
    const ctx: CollectionContext = {
      storage: this.#state.storage,
      tenantId: this.tenantId,
      iterativeScans: table.iterativeScans,
      vectorOid: table.vectorOid,
      assertOpen: () => this.#assertOpen(),
      createIndex: (o) => this.createIndex(o),
      vectorIndexes: () => this.#vectorIndexes(),
      unfilteredScanIterates: () => {
        const until = this.#state.iterateUntil.get(scanKey);
        if (until === undefined) return false;
        if (until > Date.now()) return true;
        this.#state.iterateUntil.delete(scanKey);
        return false;
      },
      unfilteredScanCameUpShort: () => {
        this.#state.iterateUntil.set(scanKey, Date.now() + ITERATE_AFTER_SHORT_SCAN_MS);
      },
    };
    return new PgVectorCollection<M>(ctx, collectionName, { ...opts, dimensions, metric, language }, embedder);
  }

  /** The same database and caches, for another tenant. Closing either closes both. */
  forTenant(tenantId: string): Rag {
    this.#assertOpen();
    const id = parseInput(TenantIdSchema, tenantId, 'tenant id');
    return new Rag(this.#state, id, this.embedder);
  }

  /**
   * This tenant's collections, by name: every registered one with its settings, and any holding
   * documents that was never opened since the registry exists (`settings: null`), with document counts.
   */
  listCollections(): Promise<CollectionSummary[]> {
    this.#assertOpen();
    return listCollections(this.#state.storage, this.tenantId);
  }

  /**
   * Makes sure a table-wide vector index serves vectors of `dimensions` with `metric`, building an
   * HNSW one when none does (what opening a collection does, see the README: "Indexes per
   * dimension"). Idempotent and safe to call from several processes at once (an advisory lock per
   * index name); `concurrently: true` builds without blocking writes, for a dimension whose rows
   * are already there.
   */
  ensureIndex(options: EnsureIndexOptions): Promise<CreateIndexResult> {
    this.#assertOpen();
    return this.#changingIndexes(async () => ensureVectorIndex(this.#state.storage, this.tenantId, await readVectorIndexes(this.#state.storage), options));
  }

  /**
   * Builds an HNSW or IVFFlat index on documents.embedding for vectors of one dimension and a
   * metric, for the whole table or (with `collection`) for one collection of this tenant. Existing index of the same name: returned
   * unchanged. These indexes are outside Prisma's migrations (see the README); they are named
   * `cairn_rag_*`.
   */
  createIndex(options: CreateIndexOptions): Promise<CreateIndexResult> {
    this.#assertOpen();
    return this.#changingIndexes(() => createVectorIndex(this.#state.storage, this.tenantId, options));
  }

  /**
   * Drops a `cairn_rag_*` index, shared or a partial index of this tenant's; false when there was
   * none. Migration-owned indexes are refused (INDEX_NOT_MANAGED), and so is another tenant's
   * partial index (INDEX_NOT_FOUND, category not_found).
   */
  dropIndex(name: string, options: DropIndexOptions = {}): Promise<boolean> {
    this.#assertOpen();
    return this.#changingIndexes(() => dropVectorIndex(this.#state.storage, this.tenantId, name, options));
  }

  /**
   * Rebuilds (REINDEX) a vector index on documents.embedding, e.g. after bulk loads or many deletes:
   * a shared one or a partial index of this tenant's (anything else is INDEX_NOT_FOUND).
   */
  rebuildIndex(name: string, options: RebuildIndexOptions = {}): Promise<VectorIndexInfo> {
    this.#assertOpen();
    return this.#changingIndexes(() => rebuildVectorIndex(this.#state.storage, this.tenantId, name, options));
  }

  /**
   * The HNSW and IVFFlat indexes on documents.embedding this tenant uses: the shared ones
   * (`scope: 'shared'`, table-wide, serving every tenant) and the partial indexes of this tenant's
   * collections (`scope: 'collection'`). Other tenants' partial indexes are left out.
   */
  listIndexes(): Promise<VectorIndexInfo[]> {
    this.#assertOpen();
    return readTenantVectorIndexes(this.#state.storage, this.tenantId);
  }

  /**
   * Every vector index on documents.embedding, across tenants: other tenants' partial indexes
   * (their names and collections) and partial indexes @cairn/rag did not make (`scope: 'other'`)
   * included. For operators; a handle given to a tenant's code should not offer it.
   */
  listAllIndexes(): Promise<VectorIndexInfo[]> {
    this.#assertOpen();
    return readVectorIndexes(this.#state.storage);
  }

  /** Marks this handle (and its tenant views and collections) closed. Does not close the database. */
  async close(): Promise<void> {
    this.#state.closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Keeps the database handle and embedder out of logs. */
  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId, embedder: this.embedder?.id, closed: this.#state.closed };
  }

  #assertOpen(): void {
    if (this.#state.closed) throw new ClosedError('Rag instance');
  }

  /** The vector indexes searches plan with (cached, see INDEX_CACHE_MS). */
  #vectorIndexes(): Promise<VectorIndexInfo[]> {
    const state = this.#state;
    const now = Date.now();
    if (state.indexes === undefined || now - state.indexes.readAt > INDEX_CACHE_MS) {
      const entry = {
        readAt: now,
        list: readVectorIndexes(state.storage).catch((err: unknown) => {
          if (state.indexes === entry) state.indexes = undefined;
          throw err;
        }),
      };
      state.indexes = entry;
    }
    return state.indexes.list;
  }

  /** Runs an index change; searches read the indexes again afterwards, whether it succeeded or not. */
  async #changingIndexes<T>(change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      this.#state.indexes = undefined;
    }
  }

  #assertLanguage(language: string): Promise<void> {
    let check = this.#state.languages.get(language);
    if (!check) {
      check = this.#state.storage.run('checking the text search language', () => assertLanguage(this.#state.storage.pool, language)).catch((err: unknown) => {
        this.#state.languages.delete(language);
        throw err;
      });
      this.#state.languages.set(language, check);
    }
    return check;
  }
}

/**
 * Creates a Rag over a CairnDb (its pool; it never closes the database).
 *
 * @example
 * const rag = createRag(db, { embedder: new LocalHashEmbedder() });
 * const docs = await rag.collection('handbook');
 * await docs.upsert([{ id: 'a', content: 'Vacation policy: 25 days.' }]);
 * const hits = await docs.hybridSearch('how many vacation days', { k: 5 });
 */
export function createRag(db: CairnDb, options: RagOptions = {}): Rag {
  const opts = parseInput(RagOptionsSchema, options, 'rag options');
  if (typeof db !== 'object' || db === null || typeof (db as Partial<CairnDb>).pool?.query !== 'function' || typeof (db as Partial<CairnDb>).run !== 'function') {
    throw new ValidationError('createRag arguments', [{ path: 'db', message: 'must be a CairnDb from @cairn/db createDb()' }]);
  }
  const state: SharedState = {
    // A dimension or table PostgreSQL reports other than as read: read the catalog again next time.
    storage: new RagStorage(db, () => {
      state.table = undefined;
      state.indexes = undefined;
    }),
    table: undefined,
    indexes: undefined,
    languages: new Map(),
    iterateUntil: new Map(),
    closed: false,
  };
  return new Rag(state, opts.tenantId, opts.embedder);
}
