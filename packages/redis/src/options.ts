// Options of createRedis(), validated with zod. Defaults live in the schema.
import { z } from 'zod';
import { BreakerSettingsSchema } from './circuit-breaker.js';
import { parseRedisUrl, RedisUrlSchema } from './redis-url.js';

const hostPort = z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict();

/** Options of createRedis(), with their defaults. */
export const RedisOptionsSchema = z
  .object({
    /**
     * `redis://[user:password@]host:port[/db]` or `rediss://` for TLS; overrides host/port/db/password.
     * A Redis Cluster by its seed nodes: `redis+cluster://[user:password@]host:port,host:port…`
     * (`rediss+cluster://` for TLS), or a `redis://` URL naming several comma-separated nodes.
     */
    url: RedisUrlSchema.optional(),
    /** @defaultValue '127.0.0.1' */
    host: z.string().min(1).default('127.0.0.1'),
    /** @defaultValue 6379 */
    port: z.number().int().min(1).max(65535).default(6379),
    /** ACL user name (Redis 6+). */
    username: z.string().optional(),
    /** Password (AUTH). Never logged or serialised. */
    password: z.string().optional(),
    /** Logical database (single node and Sentinel only). @defaultValue 0 */
    db: z.number().int().min(0).max(15).default(0),
    /**
     * Prefix of every key and channel this layer touches, applied by Cairn itself (not ioredis'
     * keyPrefix, which SCAN patterns ignore). @defaultValue 'cairn:'
     */
    keyPrefix: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9:_.-]*$/, 'letters, digits and : _ . - only')
      .default('cairn:'),
    /**
     * Put into the keys of every RedisCache on the connection (`<keyPrefix>cache:<cacheScope>:<namespace>:{key}`)
     * and into their SCAN patterns. Give it the database's identity (`CairnDb.epoch()`): a database
     * that is reset or restored from a backup gets a new one, so its caches start empty instead of
     * serving entries of the database that was there before. 1–64 letters, digits and `_ . -`.
     * @defaultValue none: keys without a scope
     */
    cacheScope: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits and _ . - only')
      .optional(),
    /** Milliseconds to establish a connection. @defaultValue 2000 */
    connectTimeoutMs: z.number().int().min(1).default(2_000),
    /** Milliseconds a command may take before it counts as failed. @defaultValue 1000 */
    commandTimeoutMs: z.number().int().min(1).default(1_000),
    /**
     * Times ioredis resends a command that was in flight when the connection dropped. 0 fails it at
     * once (the breaker and the caller's fallback handle it), which is what a cache wants.
     * @defaultValue 0
     */
    maxRetriesPerRequest: z.number().int().min(0).max(20).default(0),
    /** `CLIENT SETNAME` of the connection (subscriber connections add `:sub`), shown by CLIENT LIST. */
    connectionName: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9:_.-]+$/, 'letters, digits and : _ . - only')
      .optional(),
    /**
     * Reconnect backoff: base and cap in milliseconds (exponential with full jitter). Reconnecting
     * never gives up: the breaker keeps calls cheap meanwhile. The cap bounds how long after Redis is
     * reachable again this instance notices, and so how long other instances may still read entries
     * it failed to invalidate (README, "Degradation"). @defaultValue { baseDelayMs: 50, maxDelayMs: 1000 }
     */
    retry: z
      .object({ baseDelayMs: z.number().int().min(1).default(50), maxDelayMs: z.number().int().min(1).default(1_000) })
      .strict()
      .default({ baseDelayMs: 50, maxDelayMs: 1_000 }),
    /** TLS: true for defaults, or settings. Implied by rediss://. */
    tls: z.union([z.boolean(), z.object({ rejectUnauthorized: z.boolean().default(true), ca: z.string().optional(), servername: z.string().optional() }).strict()]).default(false),
    /**
     * ioredis' auto-pipelining: commands issued in the same tick share one write. Off by default: it
     * costs every call one more event-loop turn (a cache hit one at a time took 1.2–1.8× as long with
     * it, twice the client CPU), and pays off only with dozens of calls in flight at once (64 callers:
     * 1.05–1.5× the throughput); bench/RESULTS.md has the figures. @defaultValue false
     */
    enableAutoPipelining: z.boolean().default(false),
    /** Redis Cluster seed nodes; uses ioredis' Cluster client. */
    cluster: z.object({ nodes: z.array(hostPort).min(1) }).strict().optional(),
    /** Redis Sentinel; uses ioredis' sentinel support. */
    sentinel: z
      .object({
        sentinels: z.array(hostPort).min(1),
        /** The master group name the sentinels monitor. */
        name: z.string().min(1),
        /** Password of the sentinels themselves, when they require one. */
        sentinelPassword: z.string().optional(),
      })
      .strict()
      .optional(),
    /** Circuit breaker: consecutive failures to open it, and milliseconds before a trial call. */
    breaker: BreakerSettingsSchema.default({ failureThreshold: 3, resetTimeoutMs: 2_000 }),
  })
  .strict()
  .refine((o) => !(o.cluster && o.sentinel), 'choose cluster or sentinel, not both')
  .refine((o) => o.url === undefined || typeof parseRedisUrl(o.url) !== 'object' || (!o.cluster && !o.sentinel), {
    message: 'the url names a cluster already: drop cluster or sentinel',
    path: ['url'],
  });

/** Options of createRedis(). */
export type RedisOptions = z.input<typeof RedisOptionsSchema>;
/** Options after defaults were applied. @internal */
export type ResolvedRedisOptions = z.output<typeof RedisOptionsSchema>;
