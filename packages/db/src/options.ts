// Options of createDb(), validated with zod. Defaults live here, in the schema, and nowhere else.
import type pg from 'pg';
import { z } from 'zod';
import { RetrySettingsSchema } from '@cairn/core';
import { SchemaNameSchema, SSL_MODES } from './database-url.js';

export const PoolOptionsSchema = z
  .object({
    /** Maximum number of pooled connections. @defaultValue 10 */
    max: z.number().int().min(1).max(1000).default(10),
    /** Milliseconds an idle connection stays open before it is closed. @defaultValue 10000 */
    idleTimeoutMs: z.number().int().min(0).default(10_000),
    /** Milliseconds to wait for a connection (and for the first connect check) before failing. @defaultValue 5000 */
    connectionTimeoutMs: z.number().int().min(1).max(600_000).default(5_000),
    /** Server-side statement timeout in milliseconds; 0 disables it. @defaultValue 0 */
    statementTimeoutMs: z.number().int().min(0).default(0),
    /** `application_name` shown in pg_stat_activity. @defaultValue 'cairn' */
    applicationName: z.string().min(1).max(63).default('cairn'),
    /**
     * TLS mode, as libpq's sslmode. Overrides `?sslmode=` in the URL. `prefer`/`allow` connect without
     * TLS (node-postgres cannot fall back); `require` encrypts without verifying the certificate;
     * `verify-ca`/`verify-full` verify it. @defaultValue from the URL, else 'disable'
     */
    ssl: z.enum(SSL_MODES).optional(),
    /** PEM CA certificate(s) for `verify-ca` / `verify-full`. */
    sslRootCert: z.string().optional(),
  })
  .strict();
/** Settings of the pool Cairn creates (`pool` of createDb()). */
export type PoolOptions = z.input<typeof PoolOptionsSchema>;
/** Pool settings after defaults. */
export type PoolSettings = z.output<typeof PoolOptionsSchema>;

export const EmbeddedOptionsSchema = z
  .object({
    /** Directory PGlite persists to. @defaultValue '.cairn/pglite' */
    dataDir: z.string().min(1).default('.cairn/pglite'),
    /** Keep everything in memory (nothing persisted; no lock). @defaultValue false */
    inMemory: z.boolean().default(false),
    /** Loopback port to serve the wire protocol on; 0 picks a free one. @defaultValue 0 */
    port: z.number().int().min(0).max(65535).default(0),
    /** Concurrent wire connections the embedded server accepts. @defaultValue 32 */
    maxConnections: z.number().int().min(2).max(256).default(32),
  })
  .strict();
/** The embedded PGlite database (`embedded` of createDb()). */
export type EmbeddedOptions = z.input<typeof EmbeddedOptionsSchema>;

/**
 * Recognises a node-postgres Pool by its shape rather than `instanceof`, so a pool made by another
 * copy of `pg` is recognised too (and then refused with a message saying why: see createDb).
 */
export function isPgPool(value: unknown): value is pg.Pool {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return ['connect', 'query', 'end', 'on', 'off'].every((method) => typeof candidate[method] === 'function') && typeof candidate.totalCount === 'number';
}

/** An application's own pg.Pool, handed to createDb({ pool }). */
export const ExistingPoolSchema = z.custom<pg.Pool>(isPgPool, 'must be pool settings or a pg.Pool');

export const DbOptionsSchema = z
  .object({
    /** PostgreSQL URL. When absent, an embedded PGlite database is started and used. */
    url: z.string().min(1).optional(),
    /**
     * The URL goes through PgBouncer in transaction pooling (or another pooler that hands each
     * transaction to any server connection): no named prepared statements, no start-up parameters
     * PgBouncer refuses (`options`, `statement_timeout`), and migrations and LISTEN only through
     * `directUrl`. @defaultValue `?pgbouncer=true` in the URL, else false
     */
    pgbouncer: z.boolean().optional(),
    /**
     * A direct connection to the same database (not through the pooler), for migrations and
     * LISTEN/NOTIFY. @defaultValue `url` when not behind PgBouncer
     */
    directUrl: z.string().min(1).optional(),
    /** PostgreSQL schema for Cairn's tables (overrides `?schema=`). @defaultValue 'public' */
    schema: SchemaNameSchema.optional(),
    /**
     * Settings of the pool Cairn creates, or an existing `pg.Pool` of the application's. Cairn then
     * uses that pool as it is (its URL, TLS, search_path and timeouts are the application's), never
     * ends it, and on close() removes the listener it added; `url`, `embedded` and these settings do
     * not apply. Migrations and LISTEN connect with `directUrl`, else with the pool's own settings.
     * @defaultValue a pool of Cairn's own with the settings' defaults
     */
    pool: z.union([ExistingPoolSchema, PoolOptionsSchema]).default(PoolOptionsSchema.parse({})),
    embedded: EmbeddedOptionsSchema.default(EmbeddedOptionsSchema.parse({})),
    /**
     * Apply pending migrations on start. @defaultValue true for the embedded database, false for a
     * URL (apply migrations in your release process instead: `npx cairn migrate deploy`, or
     * `migrateDatabase(url)`).
     */
    migrate: z.boolean().optional(),
    /**
     * Retries of `db.transaction()` / `db.run()` (and of every package that runs through them) on
     * transient errors: lost connections, admin shutdown, serialization failures, deadlocks.
     * @defaultValue 4 attempts, 25 ms doubling to 1 s, full jitter
     */
    retry: RetrySettingsSchema.default(RetrySettingsSchema.parse({})),
    /**
     * Where the pool reports connections it lost while idle (a server restart, a network drop,
     * `idle_in_transaction_session_timeout`): they are counted in `poolStats().droppedConnections`
     * and passed here. @defaultValue a one-line console.warn
     */
    onConnectionError: z.custom<(error: Error) => void>((f) => typeof f === 'function').optional(),
  })
  .strict();
/** Options of createDb(). */
export type DbOptions = z.input<typeof DbOptionsSchema>;
export type ResolvedDbOptions = z.output<typeof DbOptionsSchema>;

