// zod schemas for every public input. Defaults live here and nowhere else; `parseInput` turns a
// failure into a ValidationError that lists every problem.
import { z } from 'zod';
import { DEFAULT_RETRY, IdSchema, JsonObjectSchema, RetrySettingsSchema, SerializerSchema, TenantIdSchema, idSchema } from '@cairn/core';
import type { Registry } from 'prom-client';
import { ChangeNotifierSchema, RedisConnectionSchema } from '@cairn/redis';
import type { EncodedValue, Metadata } from './types.js';

/**
 * Thread, checkpoint and task ids and channel names: core's one id rule (1-512 UTF-8 bytes of
 * well-formed Unicode, no NUL or control characters), so no two ids alias in PostgreSQL.
 */
export { IdSchema };

/** Namespaces: the id rule, and may be empty (the root graph). */
export const NamespaceSchema = idSchema({ allowEmpty: true });

const StepSchema = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);

/** Metadata: a JSON object jsonb stores and returns unchanged (core's JSON rule, checked in place). */
export const MetadataSchema = JsonObjectSchema;

/**
 * Metadata of a new checkpoint. `forkedFrom` is reserved: history follows it into the fork's source
 * thread, so only fork() (and an import of an export, through putRaw) may write it; a put that could
 * set it would make another thread's history appear under this one.
 */
export const WriteMetadataSchema = MetadataSchema.superRefine((value, ctx) => {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, 'forkedFrom')) {
    ctx.addIssue({ code: 'custom', path: ['forkedFrom'], message: 'is reserved for fork(): history follows it into the source thread' });
  }
});

/** A write to store with `put` or `putWrites`: `idx` defaults to the position in the list. */
export interface WriteInput<V = unknown> {
  channel: string;
  value: V;
  taskId: string;
  taskPath?: string;
  idx?: number;
}
const WriteSchema = z.object({ channel: IdSchema, value: z.unknown(), idx: StepSchema.optional() });
const WriteInputSchema = WriteSchema.extend({ taskId: IdSchema, taskPath: NamespaceSchema.optional() });

const putOptionFields = {
  namespace: NamespaceSchema.default(''),
  parentId: IdSchema.nullable().optional(),
  metadata: WriteMetadataSchema.optional(),
  checkpointId: IdSchema.optional(),
  step: StepSchema.optional(),
  pendingWrites: z.array(WriteInputSchema).optional(),
};

/** Options of `put`. */
export interface PutOptions {
  /** Sub-graph namespace. @defaultValue '' */
  namespace?: string;
  /**
   * Parent checkpoint. Omitted: the thread's latest checkpoint in this namespace at write time
   * (none for the first). `null`: a root. An id: that checkpoint, which must exist.
   */
  parentId?: string | null;
  metadata?: Metadata;
  /** Use this id instead of a fresh UUIDv7. It must sort after the thread's existing ids to become the latest. */
  checkpointId?: string;
  /** Override the step (default: parent's step + 1, or 0). */
  step?: number;
  /** Pending writes stored in the same statement as the checkpoint. */
  pendingWrites?: WriteInput[];
  /**
   * Optimistic concurrency: write only if the namespace's latest checkpoint is this id (`null`:
   * only if the thread has none), else throw ConflictError.
   */
  expectedLatestId?: string | null;
}
export const PutOptionsSchema = z.object({ ...putOptionFields, expectedLatestId: IdSchema.nullable().optional() }).strict();

/** One item of `putMany`. */
export interface PutManyItem<S = unknown> extends Omit<PutOptions, 'expectedLatestId'> {
  threadId: string;
  state: S;
}
export const PutManyItemSchema = z.object({ ...putOptionFields, threadId: IdSchema, state: z.unknown() }).strict();
export const PutManySchema = z.array(PutManyItemSchema).max(10_000, 'at most 10000 items per call');

// The format name is stored in a text column beside the bytes: the id rule, at most 100 bytes.
const EncodedValueSchema = z.object({ format: idSchema({ maxBytes: 100 }), data: z.instanceof(Uint8Array) });

/** One item of `putRaw`. */
export interface RawPutItem extends Omit<PutOptions, 'expectedLatestId' | 'pendingWrites'> {
  threadId: string;
  state: EncodedValue;
  pendingWrites?: WriteInput<EncodedValue>[];
  /** Keep an imported checkpoint's original creation time. */
  createdAt?: Date;
}
export const RawPutItemSchema = z
  .object({
    ...putOptionFields,
    threadId: IdSchema,
    state: EncodedValueSchema,
    pendingWrites: z.array(WriteInputSchema.extend({ value: EncodedValueSchema })).optional(),
    createdAt: z.date().optional(),
  })
  .strict();
export const RawPutSchema = z.array(RawPutItemSchema).max(10_000, 'at most 10000 items per call');
/** Options of `putRaw`. */
export interface RawPutOptions {
  /** An explicit id that already exists: fail with ConflictError, or overwrite it. @defaultValue 'error' */
  ifExists?: 'error' | 'replace';
  /** Fail with CheckpointNotFoundError when an explicit parent is missing. @defaultValue true */
  requireParent?: boolean;
}
export const RawPutOptionsSchema = z
  .object({ ifExists: z.enum(['error', 'replace']).default('error'), requireParent: z.boolean().default(true) })
  .strict();

/** Options of `get`. */
export interface GetOptions {
  /** @defaultValue '' */
  namespace?: string;
}
export const GetOptionsSchema = z.object({ namespace: NamespaceSchema.default('') }).strict();

const LimitSchema = z.number().int().min(1).max(100_000);

/** Options of `list`. Results are newest first. */
export interface ListOptions {
  /** Namespace to list. @defaultValue '' */
  namespace?: string;
  /** List every namespace of the thread (ignores `namespace`). @defaultValue false */
  allNamespaces?: boolean;
  /** At most this many. @defaultValue 100 */
  limit?: number;
  /** Only checkpoints with an id lower than this one (older). */
  before?: string;
  /** Only checkpoints with an id greater than this one (newer). */
  after?: string;
  /** Only checkpoints whose metadata contains this JSON (jsonb `@>` containment). */
  metadata?: Metadata;
}
export const ListOptionsSchema = z
  .object({
    namespace: NamespaceSchema.default(''),
    allNamespaces: z.boolean().default(false),
    limit: LimitSchema.default(100),
    before: IdSchema.optional(),
    after: IdSchema.optional(),
    metadata: MetadataSchema.optional(),
  })
  .strict();

/** Query of `listRaw`. */
export interface RawListQuery {
  /** Omitted: every thread of the tenant. */
  threadId?: string;
  /** Omitted: every namespace. */
  namespace?: string;
  /** Only this checkpoint id. */
  checkpointId?: string;
  before?: string;
  after?: string;
  metadata?: Metadata;
  /** Omitted: no limit (results are paged). */
  limit?: number;
  /** @defaultValue 'desc' (newest first) */
  order?: 'asc' | 'desc';
}
export const RawListQuerySchema = z
  .object({
    threadId: IdSchema.optional(),
    namespace: NamespaceSchema.optional(),
    checkpointId: IdSchema.optional(),
    before: IdSchema.optional(),
    after: IdSchema.optional(),
    metadata: MetadataSchema.optional(),
    limit: LimitSchema.optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
  })
  .strict();

/** Options of `history`. */
export interface HistoryOptions {
  /** @defaultValue '' */
  namespace?: string;
  /** At most this many checkpoints, starting with the given one. @defaultValue 1000 */
  limit?: number;
}
export const HistoryOptionsSchema = z
  .object({ namespace: NamespaceSchema.default(''), limit: LimitSchema.default(1000) })
  .strict();

/** Options of `fork`. */
export interface ForkOptions {
  /** Namespace of the source checkpoint (the fork keeps it). @defaultValue '' */
  namespace?: string;
  /** Thread to start; must have no checkpoints. @defaultValue a fresh UUIDv7 */
  newThreadId?: string;
  /** Metadata of the fork's first checkpoint (`forkedFrom` is added). @defaultValue the source's metadata */
  metadata?: Metadata;
}
export const ForkOptionsSchema = z
  .object({ namespace: NamespaceSchema.default(''), newThreadId: IdSchema.optional(), metadata: MetadataSchema.optional() })
  .strict();

/** How `putWrites` treats writes already stored for the same task. */
export type WriteConflictMode =
  /** Replace the task's previous writes with these (default). */
  | 'replace'
  /** Keep existing (taskId, idx) writes, add the others (LangGraph's rule for regular writes). */
  | 'ignore'
  /** Overwrite existing (taskId, idx) writes, keep the others (LangGraph's rule for special channels). */
  | 'upsert';
/** Options of `putWrites`. */
export interface PutWritesOptions {
  /** @defaultValue '' */
  namespace?: string;
  /** @defaultValue '' */
  taskPath?: string;
  /** @defaultValue 'replace' */
  onConflict?: WriteConflictMode;
  /** Fail with CheckpointNotFoundError when the checkpoint does not exist. @defaultValue true */
  requireCheckpoint?: boolean;
}
export const PutWritesOptionsSchema = z
  .object({
    namespace: NamespaceSchema.default(''),
    taskPath: NamespaceSchema.default(''),
    onConflict: z.enum(['replace', 'ignore', 'upsert']).default('replace'),
    requireCheckpoint: z.boolean().default(true),
  })
  .strict();
export const WritesSchema = z.array(WriteSchema).max(10_000);
export const RawWritesSchema = z.array(WriteInputSchema.extend({ value: EncodedValueSchema })).max(10_000);

/**
 * A retention policy. A checkpoint is deleted when any rule selects it, except a namespace's
 * latest checkpoint (always kept) and, unless `keepAncestors` is false, every ancestor of a kept
 * checkpoint (so a linear thread only loses history when asked).
 */
export interface RetentionPolicy {
  /** Keep the newest N checkpoints of each thread namespace. */
  keepLast?: number;
  /** Delete checkpoints created more than this many days ago. */
  maxAgeDays?: number;
  /** Keep every ancestor of a kept checkpoint. @defaultValue true */
  keepAncestors?: boolean;
}
export const RetentionPolicySchema = z
  .object({
    /** Keep the newest N checkpoints of each thread namespace. */
    keepLast: z.number().int().min(1).optional(),
    /** Delete checkpoints older than this many days (fractions allowed). */
    maxAgeDays: z.number().positive().finite().optional(),
    /** Keep every ancestor of a kept checkpoint. @defaultValue true */
    keepAncestors: z.boolean().default(true),
  })
  .strict();

export const PruneInputSchema = RetentionPolicySchema.extend({ threadId: IdSchema.optional() }).strict();

export const ListThreadIdsSchema = z.object({ after: IdSchema.optional(), limit: LimitSchema.default(1000) }).strict();

/** Options every checkpointer takes. */
export const CheckpointerOptionsSchema = z
  .object({
    /** Tenant every call is scoped to (core's tenant rule: an ASCII slug of 1-128 characters). @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /** Serializer for new states and writes. @defaultValue new JsonSerializer() (format 'json-v1') */
    serializer: SerializerSchema.optional(),
    /** More serializers able to read older formats (picked by the stored format name). @defaultValue [] */
    readSerializers: z.array(SerializerSchema).default([]),
    compression: z
      .object({
        /** @defaultValue 'brotli' */
        algorithm: z.enum(['gzip', 'brotli', 'none']).default('brotli'),
        /** Serialized states and writes at least this big (bytes) are compressed. @defaultValue 16384 */
        thresholdBytes: z.number().int().min(0).default(16_384),
        /** gzip level (1-9) or brotli quality (0-11). @defaultValue 1 (fast; JSON still shrinks ~5×) */
        level: z.number().int().min(0).max(11).optional(),
      })
      .strict()
      .default({ algorithm: 'brotli', thresholdBytes: 16_384 }),
    /** Retries on transient errors (core's one policy). @defaultValue 4 attempts, 25 ms doubling to 1 s */
    retry: RetrySettingsSchema.default(DEFAULT_RETRY),
    /** Default policy of `prune()`; with `intervalMs`, also applied to the whole tenant on that interval. */
    retention: RetentionPolicySchema.extend({
      /** Run `prune()` every this many ms (timer is unref'd). */
      intervalMs: z.number().int().min(1000).optional(),
    })
      .strict()
      .optional(),
    metrics: z
      .object({
        /** Registry to register metrics on (share one to scrape several components). @defaultValue a new Registry */
        registry: z.custom<Registry>((r) => typeof r === 'object' && r !== null && typeof (r as Registry).metrics === 'function').optional(),
        /** Metric name prefix. @defaultValue 'cairn_checkpointer_' */
        prefix: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/).default('cairn_checkpointer_'),
      })
      .strict()
      .default({ prefix: 'cairn_checkpointer_' }),
    /**
     * Redis (PostgreSQL backend): the latest checkpoint of each thread read is cached in Redis,
     * invalidated on every change, and changes are published to other instances. Redis being
     * down never fails a call. Create the connection with `createRedis()` from @cairn/redis.
     */
    redis: z
      .object({
        connection: RedisConnectionSchema,
        /** Lifetime of a cached latest checkpoint, in seconds. @defaultValue 300 */
        ttlSeconds: z.number().positive().max(86_400).default(300),
        /** Publish and receive changes through Redis pub/sub (unless `notifier` is given). @defaultValue true */
        publish: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /**
     * Where changes are published so other instances' `subscribe` listeners hear them (e.g.
     * `new PostgresNotifier(db)` from @cairn/redis). @defaultValue a RedisNotifier when `redis` is set
     */
    notifier: ChangeNotifierSchema.optional(),
    /** Called with errors of background work (interval retention, cache maintenance). */
    onBackgroundError: z.custom<(error: unknown) => void>((f) => typeof f === 'function').optional(),
  })
  .strict();

/** Options of PostgresCheckpointer and MemoryCheckpointer. */
export type CheckpointerOptions = z.input<typeof CheckpointerOptionsSchema>;
export type ResolvedCheckpointerOptions = z.output<typeof CheckpointerOptionsSchema>;
