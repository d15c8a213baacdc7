// A typed collection: one object type of one tenant, validated by a zod schema on every write and
// every read, with optimistic concurrency, history and JSON Patch. Bound to an executor (the pool,
// or the client of an open transaction) and, in write-behind mode, to the store's queue.
// A write that finds the object at another version than expected, or gone, drops the object's
// cache entry: the cache was stale (a write it did not see), and the next read must see the truth.
import { z } from 'zod';
import jsonPatch from 'fast-json-patch';
import { BackoffSchedule, JsonValueSchema, ValidationError, checkId, parseInput, toValidationIssues } from '@cairn/core';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { outcomeUnknown, type Executor } from './executor.js';
import {
  InvalidPatchError,
  ObjectNotFoundError,
  PatchTestFailedError,
  StoredObjectInvalidError,
  VersionConflictError,
} from './errors.js';
import { compileFilter, type Equals, type Where } from './filter.js';
import { storedJsonIssues } from './json.js';
import type { PersistenceMode, ResolvedConflictRetry } from './options.js';
import {
  DELETE_EXPECT_SQL,
  DELETE_SQL,
  EXISTS_SQL,
  LOAD_FOR_UPDATE_SQL,
  LOAD_SQL,
  LOAD_VERSION_SQL,
  ORDER_COLUMNS,
  VERSION_FOR_UPDATE_SQL,
  VERSION_SQL,
  VERSIONS_SQL,
  writeStatement,
  type ObjectRow,
  type VersionDataRow,
  type VersionRow,
  type WriteMode,
  type WrittenRow,
} from './sql.js';
import type { QueuedWrite, WriteBehindQueue } from './write-behind-queue.js';

/** An object as stored: its data plus the version and timestamps the store keeps. */
export interface ObjectRecord<T> {
  readonly type: string;
  readonly id: string;
  /** 1 for a new object, +1 on every write. */
  readonly version: number;
  readonly data: T;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One entry of an object's history (without its data; see loadVersion()). */
export interface VersionInfo {
  readonly version: number;
  /** What produced it: `save`, `update`, `patch`, `restore` or `import`. */
  readonly operation: string;
  readonly createdAt: Date;
}

/** One past (or the current) version of an object, with its data. */
export interface ObjectVersionRecord<T> extends VersionInfo {
  readonly type: string;
  readonly id: string;
  readonly data: T;
}

/** What save() returns: the stored record, or in write-behind mode the queued write. */
export type WriteResult<T, M extends PersistenceMode> = M extends 'write-behind' ? QueuedWrite<ObjectRecord<T>> : ObjectRecord<T>;
/** What delete() returns: whether an object was deleted, or in write-behind mode the queued delete. */
export type DeleteResult<M extends PersistenceMode> = M extends 'write-behind' ? QueuedWrite<boolean> : boolean;

/** Versions are int4 in PostgreSQL: a larger number would fail there (22003) instead of here. */
const MAX_VERSION = 2_147_483_647;
/** A version number as the caller passes it (0 = "must not exist yet"). */
const ExpectedVersionSchema = z.number().int().min(0).max(MAX_VERSION);

const SaveOptionsSchema = z
  .object({
    /** Write only if the object is at this version (0: only if it does not exist). */
    expectedVersion: ExpectedVersionSchema.optional(),
  })
  .strict();
/** Options of save(). */
export type SaveOptions = z.input<typeof SaveOptionsSchema>;

const UpdateOptionsSchema = z
  .object({
    /** Overrides the retry policy's `maxAttempts` for this call. */
    maxAttempts: z.number().int().min(1).max(1000).optional(),
  })
  .strict();
/** Options of update() and upsert(). */
export type UpdateOptions = z.input<typeof UpdateOptionsSchema>;

const ConditionalOptionsSchema = UpdateOptionsSchema.extend({
  /** Apply only at this version; a mismatch raises VersionConflictError at once (no retry). */
  expectedVersion: ExpectedVersionSchema.optional(),
}).strict();
/** Options of patch() and restore(). */
export type ConditionalOptions = z.input<typeof ConditionalOptionsSchema>;

const OrderBySchema = z
  .object({
    /** @defaultValue 'updatedAt' */
    field: z.enum(['updatedAt', 'createdAt', 'id']).default('updatedAt'),
    /** @defaultValue 'desc' for timestamps, 'asc' for id */
    direction: z.enum(['asc', 'desc']).optional(),
  })
  .strict();
/** Sort order of list() and find(). Keyset pagination: stable under concurrent writes. */
export type OrderBy = z.input<typeof OrderBySchema>;

// One schema for list() and find(): list's options are find's without the filters, whose types
// (Where<T>, Equals) zod cannot express; compileFilter checks them.
const ListOptionsSchema = z
  .object({
    /** Page size, 1-1000. @defaultValue 100 */
    limit: z.number().int().min(1).max(1000).default(100),
    /** `nextCursor` of the previous page. */
    cursor: z.string().max(4096).nullable().optional(),
    orderBy: OrderBySchema.default({ field: 'updatedAt' }),
    where: z.unknown().optional(),
    equals: z.unknown().optional(),
  })
  .strict();
/** Options of list(). */
export type ListOptions = Omit<z.input<typeof ListOptionsSchema>, 'where' | 'equals'>;

/** Options of find(): list() options plus filters. */
export interface FindOptions<T> extends ListOptions {
  /** JSON containment on the data (index-backed). */
  where?: Where<T>;
  /** Exact equality on dotted paths. */
  equals?: Equals;
}

/** One RFC 6902 operation. */
export type JsonPatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'move'; from: string; path: string }
  | { op: 'copy'; from: string; path: string }
  | { op: 'test'; path: string; value: unknown };

const Pointer = z.string().max(1024).regex(/^(\/([^~]|~[01])*)*$/, 'must be a JSON Pointer (RFC 6901)');
const PatchSchema = z
  .array(
    z.discriminatedUnion('op', [
      z.object({ op: z.literal('add'), path: Pointer, value: JsonValueSchema }).strict(),
      z.object({ op: z.literal('remove'), path: Pointer }).strict(),
      z.object({ op: z.literal('replace'), path: Pointer, value: JsonValueSchema }).strict(),
      z.object({ op: z.literal('move'), from: Pointer, path: Pointer }).strict(),
      z.object({ op: z.literal('copy'), from: Pointer, path: Pointer }).strict(),
      z.object({ op: z.literal('test'), path: Pointer, value: JsonValueSchema }).strict(),
    ]),
  )
  .max(10_000);

const CountOptionsSchema = z.object({ where: z.unknown().optional(), equals: z.unknown().optional() }).strict();
const VersionsOptionsSchema = z
  .object({
    limit: z.number().int().min(1).max(1000).default(100),
    /** Only versions below this one (for paging back through history). */
    beforeVersion: z.number().int().min(1).max(MAX_VERSION).optional(),
  })
  .strict();
const VersionNumberSchema = z.number().int().min(1).max(MAX_VERSION);

/** @internal What a collection runs against; built by ObjectStore and ObjectTransaction. */
export interface CollectionContext {
  readonly tenantId: string;
  readonly executor: Executor;
  /** Set outside transactions in write-behind mode. */
  readonly queue: WriteBehindQueue | undefined;
  readonly inTransaction: boolean;
  readonly retry: ResolvedConflictRetry;
  readonly keepVersions: number | null;
  /**
   * Awaited after every write outside transactions (cache invalidation, events); inside a
   * transaction it records the write for after COMMIT. `version` is null for a delete.
   */
  readonly afterWrite?: AfterWrite | undefined;
  /**
   * Runs `fn` in a transaction on a client of its own (outside transactions only), again from the
   * start after a transient failure before COMMIT; see #retrying.
   */
  readonly lockedTransaction?: (<R>(fn: (executor: Executor) => Promise<R>) => Promise<R>) | undefined;
  /** Read-through cache of records, when the store has one (never inside transactions). */
  readonly cache?: RecordCache | undefined;
  /**
   * Drops the cached copy of an object a write found stale (another version, or gone) or may have
   * changed (outcome unknown); inside a transaction, once the transaction has ended.
   */
  readonly invalidate?: ((type: string, id: string) => Promise<void>) | undefined;
  assertOpen(): void;
}

/** @internal Announces a write (cache invalidation, events); `version` null for a delete. */
export type AfterWrite = (type: string, id: string, version: number | null) => Promise<void>;

/** @internal Where and how one attempt of a write runs. */
interface WriteRun {
  readonly executor: Executor;
  /** Read with SELECT ... FOR UPDATE (the attempt holds a transaction). */
  readonly forUpdate: boolean;
  readonly afterWrite: AfterWrite | undefined;
}

/** @internal A cache of object rows keyed by tenant, type and id. */
export interface RecordCache {
  load(tenantId: string, type: string, id: string, loader: () => Promise<ObjectRow | null>): Promise<ObjectRow | null>;
  invalidate(tenantId: string, type: string, id: string): Promise<void>;
  /** Many at once (a snapshot import's objects). */
  invalidateMany(keys: ReadonlyArray<readonly [tenantId: string, type: string, id: string]>): Promise<void>;
}

/** @internal Rebinds a collection to another context (a transaction's client). */
export const BIND = Symbol('cairn.objects.bind');

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A typed repository for one object type in one tenant. Obtain it from `store.collection(type, schema)`.
 * `T` is what reads return (the schema's output), `I` what writes accept (its input).
 */
export class Collection<T, I = T, M extends PersistenceMode = 'sync'> {
  /** The object type (stored in the `type` column). */
  readonly type: string;
  /** The schema every write and every read is validated against. */
  readonly schema: z.ZodType<T, I>;
  readonly #ctx: CollectionContext;
  readonly #keepVersions: number | null;
  readonly #retry: ResolvedConflictRetry;
  /** Full jitter: contenders spread out instead of colliding again in lockstep. */
  readonly #conflictBackoff: BackoffSchedule;

  /** @internal use ObjectStore.collection(). */
  constructor(ctx: CollectionContext, type: string, schema: z.ZodType<T, I>, overrides: { keepVersions?: number | null | undefined; retry?: Partial<ResolvedConflictRetry> | undefined } = {}) {
    this.#ctx = ctx;
    this.type = type;
    this.schema = schema;
    this.#keepVersions = overrides.keepVersions === undefined ? ctx.keepVersions : overrides.keepVersions;
    this.#retry = { ...ctx.retry, ...overrides.retry };
    this.#conflictBackoff = new BackoffSchedule({ initialDelayMs: this.#retry.baseDelayMs, maxDelayMs: this.#retry.maxDelayMs });
  }

  /** @internal */
  [BIND](ctx: CollectionContext): Collection<T, I, 'sync'> {
    return new Collection<T, I, 'sync'>(ctx, this.type, this.schema, { keepVersions: this.#keepVersions, retry: this.#retry });
  }

  /** The tenant this collection reads and writes. */
  get tenantId(): string {
    return this.#ctx.tenantId;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Creates or replaces the object. With `expectedVersion`, writes only if the object is at that
   * version (0: only if it does not exist) and otherwise raises VersionConflictError.
   * In write-behind mode an unconditional save resolves once queued (see QueuedWrite).
   */
  save(id: string, data: I, options: SaveOptions & { expectedVersion: number }): Promise<ObjectRecord<T>>;
  save(id: string, data: I, options?: SaveOptions): Promise<WriteResult<T, M>>;
  async save(id: string, data: I, options?: SaveOptions): Promise<ObjectRecord<T> | QueuedWrite<ObjectRecord<T>>> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const expectedVersion = options === undefined ? undefined : parseInput(SaveOptionsSchema, options, 'save options').expectedVersion;
    const { value, json } = this.#validateForWrite(id, data);
    const queue = this.#ctx.queue;
    if (queue && expectedVersion === undefined) {
      // Everything up to enqueue() runs synchronously, so queue order is call order.
      const statement = writeStatement('upsert', { ...this.#key(id), json, operation: 'save', keepVersions: this.#keepVersions });
      return queue.enqueue({ kind: 'save', tenantId: this.#ctx.tenantId, type: this.type, id }, statement, (rows) =>
        this.#record(id, value, rows[0] as WrittenRow),
      );
    }
    if (queue) await queue.drain();
    return this.#repairing(id, () => this.#write(this.#direct(), id, value, json, expectedVersion, 'save'));
  }

  /** Creates the object; raises VersionConflictError if it already exists. */
  create(id: string, data: I): Promise<ObjectRecord<T>> {
    return this.save(id, data, { expectedVersion: 0 });
  }

  /**
   * Deletes the object and its history. Returns false when there was nothing to delete. With
   * `expectedVersion`, deletes only at that version (VersionConflictError otherwise).
   */
  delete(id: string, options: { expectedVersion: number }): Promise<boolean>;
  delete(id: string, options?: { expectedVersion?: number }): Promise<DeleteResult<M>>;
  async delete(id: string, options?: { expectedVersion?: number }): Promise<boolean | QueuedWrite<boolean>> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const expectedVersion = options === undefined ? undefined : parseInput(SaveOptionsSchema, options, 'delete options').expectedVersion;
    const key = this.#key(id);
    const queue = this.#ctx.queue;
    if (queue && expectedVersion === undefined) {
      return queue.enqueue({ kind: 'delete', ...key }, { ...DELETE_SQL, values: [key.tenantId, key.type, key.id] }, (rows) => rows.length > 0);
    }
    if (queue) await queue.drain();
    return this.#repairing(id, async () => {
      const executor = this.#ctx.executor;
      if (expectedVersion === 0) {
        const actual = await this.#currentVersion(executor, id);
        if (actual !== 0) throw new VersionConflictError({ type: this.type, id, expectedVersion: 0, actualVersion: actual });
        return false;
      }
      const statement =
        expectedVersion === undefined
          ? { ...DELETE_SQL, values: [key.tenantId, key.type, key.id] }
          : { ...DELETE_EXPECT_SQL, values: [key.tenantId, key.type, key.id, expectedVersion] };
      const { rows } = await executor.write('object delete', statement);
      if (rows.length === 0) {
        if (expectedVersion === undefined) return false;
        throw new VersionConflictError({ type: this.type, id, expectedVersion, actualVersion: await this.#currentVersion(executor, id) });
      }
      await this.#ctx.afterWrite?.(this.type, id, null);
      return true;
    });
  }

  /**
   * Read-modify-write: loads the object, calls `fn` with its data (a private copy: mutate it, or
   * return new data) and writes the result if nobody wrote in between; on a conflict, loads again
   * and retries with backoff. Raises ObjectNotFoundError if the object does not exist, and
   * VersionConflictError after `maxAttempts`. `fn` may run several times: keep it free of side effects.
   * Inside a transaction the row is locked (SELECT ... FOR UPDATE) instead.
   */
  async update(id: string, fn: (data: T, current: ObjectRecord<T>) => I | void | Promise<I | void>, options?: UpdateOptions): Promise<ObjectRecord<T>> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const opts = options === undefined ? {} : parseInput(UpdateOptionsSchema, options, 'update options');
    await this.#ctx.queue?.drain();
    return this.#retrying(id, opts.maxAttempts, async (run) => {
      const current = await this.#loadForWrite(run, id);
      if (!current) throw new ObjectNotFoundError(this.type, id);
      const draft = current.data;
      const out = await fn(draft, current);
      const next = (out === undefined ? draft : out) as I;
      const { value, json } = this.#validateForWrite(id, next);
      return this.#write(run, id, value, json, current.version, 'update');
    });
  }

  /** Like update(), but creates the object when it is missing (`fn` then receives undefined). */
  async upsert(id: string, fn: (data: T | undefined, current: ObjectRecord<T> | null) => I | Promise<I>, options?: UpdateOptions): Promise<ObjectRecord<T>> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const opts = options === undefined ? {} : parseInput(UpdateOptionsSchema, options, 'upsert options');
    await this.#ctx.queue?.drain();
    return this.#retrying(id, opts.maxAttempts, async (run) => {
      const current = await this.#loadForWrite(run, id);
      const next = await fn(current?.data, current);
      const { value, json } = this.#validateForWrite(id, next);
      return this.#write(run, id, value, json, current?.version ?? 0, current ? 'update' : 'save');
    });
  }

  /**
   * Applies an RFC 6902 JSON Patch (including `test`) atomically: every operation or none, and the
   * result must still match the schema. Without `expectedVersion` the patch is re-applied to the
   * newest version after a concurrent write (its `test` operations guard what must hold).
   */
  async patch(id: string, operations: readonly JsonPatchOperation[], options?: ConditionalOptions): Promise<ObjectRecord<T>> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const ops = parseInput(PatchSchema, operations, 'JSON Patch');
    const opts = options === undefined ? {} : parseInput(ConditionalOptionsSchema, options, 'patch options');
    await this.#ctx.queue?.drain();
    const attempts = opts.expectedVersion === undefined ? opts.maxAttempts : 1;
    return this.#retrying(id, attempts, async (run) => {
      const current = await this.#loadForWrite(run, id);
      if (!current) {
        if (opts.expectedVersion !== undefined && opts.expectedVersion !== 0) {
          throw new VersionConflictError({ type: this.type, id, expectedVersion: opts.expectedVersion, actualVersion: 0 });
        }
        throw new ObjectNotFoundError(this.type, id);
      }
      if (opts.expectedVersion !== undefined && current.version !== opts.expectedVersion) {
        throw new VersionConflictError({ type: this.type, id, expectedVersion: opts.expectedVersion, actualVersion: current.version });
      }
      const next = this.#applyPatch(id, current.data, ops);
      const { value, json } = this.#validateForWrite(id, next);
      return this.#write(run, id, value, json, current.version, 'patch');
    });
  }

  /**
   * Makes version `version` the current data again, as a new version (operation `restore`); the
   * versions in between stay in the history. The old data must match the current schema.
   */
  async restore(id: string, version: number, options?: ConditionalOptions): Promise<ObjectRecord<T>> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const n = parseInput(VersionNumberSchema, version, 'version');
    const opts = options === undefined ? {} : parseInput(ConditionalOptionsSchema, options, 'restore options');
    await this.#ctx.queue?.drain();
    const old = await this.#repairing(id, () => this.loadVersion(id, n));
    const { value, json } = this.#validateForWrite(id, old.data);
    return this.#retrying(id, opts.expectedVersion === undefined ? opts.maxAttempts : 1, async (run) => {
      const current = opts.expectedVersion ?? (await this.#currentVersion(run.executor, id, run.forUpdate));
      if (current === 0) throw new ObjectNotFoundError(this.type, id);
      return this.#write(run, id, value, json, current, 'restore');
    });
  }

  // ---------------------------------------------------------------- reads

  /** The object, or null when it does not exist. Raises StoredObjectInvalidError if the row no longer matches the schema. */
  async load(id: string): Promise<ObjectRecord<T> | null> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const queue = this.#ctx.queue;
    if (queue?.hasPending(this.#ctx.tenantId, this.type, id)) await queue.waitFor(this.#ctx.tenantId, this.type, id);
    const read = async () => (await this.#ctx.executor.read<ObjectRow>('object load', { ...LOAD_SQL, values: [this.#ctx.tenantId, this.type, id] })).rows[0] ?? null;
    const cache = this.#ctx.cache;
    const row = cache ? await cache.load(this.#ctx.tenantId, this.type, id, read) : await read();
    return row ? this.#fromRow(row) : null;
  }

  /** The object; raises ObjectNotFoundError when it does not exist. */
  async get(id: string): Promise<ObjectRecord<T>> {
    const record = await this.load(id);
    if (!record) throw new ObjectNotFoundError(this.type, id);
    return record;
  }

  /** Whether the object exists. */
  async exists(id: string): Promise<boolean> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const queue = this.#ctx.queue;
    if (queue?.hasPending(this.#ctx.tenantId, this.type, id)) await queue.waitFor(this.#ctx.tenantId, this.type, id);
    const { rows } = await this.#ctx.executor.read<{ found: boolean }>('object exists', { ...EXISTS_SQL, values: [this.#ctx.tenantId, this.type, id] });
    return rows[0]?.found === true;
  }

  /** One page of the collection, newest update first by default. */
  list(options: ListOptions = {}): Promise<Page<ObjectRecord<T>>> {
    return this.find(options);
  }

  /**
   * One page of the objects matching `where` (JSON containment) and `equals` (exact values at
   * paths). Paths are checked against the schema; values are sent as parameters.
   */
  async find(options: FindOptions<T> = {}): Promise<Page<ObjectRecord<T>>> {
    this.#ctx.assertOpen();
    const opts = parseInput(ListOptionsSchema, options, 'find options');
    await this.#ctx.queue?.drain();
    const field = opts.orderBy.field;
    const direction = opts.orderBy.direction ?? (field === 'id' ? 'asc' : 'desc');
    const orderKey = `${field}:${direction}`;
    const column = ORDER_COLUMNS[field];
    const dir = direction === 'asc' ? 'ASC' : 'DESC';
    const params: unknown[] = [this.#ctx.tenantId, this.type];
    const filter = compileFilter(this.schema, opts.where, opts.equals, 3);
    const conditions = ['tenant_id = $1', 'type = $2', ...filter.conditions];
    params.push(...filter.params);
    if (opts.cursor) {
      const cursor = decodeCursor(opts.cursor, orderKey);
      const cmp = direction === 'asc' ? '>' : '<';
      if (field === 'id') {
        conditions.push(`id ${cmp} $${params.length + 1}`);
        params.push(cursor.id);
      } else {
        conditions.push(`(${column}, id) ${cmp} ($${params.length + 1}::timestamptz, $${params.length + 2})`);
        params.push(cursor.value, cursor.id);
      }
    }
    params.push(opts.limit + 1);
    const order = field === 'id' ? `id ${dir}` : `${column} ${dir}, id ${dir}`;
    const { rows } = await this.#ctx.executor.read<ObjectRow>('object find', {
      text: `SELECT id, version, data, created_at, updated_at FROM objects WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT $${params.length}`,
      values: params,
    });
    const more = rows.length > opts.limit;
    const items = (more ? rows.slice(0, opts.limit) : rows).map((row) => this.#fromRow(row));
    const last = items.at(-1);
    const nextCursor =
      more && last
        ? encodeCursor(orderKey, field === 'id' ? null : (field === 'createdAt' ? last.createdAt : last.updatedAt).toISOString(), last.id)
        : null;
    return { items, nextCursor };
  }

  /** Every matching object, page by page (for exports and migrations). */
  async *iterate(options: Omit<FindOptions<T>, 'cursor'> = {}): AsyncGenerator<ObjectRecord<T>, void, undefined> {
    let cursor: string | null = null;
    do {
      const page: Page<ObjectRecord<T>> = await this.find({ ...options, cursor });
      yield* page.items;
      cursor = page.nextCursor;
    } while (cursor !== null);
  }

  /** Number of objects (matching `where` / `equals` when given). */
  async count(options: { where?: Where<T>; equals?: Equals } = {}): Promise<number> {
    this.#ctx.assertOpen();
    const opts = parseInput(CountOptionsSchema, options, 'count options');
    await this.#ctx.queue?.drain();
    const filter = compileFilter(this.schema, opts.where, opts.equals, 3);
    const conditions = ['tenant_id = $1', 'type = $2', ...filter.conditions];
    const { rows } = await this.#ctx.executor.read<{ count: string }>('object count', {
      text: `SELECT count(*) AS count FROM objects WHERE ${conditions.join(' AND ')}`,
      values: [this.#ctx.tenantId, this.type, ...filter.params],
    });
    return Number(rows[0]?.count ?? 0);
  }

  // ---------------------------------------------------------------- history

  /** The object's history, newest first (version numbers, operations, times; no data). */
  async versions(id: string, options: { limit?: number; beforeVersion?: number } = {}): Promise<VersionInfo[]> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const opts = parseInput(VersionsOptionsSchema, options, 'versions options');
    await this.#ctx.queue?.drain();
    const { rows } = await this.#ctx.executor.read<VersionRow>('object versions', {
      ...VERSIONS_SQL,
      values: [this.#ctx.tenantId, this.type, id, opts.beforeVersion ?? 2_147_483_647, opts.limit],
    });
    return rows.map((r) => ({ version: r.version, operation: r.operation, createdAt: r.created_at }));
  }

  /**
   * The data the object had at `version`, validated against the current schema (StoredObjectInvalidError
   * if it no longer matches). ObjectNotFoundError if that version does not exist (or was pruned).
   */
  async loadVersion(id: string, version: number): Promise<ObjectVersionRecord<T>> {
    this.#ctx.assertOpen();
    checkId(id, `${this.type} id`);
    const n = parseInput(VersionNumberSchema, version, 'version');
    await this.#ctx.queue?.drain();
    const { rows } = await this.#ctx.executor.read<VersionDataRow>('object version load', {
      ...LOAD_VERSION_SQL,
      values: [this.#ctx.tenantId, this.type, id, n],
    });
    const row = rows[0];
    if (!row) throw new ObjectNotFoundError(this.type, id, n);
    return { type: this.type, id, version: row.version, operation: row.operation, createdAt: row.created_at, data: this.#parseStored(id, row.version, row.data) };
  }

  // ---------------------------------------------------------------- internals

  #key(id: string): { tenantId: string; type: string; id: string } {
    return { tenantId: this.#ctx.tenantId, type: this.type, id };
  }

  /**
   * Checks `data` with core's JSON rule before the schema sees it (a recursive schema would
   * overflow the stack on deep input, a zod record would drop a `__proto__` key, and a key zod
   * strips silently is still the caller's data) and the schema's output after (a transform may
   * produce anything), then parses it with the schema.
   */
  #validateForWrite(id: string, data: unknown): { value: T; json: string } {
    const what = `${this.type} ${JSON.stringify(id)} (data must be JSON)`;
    const before = storedJsonIssues(data);
    if (before.length > 0) throw new ValidationError(what, before);
    const result = this.schema.safeParse(data);
    if (!result.success) throw new ValidationError(`${this.type} ${JSON.stringify(id)}`, toValidationIssues(result.error), { cause: result.error });
    const after = storedJsonIssues(result.data);
    if (after.length > 0) throw new ValidationError(what, after);
    return { value: result.data, json: JSON.stringify(result.data) };
  }

  #parseStored(id: string, version: number, data: unknown): T {
    const result = this.schema.safeParse(data);
    if (!result.success) {
      throw new StoredObjectInvalidError({ type: this.type, id, version, issues: toValidationIssues(result.error) }, { cause: result.error });
    }
    return result.data;
  }

  #fromRow(row: ObjectRow): ObjectRecord<T> {
    return {
      type: this.type,
      id: row.id,
      version: row.version,
      data: this.#parseStored(row.id, row.version, row.data),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  #record(id: string, value: T, row: WrittenRow): ObjectRecord<T> {
    return { type: this.type, id, version: row.version, data: value, createdAt: row.created_at, updatedAt: row.updated_at };
  }

  async #currentVersion(executor: Executor, id: string, forUpdate = false): Promise<number> {
    const { rows } = await executor.read<Pick<WrittenRow, 'version'>>('object version', {
      ...(forUpdate ? VERSION_FOR_UPDATE_SQL : VERSION_SQL),
      values: [this.#ctx.tenantId, this.type, id],
    });
    return rows[0]?.version ?? 0;
  }

  /** How a write runs outside the retry loop: on the context's executor, announced at once. */
  #direct(): WriteRun {
    return { executor: this.#ctx.executor, forUpdate: this.#ctx.inTransaction, afterWrite: this.#ctx.afterWrite };
  }

  async #loadForWrite(run: WriteRun, id: string): Promise<ObjectRecord<T> | null> {
    // With the row locked (in a transaction, or after repeated conflicts), the write that follows
    // cannot conflict: concurrent writers queue up on the lock instead.
    const sql = run.forUpdate ? LOAD_FOR_UPDATE_SQL : LOAD_SQL;
    const { rows } = await run.executor.read<ObjectRow>('object load', { ...sql, values: [this.#ctx.tenantId, this.type, id] });
    return rows[0] ? this.#fromRow(rows[0]) : null;
  }

  async #write(run: WriteRun, id: string, value: T, json: string, expectedVersion: number | undefined, operation: string): Promise<ObjectRecord<T>> {
    const mode: WriteMode = expectedVersion === undefined ? 'upsert' : expectedVersion === 0 ? 'create' : 'expect';
    const { rows } = await run.executor.write<WrittenRow>(
      `object ${operation}`,
      writeStatement(mode, { ...this.#key(id), json, operation, expectedVersion, keepVersions: this.#keepVersions }),
    );
    const row = rows[0];
    if (!row) {
      throw new VersionConflictError({ type: this.type, id, expectedVersion: expectedVersion ?? 0, actualVersion: await this.#currentVersion(run.executor, id) });
    }
    await run.afterWrite?.(this.type, id, row.version);
    return this.#record(id, value, row);
  }

  /**
   * Runs a read-modify-write `body`, retrying after version conflicts with jittered exponential
   * backoff. Optimistic first; after `lockAfterConflicts` conflicts the attempts run in a short
   * transaction that locks the row (SELECT ... FOR UPDATE), so a caller that keeps losing the race
   * under heavy contention is served in lock order instead of starving. That transaction runs
   * again after a transient failure before COMMIT (`body` is free of side effects by contract).
   */
  #retrying<R>(id: string, maxAttempts: number | undefined, body: (run: WriteRun) => Promise<R>): Promise<R> {
    return this.#repairing(id, async () => {
      const { lockAfterConflicts } = this.#retry;
      const attempts = maxAttempts ?? this.#retry.maxAttempts;
      for (let attempt = 1; ; attempt++) {
        try {
          const lock = this.#ctx.lockedTransaction;
          if (this.#ctx.inTransaction || lock === undefined || lockAfterConflicts === 0 || attempt <= lockAfterConflicts) return await body(this.#direct());
          return await this.#lockedAttempt(lock, body);
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
          if (attempt >= attempts) {
            if (attempts === 1) throw error;
            throw new VersionConflictError(
              { type: this.type, id, expectedVersion: error.expectedVersion, actualVersion: error.actualVersion, attempts: attempt },
              { cause: error },
            );
          }
          await sleep(this.#conflictBackoff.delayBeforeRetry(attempt));
        }
      }
    });
  }

  async #lockedAttempt<R>(lock: NonNullable<CollectionContext['lockedTransaction']>, body: (run: WriteRun) => Promise<R>): Promise<R> {
    // Announce the write only after COMMIT: a cache invalidated before it could be refilled with the
    // old row. Each run of the transaction starts a new list: a rolled-back run wrote nothing.
    const { result, written } = await lock(async (executor) => {
      const writes: Array<[string, string, number | null]> = [];
      const value = await body({
        executor,
        forUpdate: true,
        afterWrite: async (type, writtenId, version) => {
          writes.push([type, writtenId, version]);
        },
      });
      return { result: value, written: writes };
    });
    for (const [type, writtenId, version] of written) await this.#ctx.afterWrite?.(type, writtenId, version);
    return result;
  }

  /**
   * Runs a write; when it finds the object at another version or gone, or may have been applied
   * without telling (outcome unknown), drops the object's cache entry before rethrowing.
   */
  async #repairing<R>(id: string, write: () => Promise<R>): Promise<R> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof VersionConflictError || error instanceof ObjectNotFoundError || outcomeUnknown(error)) await this.#ctx.invalidate?.(this.type, id);
      throw error;
    }
  }

  #applyPatch(id: string, document: T, ops: jsonPatch.Operation[]): unknown {
    try {
      // The document is this call's own copy (freshly parsed), so it may be mutated in place.
      return jsonPatch.applyPatch(document, ops, true, true, true).newDocument;
    } catch (error) {
      const err = error as { name?: string; index?: number; message?: string };
      const facts = { type: this.type, id, ...(typeof err.index === 'number' ? { operationIndex: err.index } : {}) };
      if (err.name === 'TEST_OPERATION_FAILED') {
        throw new PatchTestFailedError(`JSON Patch test failed at operation ${err.index ?? '?'} on ${this.type} ${JSON.stringify(id)}`, facts, { cause: error });
      }
      throw new InvalidPatchError(
        `JSON Patch cannot be applied to ${this.type} ${JSON.stringify(id)}: ${(err.message ?? String(error)).split('\n')[0]}`,
        facts,
        { cause: error },
      );
    }
  }
}
