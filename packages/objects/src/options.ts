// Options of the object store and its collections, validated with zod. Defaults live here, in the
// schemas, and nowhere else.
import { z } from 'zod';
import { ChangeNotifierSchema, RedisConnectionSchema } from '@cairn/redis';
import type { WriteBehindError } from './errors.js';
import { TenantIdSchema } from '@cairn/core';

const fn = <F>(what: string) => z.custom<F>((v) => typeof v === 'function', `${what} must be a function`);

/** How `update(fn)`, `upsert(fn)`, `patch()` and `restore()` retry after a version conflict. */
export const ConflictRetrySchema = z
  .object({
    /** Attempts in all (the first try included) before VersionConflictError is raised. @defaultValue 20 */
    maxAttempts: z.number().int().min(1).max(1000).default(20),
    /** First backoff ceiling in milliseconds; doubles each attempt, with full jitter. @defaultValue 2 */
    baseDelayMs: z.number().min(0).max(10_000).default(2),
    /** Largest backoff ceiling in milliseconds. @defaultValue 100 */
    maxDelayMs: z.number().min(0).max(60_000).default(100),
    /**
     * Conflicts after which the remaining attempts lock the row (SELECT ... FOR UPDATE in a short
     * transaction) instead of racing again, so heavy contention cannot starve a caller; 0 stays
     * optimistic to the end. @defaultValue 3
     */
    lockAfterConflicts: z.number().int().min(0).max(1000).default(3),
  })
  .strict();
/** Conflict retry policy. */
export type ConflictRetryOptions = z.input<typeof ConflictRetrySchema>;
export type ResolvedConflictRetry = z.output<typeof ConflictRetrySchema>;

/** Write-behind persistence: writes return once queued and a background worker persists them in order. */
export const WriteBehindOptionsSchema = z
  .object({
    mode: z.literal('write-behind'),
    /** Writes queued (not yet persisted) before back-pressure applies. @defaultValue 1000 */
    maxPending: z.number().int().min(1).max(1_000_000).default(1000),
    /** Writes persisted per transaction by the worker. @defaultValue 100 */
    batchSize: z.number().int().min(1).max(10_000).default(100),
    /**
     * What save()/delete() do when `maxPending` writes are queued: `wait` until the worker makes room
     * (back-pressure), or `reject` with WriteQueueFullError. @defaultValue 'wait'
     */
    whenFull: z.enum(['wait', 'reject']).default('wait'),
    /**
     * Ceiling of the first retry delay after a transient failure, in milliseconds; the ceiling doubles
     * each retry up to `retryMaxDelayMs` and each delay is drawn uniformly below it (full jitter, as
     * @cairn/core's BackoffSchedule). @defaultValue 50
     */
    retryBaseDelayMs: z.number().min(0).max(60_000).default(50),
    /** Largest retry delay ceiling, in milliseconds. @defaultValue 5000 */
    retryMaxDelayMs: z.number().min(0).max(3_600_000).default(5_000),
    /**
     * Attempts of a batch failing with transient errors (a lost connection, a deadlock) before the
     * queue stops waiting for them to pass: one last attempt then persists what it can and moves the
     * writes that still fail while PostgreSQL answers to the dead letters. While PostgreSQL cannot be
     * reached nothing is dead-lettered: the writes stay queued, retried every `retryMaxDelayMs` or so,
     * and back-pressure holds writers. 30 attempts is about a minute at the default delays (the mean
     * of the jittered waits). 0: never stop waiting. Permanent errors are never retried, whatever this
     * says. @defaultValue 30
     */
    maxAttempts: z.number().int().min(0).default(30),
    /** How long close() waits for the queue to drain, in milliseconds. @defaultValue 30000 */
    closeTimeoutMs: z.number().int().min(0).default(30_000),
    /**
     * Called for every failed batch attempt (WriteBehindError) and every dead-lettered write
     * (WriteDeadLetteredError). Required: failures must go somewhere.
     */
    onError: fn<(error: WriteBehindError) => void>('onError'),
  })
  .strict();
/** Write-behind settings (`persistence` of createObjectStore()). */
export type WriteBehindOptions = z.input<typeof WriteBehindOptionsSchema>;
export type ResolvedWriteBehindOptions = z.output<typeof WriteBehindOptionsSchema>;

/** Synchronous persistence (the default): a write returns once it is committed. */
export const SyncPersistenceSchema = z.object({ mode: z.literal('sync') }).strict();

export const ObjectStoreOptionsSchema = z
  .object({
    /** Tenant every query of this store is scoped to. @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /** `{ mode: 'sync' }` (default) or write-behind settings. */
    persistence: z.discriminatedUnion('mode', [SyncPersistenceSchema, WriteBehindOptionsSchema]).default({ mode: 'sync' }),
    /** Versions of history kept per object, newest first; null keeps every version. @defaultValue null */
    keepVersions: z.number().int().min(1).nullable().default(null),
    conflictRetry: ConflictRetrySchema.default(ConflictRetrySchema.parse({})),
    /**
     * Caches loaded objects in Redis (read-through; every write invalidates after commit; Redis down
     * means reads go to PostgreSQL). The connection stays the caller's. @defaultValue no cache
     */
    redis: RedisConnectionSchema.optional(),
    /** Longest time an object stays cached, in seconds. @defaultValue 300 */
    cacheTtlSeconds: z.number().int().min(1).max(86_400).default(300),
    /**
     * Publishes `object.updated` / `object.deleted` events on channel `cairn:objects` after each
     * committed write (at most once, not awaited by the write). @defaultValue none
     */
    notifier: ChangeNotifierSchema.optional(),
  })
  .strict();
/** Options of createObjectStore(). */
export type ObjectStoreOptions = z.input<typeof ObjectStoreOptionsSchema>;
export type ResolvedObjectStoreOptions = z.output<typeof ObjectStoreOptionsSchema>;

/** The channel object events are published on. */
export const OBJECT_EVENTS_CHANNEL = 'cairn:objects';

export const CollectionOptionsSchema = z
  .object({
    /** Versions of history kept per object in this collection; overrides the store's `keepVersions`. */
    keepVersions: z.number().int().min(1).nullable().optional(),
    /** Overrides the store's conflict retry policy for this collection. */
    conflictRetry: ConflictRetrySchema.partial().optional(),
  })
  .strict();
/** Options of ObjectStore.collection(). */
export type CollectionOptions = z.input<typeof CollectionOptionsSchema>;

/** `sync` or `write-behind`, as chosen by the options' `persistence.mode`. */
export type PersistenceMode = 'sync' | 'write-behind';

/** The persistence mode a literal options object selects. */
export type PersistenceModeOf<O> = O extends { persistence: { mode: 'write-behind' } } ? 'write-behind' : 'sync';
