// createDb(): the generated Prisma 7 client over @prisma/adapter-pg on one validated pg.Pool,
// against a PostgreSQL URL or, when none is given, the embedded PGlite database.
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { MIGRATE_HINT, parseInput, type RetrySettings } from '@cairn/core';
import { PrismaClient } from './generated/prisma/client.js';
import { parseDatabaseUrl, redactUrl, withSchema, type SslMode } from './database-url.js';
import { DatabaseUnavailableError, DbError, MigrationError } from './errors.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.js';
import { migrateDatabase } from './migrate.js';
import { DbOptionsSchema, PoolOptionsSchema, isPgPool, type DbOptions, type PoolSettings, type ResolvedDbOptions } from './options.js';
import type { Row } from './rows.js';
import { CommitOutcomeUnknown, retrying, runTransaction, withPooledClient, type ClientLease, type TransactionOptions } from './transaction.js';

/** Options of CairnDb.transaction(). */
export interface DbTransactionOptions extends TransactionOptions {
  /**
   * Retry the whole transaction on transient errors. `fn` then runs again from the start, so it
   * must have no side effects outside the transaction. @defaultValue true
   */
  retry?: boolean;
  /**
   * Also retry when the connection was lost during COMMIT (the first attempt may have committed):
   * only for transactions that are safe to apply twice. @defaultValue false
   */
  idempotent?: boolean;
  /** Names the operation in error messages and details, e.g. `object import`. */
  operation?: string;
  /** Sees each retried failure (for metrics). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** Options of CairnDb.run(). */
export interface DbRunOptions {
  /** Names the operation in error messages and details. */
  operation?: string;
  /** false: one attempt; settings: these instead of the database's. @defaultValue true (the database's settings) */
  retry?: boolean | RetrySettings;
  onRetry?: (error: unknown, attempt: number) => void;
  /** Maps an error before the generic mapping (a unique violation to a conflict, say). */
  mapError?: (error: unknown, attempts: number) => unknown;
}

/** What healthCheck() reports. */
export interface DbHealth {
  ok: boolean;
  /** Round-trip time of `SELECT 1`, in milliseconds. */
  latencyMs: number;
  serverVersion?: string;
  /** Installed pgvector version, or null when the extension is not installed. */
  pgvectorVersion?: string | null;
  embedded: boolean;
  error?: string;
}

/** Connection pool figures, from node-postgres. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
  /** Connections the pool lost while they were idle (server restart, network drop), since start. */
  droppedConnections: number;
}

function sslConfig(mode: SslMode | undefined, ca: string | undefined): pg.PoolConfig['ssl'] {
  switch (mode) {
    case undefined:
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca ? { ca } : {}) };
  }
}

function describeConnectError(err: NodeJS.ErrnoException & { code?: string }, url: string, timeoutMs: number): string {
  const where = redactUrl(url);
  switch (err.code) {
    case 'ECONNREFUSED':
      return `Nothing is listening at ${where} (connection refused). Is PostgreSQL running?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The host in ${where} cannot be resolved.`;
    case '3D000':
      return `The database in ${where} does not exist. Create it (\`createdb\` or CREATE DATABASE), then apply Cairn's migrations: ${MIGRATE_HINT}.`;
    case '28P01':
    case '28000':
      return `PostgreSQL rejected the credentials in ${where}: ${err.message}`;
    default:
      if (/unsupported startup parameter/i.test(err.message)) {
        return `${where} refused a start-up parameter (${err.message}): it looks like PgBouncer. Add ?pgbouncer=true to the URL (or pgbouncer: true) so Cairn connects the way a transaction pooler accepts.`;
      }
      if (/timeout/i.test(err.message)) return `No answer from ${where} within ${timeoutMs} ms.`;
      return `Cannot connect to ${where}: ${err.message}`;
  }
}

/**
 * The database handle every Cairn package takes. Owns its pool (and the embedded server, if any),
 * unless the application handed in a pool of its own, which close() leaves open.
 */
export class CairnDb {
  /** The generated Prisma client, over the shared pool. */
  readonly prisma: PrismaClient;
  /** The node-postgres pool behind `prisma`, for hot paths that need raw SQL. */
  readonly pool: pg.Pool;
  /** PostgreSQL schema holding Cairn's tables. */
  readonly schema: string;
  /** The URL in use, password redacted. */
  readonly url: string;
  /** The embedded server, when no URL was given. */
  readonly embedded: EmbeddedPostgres | undefined;
  /** The URL goes through PgBouncer in transaction pooling (statements are sent unnamed). */
  readonly pgbouncer: boolean;
  readonly #connectionString: string;
  readonly #clientConfig: pg.ClientConfig | undefined;
  readonly #max: number;
  readonly #retry: RetrySettings;
  readonly #dropped: { count: number };
  readonly #ownsPool: boolean;
  readonly #onPoolError: (error: Error) => void;
  #closing: Promise<void> | undefined;
  #epoch: Promise<string> | undefined;

  /** @internal use createDb(). */
  constructor(parts: {
    prisma: PrismaClient;
    pool: pg.Pool;
    schema: string;
    url: string;
    directUrl: string | undefined;
    pgbouncer: boolean;
    clientConfig: pg.ClientConfig | undefined;
    max: number;
    retry: RetrySettings;
    dropped: { count: number };
    /** False for an application's pool: close() must leave it usable. */
    ownsPool: boolean;
    /** The 'error' listener createDb put on the pool, taken off again by close(). */
    onPoolError: (error: Error) => void;
    embedded?: EmbeddedPostgres | undefined;
  }) {
    this.prisma = parts.prisma;
    this.pool = parts.pool;
    this.schema = parts.schema;
    this.url = redactUrl(parts.url);
    this.embedded = parts.embedded;
    this.pgbouncer = parts.pgbouncer;
    this.#connectionString = parts.directUrl ?? parts.url;
    this.#clientConfig = parts.clientConfig;
    this.#max = parts.max;
    this.#retry = parts.retry;
    this.#dropped = parts.dropped;
    this.#ownsPool = parts.ownsPool;
    this.#onPoolError = parts.onPoolError;
  }

  /**
   * This database's epoch: a random id the migrations write once (`cairn_identity`), new for every
   * database created or reset. Caches outside PostgreSQL key their entries by it, so they cannot
   * serve what an earlier incarnation of the database held. Read once, then remembered.
   */
  epoch(): Promise<string> {
    this.#epoch ??= this.run(
      async () => {
        const { rows } = await this.pool.query<Row<'cairn_identity', 'epoch'>>('SELECT epoch FROM cairn_identity WHERE id = 1');
        if (!rows[0]) throw new DbError('IDENTITY_MISSING', 'cairn_identity holds no row: apply the Cairn migrations, or restore the row (INSERT INTO cairn_identity (id) VALUES (1))');
        return rows[0].epoch;
      },
      { operation: 'reading the database epoch' },
    );
    this.#epoch.catch(() => {
      this.#epoch = undefined;
    });
    return this.#epoch;
  }

  /** The retry settings `transaction()` and `run()` use. */
  get retrySettings(): RetrySettings {
    return this.#retry;
  }

  /**
   * Runs `fn` in one transaction on a borrowed connection: COMMIT when it resolves, ROLLBACK when
   * it throws. Transient failures (a lost connection before COMMIT, a serialization failure, a
   * deadlock) run it again with backoff unless `retry: false`; what finally fails is a typed Cairn
   * error (StorageUnavailableError, StorageError with `details.sqlstate`), or `fn`'s own Cairn error.
   */
  transaction<R>(fn: (client: pg.PoolClient) => Promise<R>, options: DbTransactionOptions = {}): Promise<R> {
    const { retry = true, idempotent = false, operation, onRetry, ...tx } = options;
    const settings = retry ? this.#retry : { ...this.#retry, maxAttempts: 1 };
    return retrying(
      async () => {
        try {
          return await runTransaction(this.pool, fn, tx);
        } catch (error) {
          if (idempotent && error instanceof CommitOutcomeUnknown) throw error.original;
          throw error;
        }
      },
      settings,
      { ...(operation ? { operation } : {}), ...(onRetry ? { onRetry } : {}) },
    );
  }

  /**
   * Runs `fn` (statements on the pool, or on a client it borrows through `withClient`) with the
   * retry policy, and maps what finally fails to a typed Cairn error. `fn` must be safe to run
   * again after a transient failure.
   */
  run<R>(fn: (attempt: number) => Promise<R>, options: DbRunOptions = {}): Promise<R> {
    const { retry = true } = options;
    const settings = retry === false ? { ...this.#retry, maxAttempts: 1 } : retry === true ? this.#retry : retry;
    return retrying(fn, settings, options);
  }

  /**
   * Borrows a pooled client for `fn` (an 'error' listener attached for as long as it is borrowed;
   * destroyed instead of returned when its connection failed or `lease.discard()` was called).
   * No retry and no error mapping: use it inside `run()`.
   */
  withClient<R>(fn: (client: pg.PoolClient, lease: ClientLease) => Promise<R>): Promise<R> {
    return withPooledClient(this.pool, fn);
  }

  /**
   * Runs `fn` on a connection of its own, outside the pool, ended afterwards: for work whose session
   * settings must not reach anyone else (SET before CREATE INDEX CONCURRENTLY). Behind PgBouncer it
   * connects through `directUrl`, since a pooled "session" is whichever server connection is free.
   * No retry and no error mapping: use it inside `run()`.
   */
  async withSession<R>(fn: (client: pg.Client) => Promise<R>): Promise<R> {
    const client = new pg.Client(this.clientConfig());
    // A dropped session reports on 'error'; the failing query rejects on its own.
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * A connection string for the same database, credentials included, for components that need
   * their own connection (LISTEN/NOTIFY, other libraries): the direct URL when one was given.
   * Not for logs.
   */
  connectionString(): string {
    return this.#connectionString;
  }

  /**
   * Settings for a standalone pg.Client on the same database (TLS, search_path and timeouts
   * included): a session of its own, so behind PgBouncer it needs `directUrl`.
   */
  clientConfig(): pg.ClientConfig {
    if (!this.#clientConfig) {
      throw new DbError(
        'DIRECT_URL_REQUIRED',
        'This connection needs a session of its own (LISTEN, migrations), which PgBouncer in transaction pooling cannot give: pass `directUrl` to createDb.',
        { category: 'invalid_input' },
      );
    }
    return { ...this.#clientConfig };
  }

  /** Checks the database answers and reports its version and pgvector's. Never throws. */
  async healthCheck(): Promise<DbHealth> {
    const started = performance.now();
    try {
      const { rows } = await this.pool.query<{ version: string; vector: string | null }>(
        `SELECT current_setting('server_version') AS version, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS vector`,
      );
      return {
        ok: true,
        latencyMs: performance.now() - started,
        serverVersion: rows[0]?.version,
        pgvectorVersion: rows[0]?.vector ?? null,
        embedded: this.embedded !== undefined,
      };
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - started, embedded: this.embedded !== undefined, error: (err as Error).message };
    }
  }

  poolStats(): PoolStats {
    return {
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      max: this.#max,
      droppedConnections: this.#dropped.count,
    };
  }

  /**
   * Disconnects Prisma, drains the pool and stops the embedded server. Idempotent. A pool the
   * application handed in is not ended: only the listener Cairn added is removed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.prisma.$disconnect();
      if (this.#ownsPool) {
        // Cairn's own pool keeps its listener: pool.end() resolves before the sockets of its idle
        // clients have closed, and one terminated meanwhile (a DROP DATABASE … WITH (FORCE) right
        // after close) would otherwise be an 'error' on a pool nobody listens to, a crash.
        if (!this.pool.ended) await this.pool.end();
      } else {
        this.pool.off('error', this.#onPoolError);
      }
      await this.embedded?.close();
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Keeps the pool, the client and credentials out of JSON.stringify and logs. */
  toJSON(): Record<string, unknown> {
    return { url: this.url, schema: this.schema, embedded: this.embedded !== undefined };
  }
}

/**
 * A pg.Client that sends every statement unnamed. Behind a transaction pooler, a statement
 * prepared by name on one server connection is unknown on the next (`26000 prepared statement …
 * does not exist`) or already taken there by another client (`42P05 … already exists`); on the
 * embedded server every connection is one PGlite session. Packages keep naming their hot
 * statements; this one place turns the names off.
 */
class UnnamedStatementsClient extends pg.Client {}
// Taken unbound on purpose: the override below calls it with the client as `this`.
// eslint-disable-next-line @typescript-eslint/unbound-method -- always invoked through .call(this, ...)
const namedQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
UnnamedStatementsClient.prototype.query = function query(this: pg.Client, config: unknown, ...rest: unknown[]) {
  if (config !== null && typeof config === 'object' && typeof (config as { name?: unknown }).name === 'string') {
    const { name: _name, ...unnamed } = config as { name: string };
    return namedQuery.call(this, unnamed, ...rest);
  }
  return namedQuery.call(this, config, ...rest);
} as pg.Client['query'];

/** Builds node-postgres settings from validated options and a parsed URL. */
export function poolConfigFor(
  url: string,
  options: Pick<ResolvedDbOptions, 'schema'> & { pool: PoolSettings; pgbouncer?: boolean | undefined },
): { config: pg.PoolConfig; schema: string; pgbouncer: boolean } {
  const parsed = parseDatabaseUrl(url);
  const schema = options.schema ?? parsed.schema ?? 'public';
  const pgbouncer = options.pgbouncer ?? parsed.pgbouncer;
  const { pool } = options;
  const config: pg.PoolConfig = {
    connectionString: parsed.connectionString,
    max: pool.max,
    idleTimeoutMillis: pool.idleTimeoutMs,
    connectionTimeoutMillis: pool.connectionTimeoutMs,
    application_name: pool.applicationName,
    ssl: sslConfig(pool.ssl ?? parsed.sslMode, pool.sslRootCert),
    // PgBouncer refuses start-up parameters it does not know (`options`, `statement_timeout`):
    // behind it, search_path and the timeout come from the role's settings (ALTER ROLE … SET).
    ...(pgbouncer
      ? { Client: UnnamedStatementsClient }
      : {
          // Tables live in `schema`; extensions such as vector usually live in public.
          options: `-c search_path=${schema === 'public' ? 'public' : `${schema},public`}`,
          ...(pool.statementTimeoutMs > 0 ? { statement_timeout: pool.statementTimeoutMs } : {}),
        }),
  };
  return { config, schema, pgbouncer };
}

/**
 * Behind PgBouncer, and on an application's pool, Cairn does not set the search path when it
 * connects: the schema must already be on it.
 */
async function assertSchemaOnSearchPath(pool: pg.Pool, schema: string, why: string): Promise<void> {
  if (schema === 'public') return;
  const { rows } = await pool.query<{ schemas: string[] }>('SELECT current_schemas(false) AS schemas');
  if (!rows[0]?.schemas.includes(schema)) {
    throw new DbError(
      'SEARCH_PATH_MISSING_SCHEMA',
      `${why}, and schema "${schema}" is not on the search_path of its connections. ` +
        `Set it once: ALTER ROLE <role> SET search_path = "${schema}", public; (or \`options: '-c search_path=${schema},public'\` in the pool's settings)`,
      { category: 'invalid_input', details: { schema } },
    );
  }
}

/** node-postgres settings of a pool that belong to the pool, not to each connection. */
const POOL_ONLY_SETTINGS = ['max', 'min', 'idleTimeoutMillis', 'maxUses', 'maxLifetimeSeconds', 'allowExitOnIdle', 'log', 'Promise', 'Client'] as const;

/** A connection string for an application's pool: its own, else one built from its settings. */
function urlOfPool(config: pg.PoolConfig): string | undefined {
  if (config.connectionString) return config.connectionString;
  if (typeof config.password === 'function' || config.stream !== undefined) return undefined;
  const u = new URL('postgresql://localhost');
  u.hostname = config.host ?? pg.defaults.host ?? 'localhost';
  u.port = String(config.port ?? pg.defaults.port ?? 5432);
  u.username = encodeURIComponent(config.user ?? pg.defaults.user ?? 'postgres');
  if (typeof config.password === 'string' && config.password !== '') u.password = encodeURIComponent(config.password);
  u.pathname = `/${encodeURIComponent(config.database ?? pg.defaults.database ?? config.user ?? 'postgres')}`;
  return u.toString();
}

/**
 * The application's pool, checked: Prisma's adapter takes an existing pool only when it is an
 * instance of its own `pg` (it would otherwise read the pool as settings and open a second pool
 * behind Cairn's back), so a pool from another copy of node-postgres is refused with the fix.
 */
function existingPool(pool: pg.Pool): pg.Pool {
  if (pool instanceof pg.Pool) return pool;
  throw new DbError(
    'POOL_FROM_ANOTHER_PG',
    'The pool passed as `pool` was made by another copy of node-postgres (`pg`) than the one @cairn/db and Prisma\'s adapter use. ' +
      'Install one copy (the same `pg` version as @cairn/db depends on, then `npm dedupe`), or pass pool settings and let Cairn create the pool.',
    { category: 'invalid_input' },
  );
}

/** What createDb needs to know about the pool, whoever created it. */
interface PoolPlan {
  pool: pg.Pool;
  owned: boolean;
  schema: string;
  pgbouncer: boolean;
  /** Where migrations and standalone sessions connect; undefined when they cannot (behind PgBouncer without directUrl). */
  directUrl: string | undefined;
  clientConfig: pg.ClientConfig | undefined;
  /** For messages and CairnDb.url. */
  url: string;
  max: number;
  connectionTimeoutMs: number;
}

/** The plan for an application's pool: nothing about it is changed. */
function planForExistingPool(given: pg.Pool, opts: ResolvedDbOptions): PoolPlan {
  if (opts.url !== undefined) {
    throw new DbError('POOL_AND_URL', 'Give either `url` or an existing `pool`, not both: an existing pool already says where it connects.', { category: 'invalid_input' });
  }
  const pool = existingPool(given);
  const config = pool.options as pg.PoolConfig;
  const ownUrl = urlOfPool(config);
  const parsed = ownUrl === undefined ? undefined : parseDatabaseUrl(ownUrl);
  const pgbouncer = opts.pgbouncer ?? parsed?.pgbouncer ?? false;
  const schema = opts.schema ?? parsed?.schema ?? 'public';
  const settings = Object.fromEntries(Object.entries(config).filter(([key]) => !(POOL_ONLY_SETTINGS as readonly string[]).includes(key))) as pg.ClientConfig;
  const directUrl = opts.directUrl ?? (pgbouncer ? undefined : ownUrl);
  const clientConfig = opts.directUrl !== undefined ? poolClientConfig(opts.directUrl, { ...opts, pool: PoolOptionsSchema.parse({}) }) : pgbouncer ? undefined : settings;
  return { pool, owned: false, schema, pgbouncer, directUrl, clientConfig, url: ownUrl ?? 'postgresql://(the application\'s pool)', max: config.max ?? 10, connectionTimeoutMs: config.connectionTimeoutMillis ?? 0 };
}

/** Settings for a standalone connection through `url` (a session of its own: never through PgBouncer). */
function poolClientConfig(url: string, opts: Omit<ResolvedDbOptions, 'pool'> & { pool: PoolSettings }): pg.ClientConfig {
  const { max: _max, idleTimeoutMillis: _idle, ...rest } = poolConfigFor(url, { ...opts, pgbouncer: false }).config;
  return rest;
}

/**
 * Connects to PostgreSQL (or starts the embedded database when `url` is absent, or uses the
 * application's `pool`), checks the connection within `pool.connectionTimeoutMs`, optionally
 * migrates, and returns the handle. Migrating, and the embedded database, need the optional
 * packages they run on; without them this fails with MissingDependencyError naming them.
 */
export async function createDb(options: DbOptions = {}): Promise<CairnDb> {
  const opts = parseInput(DbOptionsSchema, options, 'database options');
  let embedded: EmbeddedPostgres | undefined;
  let plan: PoolPlan | undefined;
  try {
    if (isPgPool(opts.pool)) {
      plan = planForExistingPool(opts.pool, opts);
    } else {
      const settings = opts.pool;
      let url = opts.url;
      if (url === undefined) {
        embedded = await startEmbeddedPostgres(opts.embedded);
        url = embedded.url;
      } else {
        parseDatabaseUrl(url);
      }
      const { config, schema, pgbouncer } = poolConfigFor(url, { ...opts, pool: settings });
      // Every socket connection to the embedded server shares PGlite's one session, as behind a
      // transaction pooler: a name prepared by one pooled client is taken for the others.
      if (embedded) config.Client = UnnamedStatementsClient;
      const directUrl = opts.directUrl ?? (pgbouncer ? undefined : url);
      plan = {
        pool: new pg.Pool(config),
        owned: true,
        schema,
        pgbouncer,
        directUrl,
        clientConfig: directUrl === undefined ? undefined : poolClientConfig(directUrl, { ...opts, pool: settings }),
        url,
        max: settings.max,
        connectionTimeoutMs: settings.connectionTimeoutMs,
      };
    }
    const { pool, schema, directUrl } = plan;
    // An idle client's error (server restart, network drop) must not crash the process: the pool
    // drops that client and the next query gets a fresh connection. Counted and reported. On an
    // application's pool this is one more listener beside the application's own.
    const dropped = { count: 0 };
    const report = opts.onConnectionError ?? ((error: Error) => console.warn(`[cairn] PostgreSQL dropped an idle pooled connection: ${error.message}`));
    const onPoolError = (error: Error) => {
      dropped.count += 1;
      try {
        report(error);
      } catch {
        // A reporter that throws must not turn a dropped connection into a crash.
      }
    };
    pool.on('error', onPoolError);
    try {
      if (opts.migrate ?? embedded !== undefined) {
        if (directUrl === undefined) {
          throw new MigrationError(
            plan.owned
              ? 'Migrations cannot run through PgBouncer in transaction pooling (the migration lock is held by a session, which the pooler hands to others). Give `directUrl` (a connection straight to PostgreSQL), or migrate separately: `npx cairn migrate deploy --url <direct URL>` (or `migrateDatabase(directUrl)` from @cairn/db).'
              : 'Migrations need a connection string, and the pool given has none Cairn can use (or goes through PgBouncer): give `directUrl`, or migrate separately: `npx cairn migrate deploy --url <URL>` (or `migrateDatabase(url)` from @cairn/db).',
          );
        }
        await migrateDatabase(withSchema(directUrl, schema));
      }
      const probe = await pool.connect().catch((err: Error) => {
        throw new DatabaseUnavailableError(describeConnectError(err, plan!.url, plan!.connectionTimeoutMs), { cause: err });
      });
      probe.release();
      if (!plan.owned) await assertSchemaOnSearchPath(pool, schema, 'Cairn uses the pool it was given as it is');
      else if (plan.pgbouncer) await assertSchemaOnSearchPath(pool, schema, 'Behind PgBouncer Cairn cannot set search_path when it connects');
    } catch (error) {
      pool.off('error', onPoolError);
      throw error;
    }
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool, { schema }) });
    return new CairnDb({
      prisma,
      pool,
      schema,
      url: plan.url,
      directUrl,
      pgbouncer: plan.pgbouncer,
      clientConfig: plan.clientConfig,
      max: plan.max,
      retry: opts.retry,
      dropped,
      ownsPool: plan.owned,
      onPoolError,
      embedded,
    });
  } catch (err) {
    if (plan?.owned) await plan.pool.end().catch(() => undefined);
    await embedded?.close();
    throw err;
  }
}
