// The object store: the entry point that hands out typed collections and entity repositories for
// one tenant, runs transactions across them (and across other Cairn tables), takes snapshots, and
// owns the write-behind queue when that persistence mode is chosen.
import type pg from 'pg';
import type { z } from 'zod';
import { ClosedError, JsonValueSchema, TenantIdSchema, parseInput, type JsonValue } from '@cairn/core';
import { ISOLATION_LEVELS, type CairnDb, type IsolationLevel } from '@cairn/db';
import type { CairnEvent } from '@cairn/redis';
import { BIND, Collection, type CollectionContext, type RecordCache } from './collection.js';
import { EntityRepository, type Persistable, type PersistableClass } from './entity-repository.js';
import { ObjectsError } from './errors.js';
import { TypeNameSchema } from './type-name.js';
import {
  CollectionOptionsSchema,
  OBJECT_EVENTS_CHANNEL,
  ObjectStoreOptionsSchema,
  type CollectionOptions,
  type ObjectStoreOptions,
  type PersistenceMode,
  type PersistenceModeOf,
  type ResolvedObjectStoreOptions,
} from './options.js';
import { RedisRecordCache } from './redis-caches.js';
import { exportSnapshot, importSnapshot, type ExportOptions, type ImportOptions, type ImportResult, type ObjectSnapshot } from './snapshot.js';
import { clientExecutor, outcomeUnknown, poolExecutor, transactionOnce, type Executor } from './executor.js';
import { WriteBehindQueue, type DeadLetters, type WriteBehindStats } from './write-behind-queue.js';

/** Isolation levels a transaction may ask for (those of @cairn/db). */
export type { IsolationLevel };

interface StoreCore {
  readonly db: CairnDb;
  readonly options: ResolvedObjectStoreOptions;
  readonly queue: WriteBehindQueue | undefined;
  readonly cache: (RecordCache & { close(): void }) | undefined;
  /** Runs after every committed write: invalidates the cache (awaited), publishes the event (not awaited). */
  afterCommit(tenantId: string, type: string, id: string, version: number | null): Promise<void>;
  closing: boolean;
  closed: Promise<void> | undefined;
}

function buildCore(db: CairnDb, options: ResolvedObjectStoreOptions): StoreCore {
  const cache = options.redis ? new RedisRecordCache(options.redis, options.cacheTtlSeconds) : undefined;
  const notifier = options.notifier;
  const afterCommit = async (tenantId: string, type: string, id: string, version: number | null): Promise<void> => {
    if (notifier) {
      const event: CairnEvent =
        version === null ? { type: 'object.deleted', tenantId, objectType: type, id } : { type: 'object.updated', tenantId, objectType: type, id, version };
      // Events are at most once by the notifier's contract; a failed publish must not fail a committed write.
      notifier.forTenant(tenantId).publish(OBJECT_EVENTS_CHANNEL, event).catch(() => undefined);
    }
    await cache?.invalidate(tenantId, type, id);
  };
  const queue =
    options.persistence.mode === 'write-behind'
      ? new WriteBehindQueue(db, options.persistence, async (writes) => {
          await Promise.all(writes.map((w) => afterCommit(w.tenantId, w.type, w.id, w.version)));
        })
      : undefined;
  return { db, options, queue, cache, afterCommit, closing: false, closed: undefined };
}

/**
 * A transaction on one pooled connection (node-postgres `BEGIN` ... `COMMIT`). Collections and
 * entity repositories bound with `tx.collection(c)` / `tx.entities(r)` run on it; `tx.client` (or
 * `tx.query`) runs any other SQL on it, e.g. the checkpointer's tables, so that everything commits or
 * rolls back together. Reads in `update()` / `patch()` lock the row (FOR UPDATE).
 */
export class ObjectTransaction {
  /** The transaction's connection. Do not release it or end the transaction yourself. */
  readonly client: pg.PoolClient;
  /** The tenant of the store that opened the transaction. */
  readonly tenantId: string;
  readonly #core: StoreCore;
  readonly #executor: Executor;
  /** Writes to announce after COMMIT (a cache must not be invalidated before the data is visible). */
  readonly written: Array<[tenantId: string, type: string, id: string, version: number | null]> = [];
  /** Objects a write found stale in the cache, invalidated once the transaction has ended. */
  readonly stale: Array<[tenantId: string, type: string, id: string]> = [];
  #open = true;

  /** @internal */
  constructor(client: pg.PoolClient, tenantId: string, core: StoreCore) {
    this.client = client;
    this.tenantId = tenantId;
    this.#core = core;
    this.#executor = clientExecutor(client, () => this.#assertOpen());
  }

  /** `collection`, bound to this transaction (always synchronous, whatever the store's mode). */
  collection<T, I>(collection: Collection<T, I, PersistenceMode>): Collection<T, I, 'sync'> {
    return collection[BIND](this.#context(collection.tenantId));
  }

  /** `repository`, bound to this transaction. */
  entities<T extends Persistable<D>, D>(repository: EntityRepository<T, D, PersistenceMode>): EntityRepository<T, D, 'sync'> {
    return repository[BIND](this.#context(repository.collection.tenantId));
  }

  /** Runs SQL in the transaction. Pass values as parameters; never build SQL from input. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.#executor.write<R>('query', { text, values });
  }

  /** @internal */
  end(): void {
    this.#open = false;
  }

  #context(tenantId: string): CollectionContext {
    const { options } = this.#core;
    return {
      tenantId,
      executor: this.#executor,
      queue: undefined,
      inTransaction: true,
      retry: options.conflictRetry,
      keepVersions: options.keepVersions,
      afterWrite: async (type, id, version) => {
        this.written.push([tenantId, type, id, version]);
      },
      cache: undefined,
      invalidate: async (type, id) => {
        this.stale.push([tenantId, type, id]);
      },
      assertOpen: () => this.#assertOpen(),
    };
  }

  #assertOpen(): void {
    if (!this.#open) throw new ObjectsError('TRANSACTION_CLOSED', 'The transaction has ended; use its collections only inside the callback');
  }
}

/** Options of ObjectStore.transaction(). */
export interface TransactionOptions {
  /** @defaultValue 'read committed' */
  isolationLevel?: IsolationLevel;
}

/**
 * Typed object persistence for one tenant. Create it with `createObjectStore(db, options)` (or
 * `new ObjectStore(db, options)`); `forTenant(id)` gives a view on another tenant sharing the same
 * queue. The store does not own `db`: close the store first, then the database.
 */
export class ObjectStore<M extends PersistenceMode = 'sync'> {
  /** The tenant every operation of this store is scoped to. */
  readonly tenantId: string;
  readonly #core: StoreCore;
  readonly #context: CollectionContext;

  constructor(db: CairnDb, options?: ObjectStoreOptions);
  /** @internal */
  constructor(core: StoreCore, tenantId: string);
  constructor(dbOrCore: CairnDb | StoreCore, optionsOrTenant?: ObjectStoreOptions | string) {
    if (typeof optionsOrTenant === 'string') {
      this.#core = dbOrCore as StoreCore;
      this.tenantId = optionsOrTenant;
    } else {
      const options = parseInput(ObjectStoreOptionsSchema, optionsOrTenant ?? {}, 'object store options');
      this.#core = buildCore(dbOrCore as CairnDb, options);
      this.tenantId = options.tenantId;
    }
    const core = this.#core;
    const tenantId = this.tenantId;
    this.#context = {
      tenantId,
      executor: poolExecutor(core.db),
      queue: core.queue,
      inTransaction: false,
      retry: core.options.conflictRetry,
      keepVersions: core.options.keepVersions,
      afterWrite: core.cache || core.options.notifier ? (type, id, version) => core.afterCommit(tenantId, type, id, version) : undefined,
      cache: core.cache,
      invalidate: core.cache ? (type, id) => core.cache!.invalidate(tenantId, type, id) : undefined,
      lockedTransaction: (fn) => core.db.transaction((client) => fn(clientExecutor(client)), { operation: 'object update (row locked)' }),
      assertOpen: () => {
        if (core.closing) throw new ClosedError('object store');
      },
    };
  }

  /** How writes are persisted: 'sync' (durable on return) or 'write-behind' (queued). */
  get persistence(): M {
    return this.#core.options.persistence.mode as M;
  }

  /** A view of this store scoped to another tenant (same database, options and queue). */
  forTenant(tenantId: string): ObjectStore<M> {
    return new ObjectStore<M>(this.#core, parseInput(TenantIdSchema, tenantId, 'tenant id'));
  }

  /**
   * The typed repository of objects of `type`, validated by `schema` on every write and read.
   * Cheap: call it once per type and keep the result.
   */
  collection<S extends z.ZodType>(type: string, schema: S, options?: CollectionOptions): Collection<z.output<S>, z.input<S>, M> {
    const name = parseInput(TypeNameSchema, type, 'object type');
    const opts = parseInput(CollectionOptionsSchema, options ?? {}, 'collection options');
    return new Collection<z.output<S>, z.input<S>, M>(this.#context, name, schema as z.ZodType<z.output<S>, z.input<S>>, {
      keepVersions: opts.keepVersions,
      retry: opts.conflictRetry,
    });
  }

  /**
   * A repository of class instances (`toData()` / `static fromData()`) stored as `type`. Without a
   * schema, data is only checked to be JSON.
   */
  entities<T extends Persistable<D>, D = ReturnType<T['toData']>>(
    type: string,
    cls: PersistableClass<T, D>,
    schema?: z.ZodType<D>,
    options?: CollectionOptions,
  ): EntityRepository<T, D, M> {
    const collection = this.collection(type, (schema ?? JsonValueSchema) as z.ZodType<D, D>, options);
    return new EntityRepository<T, D, M>(collection, cls);
  }

  /**
   * Runs `fn` in one database transaction and commits if it resolves (rolls back if it throws).
   * Bind collections with `tx.collection(c)`; run other SQL (e.g. checkpoints) with `tx.client`.
   * In write-behind mode, queued writes are flushed first so the transaction sees them. `fn` runs
   * at most once (it may have side effects): only getting a connection is retried. Once `fn` has
   * started, a lost connection, a serialization failure or a deadlock rejects at once with
   * StorageUnavailableError / StorageError (`details.sqlstate`); `details.commitOutcomeUnknown`
   * says the connection was lost during COMMIT itself.
   */
  async transaction<R>(fn: (tx: ObjectTransaction) => Promise<R>, options: TransactionOptions = {}): Promise<R> {
    this.#context.assertOpen();
    const isolation = options.isolationLevel ?? 'read committed';
    if (!ISOLATION_LEVELS.includes(isolation)) throw new ObjectsError('INVALID_ISOLATION_LEVEL', `Unknown isolation level ${JSON.stringify(options.isolationLevel)}`);
    await this.#core.queue?.drain();
    let tx: ObjectTransaction | undefined;
    try {
      const result = await transactionOnce(
        this.#core.db,
        (client) => {
          tx = new ObjectTransaction(client, this.tenantId, this.#core);
          return fn(tx);
        },
        { isolation, operation: 'object transaction' },
      );
      tx?.end();
      await Promise.all(tx!.written.map(([tenantId, type, id, version]) => this.#core.afterCommit(tenantId, type, id, version)));
      return result;
    } catch (error) {
      // The COMMIT may have gone through: what the transaction wrote must not be served from the cache.
      if (tx && outcomeUnknown(error)) await this.#invalidate(tx.written);
      throw error;
    } finally {
      tx?.end();
      if (tx) await this.#invalidate(tx.stale);
    }
  }

  /**
   * Exports every object of this tenant (or of `types`) with its history, as of one point in time
   * (a REPEATABLE READ READ ONLY transaction, read again from the start after a transient failure).
   * The result is plain JSON.
   */
  async exportSnapshot(options?: ExportOptions): Promise<ObjectSnapshot> {
    this.#context.assertOpen();
    await this.#core.queue?.drain();
    return exportSnapshot(this.#core.db, this.tenantId, options);
  }

  /**
   * Imports a snapshot into this store's tenant (which may differ from the snapshot's), in one
   * transaction, keeping versions, timestamps and history exactly; run again from the start after
   * a transient failure before COMMIT. The objects it wrote are dropped from the cache after COMMIT.
   */
  async importSnapshot(snapshot: ObjectSnapshot | JsonValue, options?: ImportOptions): Promise<ImportResult> {
    this.#context.assertOpen();
    await this.#core.queue?.drain();
    return importSnapshot(this.#core.db, this.tenantId, snapshot, options, (keys) => this.#invalidate(keys));
  }

  /** Drops cached copies of objects (a no-op without a cache; Redis being down is not an error here). */
  async #invalidate(keys: ReadonlyArray<readonly [tenantId: string, type: string, id: string, ...rest: unknown[]]>): Promise<void> {
    if (keys.length > 0) await this.#core.cache?.invalidateMany(keys.map(([tenantId, type, id]) => [tenantId, type, id] as const));
  }

  /** Resolves once every write queued so far is persisted (immediately in sync mode). */
  async flush(): Promise<void> {
    await this.#core.queue?.flush();
  }

  /** Write-behind queue counters (null in sync mode). */
  stats(): WriteBehindStats | null {
    return this.#core.queue?.stats() ?? null;
  }

  /** This tenant's write-behind dead letters, to list, replay and discard (null in sync mode). */
  deadLetters(): DeadLetters | null {
    return this.#core.queue?.deadLetters(this.tenantId) ?? null;
  }

  /**
   * Stops accepting operations and, in write-behind mode, persists what is queued (up to
   * `closeTimeoutMs`, then FlushTimeoutError). Closes every tenant view of the store. Idempotent.
   * Does not close the database handle.
   */
  close(): Promise<void> {
    const core = this.#core;
    core.closed ??= (async () => {
      core.closing = true;
      try {
        await core.queue?.close();
      } finally {
        core.cache?.close();
      }
    })();
    return core.closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Keeps the database handle out of logs. */
  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId, persistence: this.#core.options.persistence.mode };
  }
}

/**
 * Creates an object store on `db`. `persistence: { mode: 'write-behind', onError }` selects
 * write-behind; the returned store's type then reflects it (save() returns a QueuedWrite).
 */
export function createObjectStore<const O extends ObjectStoreOptions>(db: CairnDb, options?: O): ObjectStore<PersistenceModeOf<O>> {
  return new ObjectStore<PersistenceModeOf<O>>(db, options);
}
