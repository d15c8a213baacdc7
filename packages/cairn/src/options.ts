// Options of createCairn(), validated with zod. Defaults live here, in the schema, and nowhere else.
// Component options are passed through to their packages, which validate them again in full.
import { z } from 'zod';
import { TenantIdSchema } from '@cairn/core';
import type { DbOptions } from '@cairn/db';
import type { CheckpointerOptions } from '@cairn/checkpointer';
import type { ObjectStoreOptions, SessionManagerOptions } from '@cairn/objects';
import { EmbedderSchema } from '@cairn/rag';
import { RedisUrlSchema, type RedisOptions } from '@cairn/redis';
import type { StoreOptions } from '@cairn/store';

/** Tenant ids: core's one tenant rule (an ASCII slug of 1-128 characters: letters, digits, _ . : @ -), as every component checks it. */
export { TenantIdSchema };

const plainObject = <T>(what: string) =>
  z.custom<T>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), `${what} must be an object`);

/** Where change notifications travel. */
export const NOTIFICATION_TRANSPORTS = ['auto', 'redis', 'postgres', 'off'] as const;

export const CairnOptionsSchema = z
  .object({
    /**
     * PostgreSQL URL (needs the `vector` extension). Absent: an embedded PostgreSQL (PGlite +
     * pgvector) under `db.embedded.dataDir`, migrated on start.
     */
    databaseUrl: z.string().min(1, 'must not be empty').optional(),
    /**
     * Redis URL: `redis://` or `rediss://` for one server, `redis+cluster://host:port,host:port` (or
     * several comma-separated nodes) for a Redis Cluster. Absent: no caches; notifications over PostgreSQL.
     */
    redisUrl: RedisUrlSchema.optional(),
    /**
     * Turns text into vectors for `rag` collections. @defaultValue the RAG package's local
     * deterministic embedder (lexical, not semantic; no network), at 384 dimensions
     */
    embedder: EmbedderSchema.optional(),
    /** Tenant every component is scoped to; `forTenant()` gives views of others. @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /**
     * Options of @cairn/db's createDb() besides the URL (pool settings or an existing `pg.Pool`,
     * schema, embedded, migrate). An existing pool is used as it is and left open by close().
     */
    db: plainObject<Omit<DbOptions, 'url'>>('db').optional(),
    /** Redis settings besides the URL. */
    redis: z
      .object({
        /** Prefix of every key and channel this instance uses. @defaultValue 'cairn:' */
        keyPrefix: z
          .string()
          .max(64)
          .regex(/^[A-Za-z0-9:_.-]*$/, 'letters, digits and : _ . - only')
          .default('cairn:'),
        /**
         * Fail createCairn() when Redis does not answer within `readyTimeoutMs`. Off: start degraded
         * (caches miss, PostgreSQL serves everything) and use Redis once it answers. @defaultValue false
         */
        required: z.boolean().default(false),
        /** How long createCairn() waits for the first Redis connection, in ms. @defaultValue 3000 */
        readyTimeoutMs: z.number().int().min(1).max(60_000).default(3_000),
        /** Other createRedis() options (timeouts, retry, breaker, tls, cluster, sentinel). */
        connection: plainObject<Omit<RedisOptions, 'url' | 'keyPrefix'>>('redis.connection').optional(),
      })
      .strict()
      .default({ keyPrefix: 'cairn:', required: false, readyTimeoutMs: 3_000 }),
    /**
     * Change notifications: `auto` uses Redis pub/sub when Redis is configured and PostgreSQL
     * LISTEN/NOTIFY otherwise; `off` disables cross-instance notifications. @defaultValue 'auto'
     */
    notifications: z.enum(NOTIFICATION_TRANSPORTS).default('auto'),
    /**
     * Options of the PostgresCheckpointer besides the tenant and notifier (set by createCairn);
     * `redis.ttlSeconds` tunes its cache when Redis is configured.
     */
    checkpointer: plainObject<Omit<CheckpointerOptions, 'tenantId' | 'notifier' | 'redis'> & { redis?: { ttlSeconds?: number } }>('checkpointer').optional(),
    /** Options of the object store besides the tenant, Redis and notifier (which createCairn sets). */
    objects: plainObject<Omit<ObjectStoreOptions, 'tenantId' | 'redis' | 'notifier'>>('objects').optional(),
    /** Options of the session manager besides the tenant, Redis and notifier (which createCairn sets). */
    sessions: plainObject<Omit<SessionManagerOptions, 'tenantId' | 'redis' | 'notifier' | 'threadData'>>('sessions').optional(),
    /**
     * LangGraph long-term memory as `cairn.store` (a CairnStore: index, ttl, clock; the tenant is
     * createCairn's). Needs the peer @langchain/langgraph-checkpoint. Absent: no `cairn.store`.
     */
    store: plainObject<Omit<StoreOptions, 'tenantId'>>('store').optional(),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.notifications === 'redis' && options.redisUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['notifications'], message: "'redis' needs a redisUrl" });
    }
  });

/** Options of createCairn(). */
export type CairnOptions = z.input<typeof CairnOptionsSchema>;
/** Options after defaults. */
export type ResolvedCairnOptions = z.output<typeof CairnOptionsSchema>;
