// createCairn(): one call that opens the database (or the embedded one), Redis when configured,
// and builds every component on them — checkpointer, objects, sessions, threads, RAG, and the
// LangGraph store when configured — sharing one
// pool, one Redis connection, one change feed and one metrics registry. The Cairn instance owns
// all of it: close() shuts everything down in reverse order.
import { Registry } from 'prom-client';
import { ClosedError, ValidationError, parseInput } from '@cairn/core';
import { MissingDependencyError, createDb, isPgPool, type CairnDb, type DbOptions } from '@cairn/db';
import { PostgresCheckpointer } from '@cairn/checkpointer';
import { MessageStore, ObjectStore, SessionManager, ThreadManager } from '@cairn/objects';
import { LocalHashEmbedder, createRag, type Embedder, type Rag } from '@cairn/rag';
import { PostgresNotifier, RedisNotifier, createRedis, type ChangeNotifier, type RedisConnection, type TenantNotifier } from '@cairn/redis';
import type { CairnStore, CairnStoreOptions } from '@cairn/store';
import { CairnCloseError, CairnStartError } from './errors.js';
import { registerConnectionMetrics, registerObjectStoreMetrics } from './metrics.js';
import { CairnOptionsSchema, TenantIdSchema, type CairnOptions, type ResolvedCairnOptions } from './options.js';

/** What `health()` reports. Never throws; `ok` is false only when PostgreSQL or pgvector is down. */
export interface CairnHealth {
  /** PostgreSQL answers and pgvector is installed (Redis being down only degrades). */
  ok: boolean;
  /** `degraded`: Redis is configured but unreachable (caches off, PostgreSQL serves everything). */
  status: 'ok' | 'degraded' | 'down';
  tenantId: string;
  postgres: { ok: boolean; latencyMs: number; version: string | null; embedded: boolean; error?: string };
  pgvector: { ok: boolean; version: string | null; error?: string };
  redis: { configured: boolean; ok: boolean; latencyMs?: number; state?: string; error?: string };
  notifications: { transport: 'redis' | 'postgres' | 'off' };
  checkedAt: Date;
}

/** The components of one tenant's view. */
interface CairnParts {
  tenantId: string;
  checkpointer: PostgresCheckpointer;
  objects: ObjectStore;
  sessions: SessionManager;
  threads: ThreadManager;
  messages: MessageStore;
  rag: Rag;
  embedder: Embedder;
  store: CairnStore | undefined;
}

/** Everything one `createCairn()` call opened; shared by the tenant views of `forTenant()`. */
interface Resources {
  readonly options: ResolvedCairnOptions;
  readonly db: CairnDb;
  readonly metricsRegistry: Registry;
  readonly redis: RedisConnection | undefined;
  /** The transport (every tenant's events); components and views take their tenant's feed of it. */
  readonly notifier: ChangeNotifier | undefined;
  readonly transport: CairnHealth['notifications']['transport'];
  /** The checkpointer of a tenant with this instance's settings (one per tenant, made on first use). */
  readonly checkpointerOf: (tenantId: string) => PostgresCheckpointer;
  /** The LangGraph store of a tenant (undefined without the `store` option). */
  readonly storeOf: (tenantId: string) => CairnStore | undefined;
  /** Tenant views handed out by forTenant(), so each tenant gets one checkpointer. */
  readonly views: Map<string, Cairn>;
  /** Closers in the order they were opened; close() runs them backwards. */
  readonly closers: { name: string; close: () => Promise<void> }[];
  closing: Promise<void> | undefined;
}

/**
 * The wired Cairn stack for one tenant. Created by `createCairn()`; `forTenant()` gives views of
 * other tenants on the same connections. Close the instance `createCairn()` returned (views
 * share its connections and need no closing of their own).
 */
export class Cairn implements AsyncDisposable {
  /** Tenant every component of this instance is scoped to. */
  readonly tenantId: string;
  /** The database handle (Prisma client, pg pool, health). */
  readonly db: CairnDb;
  /** Durable, time-travelling workflow checkpoints (PostgreSQL). */
  readonly checkpointer: PostgresCheckpointer;
  /** Typed objects with versions, history, JSON Patch and snapshots. */
  readonly objects: ObjectStore;
  /** Sessions of users. */
  readonly sessions: SessionManager;
  /** Threads inside sessions; deleting one deletes its checkpoints through `checkpointer`. */
  readonly threads: ThreadManager;
  /** The messages of threads (a chat's history), in commit order; they go when their thread goes. */
  readonly messages: MessageStore;
  /** Document collections with vector, filtered and hybrid search. */
  readonly rag: Rag;
  /** The embedder `rag` collections use unless they name their own. */
  readonly embedder: Embedder;
  /**
   * LangGraph long-term memory (`graph.compile({ checkpointer, store: cairn.store })`) on this
   * instance's pool; undefined unless createCairn was given the `store` option.
   */
  readonly store: CairnStore | undefined;
  /** The shared Redis connection, when `redisUrl` was given. */
  readonly redis: RedisConnection | undefined;
  /**
   * This tenant's change feed, the one its components publish to: Redis pub/sub, PostgreSQL
   * LISTEN/NOTIFY, or undefined when notifications are `off`. Its `subscribe()` hears this tenant's
   * events only, whatever the pattern; every view shares one transport.
   */
  readonly notifier: TenantNotifier | undefined;
  readonly #resources: Resources;
  readonly #root: boolean;

  /** @internal use createCairn(). */
  constructor(resources: Resources, parts: CairnParts, root: boolean) {
    this.#resources = resources;
    this.#root = root;
    this.tenantId = parts.tenantId;
    this.db = resources.db;
    this.checkpointer = parts.checkpointer;
    this.objects = parts.objects;
    this.sessions = parts.sessions;
    this.threads = parts.threads;
    this.messages = parts.messages;
    this.rag = parts.rag;
    this.embedder = parts.embedder;
    this.store = parts.store;
    this.redis = resources.redis;
    this.notifier = resources.notifier?.forTenant(parts.tenantId);
  }

  /** How change notifications travel: 'redis', 'postgres' (LISTEN/NOTIFY) or 'off'. */
  get notificationTransport(): CairnHealth['notifications']['transport'] {
    return this.#resources.transport;
  }

  /** The Prometheus registry every component reports to; scrape it with `registry.metrics()`. */
  get metricsRegistry(): Registry {
    return this.#resources.metricsRegistry;
  }

  /** Checks PostgreSQL, pgvector and Redis. Never throws. */
  async health(): Promise<CairnHealth> {
    const db = await this.db.healthCheck();
    const postgres = {
      ok: db.ok,
      latencyMs: db.latencyMs,
      version: db.serverVersion ?? null,
      embedded: db.embedded,
      ...(db.error ? { error: db.error } : {}),
    };
    const pgvectorVersion = db.pgvectorVersion ?? null;
    const pgvector = {
      ok: db.ok && pgvectorVersion !== null,
      version: pgvectorVersion,
      ...(!db.ok ? { error: 'PostgreSQL is unreachable' } : pgvectorVersion === null ? { error: 'the vector extension is not installed in this database' } : {}),
    };
    let redis: CairnHealth['redis'] = { configured: false, ok: false };
    if (this.redis) {
      const check = await this.redis.healthCheck();
      redis = { configured: true, ok: check.ok, latencyMs: check.latencyMs, state: check.breaker, ...(check.error ? { error: check.error } : {}) };
    }
    const status: CairnHealth['status'] = !postgres.ok || !pgvector.ok ? 'down' : redis.configured && !redis.ok ? 'degraded' : 'ok';
    return {
      ok: status !== 'down',
      status,
      tenantId: this.tenantId,
      postgres,
      pgvector,
      redis,
      notifications: { transport: this.#resources.transport },
      checkedAt: new Date(),
    };
  }

  /**
   * The same stack scoped to another tenant, sharing this instance's connections, caches and
   * notifier (one view per tenant, created on first use). Closing any view closes the instance.
   */
  forTenant(tenantId: string): Cairn {
    this.#assertOpen();
    const id = parseInput(TenantIdSchema, tenantId, 'tenant id');
    if (id === this.tenantId) return this;
    const resources = this.#resources;
    let view = resources.views.get(id);
    if (!view) {
      view = new Cairn(
        resources,
        {
          tenantId: id,
          checkpointer: resources.checkpointerOf(id),
          objects: this.objects.forTenant(id),
          sessions: this.sessions.forTenant(id),
          threads: this.threads.forTenant(id),
          messages: this.messages.forTenant(id),
          rag: this.rag.forTenant(id),
          embedder: this.embedder,
          store: resources.storeOf(id),
        },
        false,
      );
      resources.views.set(id, view);
    }
    return view;
  }

  /**
   * Closes every component and connection (in reverse order of opening), once; later calls wait
   * for the first. On a `forTenant()` view, closes the instance it came from.
   */
  close(): Promise<void> {
    const resources = this.#resources;
    resources.closing ??= (async () => {
      const errors: unknown[] = [];
      for (const closer of [...resources.closers].reverse()) {
        try {
          await closer.close();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw new CairnCloseError(errors);
    })();
    return resources.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#resources.closing !== undefined;
  }

  /** Keeps connections and credentials out of JSON.stringify and logs. */
  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId, db: this.db.toJSON(), root: this.#root };
  }

  #assertOpen(): void {
    if (this.closed) throw new ClosedError('Cairn instance');
  }
}

/**
 * The database options. With no URL and no pool of the application's, the embedded database serves every wire connection from one PostgreSQL
 * session (pglite-socket queues them onto a single PGlite instance), so statements one pooled
 * connection prepares by name (the checkpointer's and the object store's hot paths) would collide
 * with another's ("prepared statement ... already exists"). One long-lived pooled connection
 * avoids that; pglite-socket runs one query at a time anyway, so nothing is lost.
 */
function dbOptions(opts: ResolvedCairnOptions): DbOptions {
  const given = opts.db ?? {};
  if (opts.databaseUrl !== undefined) return { ...given, url: opts.databaseUrl };
  // An application's own pool is used as it is (and is not embedded).
  if (isPgPool(given.pool)) return given;
  return { ...given, pool: { max: 1, idleTimeoutMs: 0, ...given.pool } };
}

/**
 * Runs `open`, turning a failure into a CairnStartError naming the component. Invalid component
 * options stay ValidationErrors: they are the caller's input, not a failure to start.
 */
async function start<T>(component: string, open: () => Promise<T> | T): Promise<T> {
  try {
    return await open();
  } catch (cause) {
    if (cause instanceof ValidationError) throw cause;
    throw new CairnStartError(component, { cause });
  }
}

/**
 * With the `store` option, a maker of each tenant's CairnStore on `db` (one per tenant); without it,
 * one that makes none. @cairn/store is imported only then: it is an optional peer, as are the
 * LangGraph packages it needs, which `cairn` itself never loads.
 */
async function storeFactory(db: CairnDb, opts: ResolvedCairnOptions, closers: Resources['closers']): Promise<(tenantId: string) => CairnStore | undefined> {
  const settings = opts.store;
  if (settings === undefined) return () => undefined;
  let loaded: { CairnStore: new (db: CairnDb, options: CairnStoreOptions) => CairnStore };
  try {
    loaded = await import('@cairn/store');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' || !/@cairn\/store|@langchain\//.test((error as Error).message)) throw error;
    throw new MissingDependencyError('The LangGraph store (createCairn({ store }))', ['@cairn/store', '@langchain/langgraph-checkpoint', '@langchain/core'], { cause: error });
  }
  const stores = new Map<string, CairnStore>();
  return (tenantId) => {
    let found = stores.get(tenantId);
    if (!found) {
      const created = new loaded.CairnStore(db, { ...settings, tenantId });
      closers.push({ name: `LangGraph store (${tenantId})`, close: () => created.close() });
      stores.set(tenantId, created);
      found = created;
    }
    return found;
  };
}

/**
 * Opens PostgreSQL (or the embedded database when `databaseUrl` is absent), Redis when
 * `redisUrl` is given, and wires every Cairn component on them. If any part fails to start,
 * whatever had started is closed again before the error is thrown.
 */
export async function createCairn(options: CairnOptions = {}): Promise<Cairn> {
  const opts = parseInput(CairnOptionsSchema, options, 'Cairn options');
  const closers: Resources['closers'] = [];
  try {
    const db = await start('database', () => createDb(dbOptions(opts)));
    closers.push({ name: 'database', close: () => db.close() });
    const metricsRegistry = new Registry();

    let redis: RedisConnection | undefined;
    if (opts.redisUrl !== undefined) {
      // Cache keys carry the database's epoch: a reset or recreated database starts with empty caches.
      const epoch = await start('database identity', () => db.epoch());
      const connection = await start('Redis connection', () =>
        createRedis({
          cacheScope: epoch.replaceAll('-', '').slice(0, 16),
          ...opts.redis.connection,
          url: opts.redisUrl,
          keyPrefix: opts.redis.keyPrefix,
        }),
      );
      redis = connection;
      closers.push({ name: 'Redis connection', close: () => connection.close() });
      // Redis is optional at run time: unless required, start degraded and let the breaker find it later.
      await connection.ready(opts.redis.readyTimeoutMs).catch((cause: unknown) => {
        if (opts.redis.required) throw new CairnStartError('Redis connection', { cause });
      });
    }
    const transport: CairnHealth['notifications']['transport'] =
      opts.notifications === 'auto' ? (redis ? 'redis' : 'postgres') : opts.notifications;
    let notifier: ChangeNotifier | undefined;
    if (transport !== 'off') {
      // One notifier per process: on the embedded database a NOTIFY reaches only the connection
      // that sent it, and PostgresNotifier publishes through its own listening connection.
      // (`redis` is set whenever transport is 'redis': the schema requires redisUrl for it.)
      const created = transport === 'redis' && redis ? new RedisNotifier(redis) : new PostgresNotifier(db);
      notifier = created;
      closers.push({ name: 'notifier', close: () => created.close() });
    }
    const { redis: cacheOptions, ...checkpointerOptions } = opts.checkpointer ?? {};
    const newCheckpointer = (tenantId: string) => {
      const created = new PostgresCheckpointer(db, {
        ...checkpointerOptions,
        tenantId,
        metrics: { ...opts.checkpointer?.metrics, registry: metricsRegistry },
        // Latest checkpoints cached in Redis; changes go out on the shared notifier only (never
        // a second, checkpointer-owned one: `notifications: 'off'` must mean off), on the feed of
        // the checkpointer's tenant (it takes `forTenant(tenantId)` itself, as the object store does).
        redis: redis ? { ...cacheOptions, connection: redis, publish: false } : undefined,
        notifier,
      });
      closers.push({ name: `checkpointer (${tenantId})`, close: () => created.close() });
      return created;
    };
    const checkpointers = new Map<string, PostgresCheckpointer>();
    const checkpointerOf = (tenantId: string) => {
      let found = checkpointers.get(tenantId);
      if (!found) {
        found = newCheckpointer(tenantId);
        checkpointers.set(tenantId, found);
      }
      return found;
    };
    registerConnectionMetrics(metricsRegistry, { db, redis, notifier });
    const storeOf = await storeFactory(db, opts, closers);
    const resources: Resources = { options: opts, db, metricsRegistry, redis, notifier, transport, checkpointerOf, storeOf, views: new Map(), closers, closing: undefined };

    const checkpointer = await start('checkpointer', () => checkpointerOf(opts.tenantId));
    const objects = await start('object store', () => new ObjectStore(db, { ...opts.objects, tenantId: opts.tenantId, redis, notifier }));
    closers.push({ name: 'object store', close: () => objects.close() });
    registerObjectStoreMetrics(metricsRegistry, objects);
    const sessions = await start('session manager', () => new SessionManager(db, { ...opts.sessions, tenantId: opts.tenantId, redis, notifier, threadData: checkpointerOf }));
    closers.push({ name: 'session manager', close: () => sessions.close() });
    const threads = await start('thread manager', () => new ThreadManager(db, { tenantId: opts.tenantId, threadData: checkpointerOf }));
    const messages = await start('message store', () => new MessageStore(db, { tenantId: opts.tenantId }));
    // The local embedder needs no network and matches the documents column (384 dimensions).
    const embedder = opts.embedder ?? new LocalHashEmbedder();
    const rag = await start('RAG store', () => createRag(db, { tenantId: opts.tenantId, embedder }));
    closers.push({ name: 'RAG store', close: () => rag.close() });

    const store = await start('LangGraph store', async () => {
      const created = storeOf(opts.tenantId);
      await created?.start();
      return created;
    });

    return new Cairn(resources, { tenantId: opts.tenantId, checkpointer, objects, sessions, threads, messages, rag, embedder, store }, true);
  } catch (error) {
    for (const closer of closers.reverse()) await closer.close().catch(() => undefined);
    throw error;
  }
}
