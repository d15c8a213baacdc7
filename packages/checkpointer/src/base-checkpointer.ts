// What every backend shares: input validation, serialization and compression, metrics, the
// change listeners and the retention timer. Backends implement the storage primitives (`store*`),
// which receive validated, packed rows and must be atomic per call.
import { parseInput, type Serializer, JsonSerializer } from '@cairn/core';
import { RedisNotifier, type CairnEvent, type ChangeNotifier, type TenantNotifier } from '@cairn/redis';
import type { Registry } from 'prom-client';
import { newCheckpointId, newCheckpointIdAfter } from './checkpoint-id.js';
import { CheckpointNotFoundError, ClosedError, ConflictError } from './errors.js';
import { CheckpointerMetrics } from './metrics.js';
import type { ResolvedRetentionPolicy } from './retention.js';
import {
  CheckpointerOptionsSchema,
  ForkOptionsSchema,
  GetOptionsSchema,
  HistoryOptionsSchema,
  IdSchema,
  ListOptionsSchema,
  ListThreadIdsSchema,
  PruneInputSchema,
  PutManySchema,
  PutOptionsSchema,
  PutWritesOptionsSchema,
  RawListQuerySchema,
  RawPutOptionsSchema,
  RawPutSchema,
  RawWritesSchema,
  WritesSchema,
  type CheckpointerOptions,
  type ResolvedCheckpointerOptions,
} from './schemas.js';
import { StateCodec, type StoredBytes } from './state-codec.js';
import type {
  Checkpoint,
  CheckpointEvent,
  Checkpointer,
  CheckpointerHealth,
  EncodedValue,
  ForkOptions,
  ForkResult,
  GetOptions,
  HistoryOptions,
  ListOptions,
  Metadata,
  PendingWrite,
  PruneResult,
  PutManyItem,
  PutOptions,
  PutWritesOptions,
  RawCheckpoint,
  RawListQuery,
  RawPutItem,
  RawPutOptions,
  RetentionPolicy,
  WriteConflictMode,
  WriteInput,
} from './types.js';

/** A write as backends store it. */
export interface StoredWrite {
  taskId: string;
  taskPath: string;
  idx: number;
  channel: string;
  value: StoredBytes;
}

/** A checkpoint as backends return it (state still packed). */
export interface StoredRow {
  threadId: string;
  namespace: string;
  checkpointId: string;
  parentId: string | null;
  step: number;
  state: StoredBytes;
  metadata: Metadata;
  createdAt: Date;
  writes: StoredWrite[];
}

/**
 * Where a new row's parent and step come from. Parents inside the same batch are resolved here;
 * `latest` and `id` are resolved by the backend, inside its atomic write.
 */
export type ParentRef = { kind: 'root' } | { kind: 'latest' } | { kind: 'id'; id: string } | { kind: 'batch'; id: string };

/** A row to insert. `step` is known, or is `stepBase`'s step + 1 + `stepOffset`. */
export interface NewRow {
  threadId: string;
  namespace: string;
  checkpointId: string;
  /** The id was given by the caller (conflicts are possible). */
  explicitId: boolean;
  parent: ParentRef;
  step: number | undefined;
  stepBase: ParentRef;
  stepOffset: number;
  state: StoredBytes;
  metadata: Metadata;
  createdAt: Date | undefined;
  writes: StoredWrite[];
}

/** Flags of an insert. */
export interface InsertFlags {
  ifExists: 'error' | 'replace';
  requireParent: boolean;
  /** For single puts with optimistic concurrency: the latest id the caller expects (null: none). */
  expectedLatestId?: string | null | undefined;
}

/** A resolved list query. */
export interface StoreListQuery {
  threadId?: string | undefined;
  namespace?: string | undefined;
  checkpointId?: string | undefined;
  before?: string | undefined;
  after?: string | undefined;
  metadata?: Metadata | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

const PAGE_SIZE = 100;

/** The one notification channel of checkpoint events (tenants are told apart by `tenantId`). */
export const CHECKPOINT_CHANNEL = 'cairn:checkpoints';

/** Shared implementation of Checkpointer; see PostgresCheckpointer and MemoryCheckpointer. */
export abstract class BaseCheckpointer<S = unknown> implements Checkpointer<S> {
  readonly tenantId: string;
  protected readonly options: ResolvedCheckpointerOptions;
  protected readonly codec: StateCodec;
  protected readonly metrics: CheckpointerMetrics;
  readonly #listeners = new Map<string, Set<(event: CheckpointEvent) => void>>();
  #retentionTimer: NodeJS.Timeout | undefined;
  /** The interval's prune while it runs. */
  #pruning: Promise<void> | undefined;
  #closed = false;
  /** Publishes changes to other instances and hears theirs (see `options.notifier` / `options.redis`). */
  readonly #notifier: ChangeNotifier | undefined;
  readonly #ownsNotifier: boolean;
  #remote: Promise<(() => Promise<void>) | undefined> | undefined;
  /** Events this instance published recently, to skip their echo from the notifier. */
  readonly #echoes = new Map<string, number>();

  protected constructor(
    protected readonly backend: 'postgres' | 'memory',
    options: CheckpointerOptions,
  ) {
    this.options = parseInput(CheckpointerOptionsSchema, options, 'checkpointer options');
    this.tenantId = this.options.tenantId;
    this.codec = new StateCodec(this.options.serializer ?? new JsonSerializer(), this.options.readSerializers as Serializer[], this.options.compression);
    this.metrics = new CheckpointerMetrics(backend, { registry: this.options.metrics.registry, prefix: this.options.metrics.prefix });
    this.#notifier = this.options.notifier ?? (this.options.redis?.publish ? new RedisNotifier(this.options.redis.connection) : undefined);
    this.#ownsNotifier = this.options.notifier === undefined && this.#notifier !== undefined;
    const retention = this.options.retention;
    if (retention?.intervalMs !== undefined) {
      this.#retentionTimer = setInterval(() => {
        // A run still going when the next tick comes is not joined by another: overlapping prunes
        // would only compete for the same rows and pile up on the pool.
        if (this.#pruning) {
          this.metrics.retentionSkipped();
          return;
        }
        this.#pruning = this.prune()
          .then(
            () => undefined,
            (error: unknown) => this.reportBackgroundError(error),
          )
          .finally(() => {
            this.#pruning = undefined;
          });
      }, retention.intervalMs);
      // Retention must never keep a process alive.
      this.#retentionTimer.unref();
    }
  }

  get metricsRegistry(): Registry {
    return this.metrics.registry;
  }

  /** The serializer new states are written with. */
  get serializer(): Serializer {
    return this.codec.serializer;
  }

  // ---- storage primitives --------------------------------------------------------------------

  /** Inserts rows atomically; returns nothing (ids are already known). */
  protected abstract storeInsert(rows: NewRow[], flags: InsertFlags): Promise<void>;
  protected abstract storeGet(threadId: string, namespace: string, checkpointId: string | undefined): Promise<StoredRow | undefined>;
  protected abstract storeList(query: StoreListQuery): Promise<StoredRow[]>;
  protected abstract storeHistory(threadId: string, namespace: string, checkpointId: string | undefined, limit: number): Promise<StoredRow[]>;
  protected abstract storeDelete(threadId: string, namespace: string, checkpointId: string): Promise<boolean>;
  protected abstract storeDeleteThread(threadId: string): Promise<number>;
  /** Copies the source row into `newThreadId` with `newId`; false when the source is missing. Throws ConflictError when the target has checkpoints. */
  protected abstract storeFork(threadId: string, namespace: string, checkpointId: string, newThreadId: string, newId: string, metadata: Metadata | undefined): Promise<boolean>;
  /** Stores writes; false when `requireCheckpoint` and the checkpoint is missing (nothing written). */
  protected abstract storeWrites(
    threadId: string,
    namespace: string,
    checkpointId: string,
    writes: StoredWrite[],
    mode: WriteConflictMode,
    requireCheckpoint: boolean,
  ): Promise<boolean>;
  protected abstract storeThreadIds(after: string | undefined, limit: number): Promise<string[]>;
  protected abstract storePrune(policy: ResolvedRetentionPolicy, threadId: string | undefined): Promise<PruneResult>;
  abstract healthCheck(): Promise<CheckpointerHealth>;

  // ---- writes ---------------------------------------------------------------------------------

  async put(threadId: string, state: S, options: PutOptions = {}): Promise<string> {
    this.ensureOpen();
    return this.metrics.track('put', async () => {
      const id = parseInput(IdSchema, threadId, 'thread id');
      const opts = parseInput(PutOptionsSchema, options, 'put options');
      const { expectedLatestId, ...rest } = opts;
      const rows = await this.#prepare([{ ...rest, threadId: id, state: this.codec.encode(state), pendingWrites: this.#encodeWrites(opts.pendingWrites) }]);
      if (typeof expectedLatestId === 'string') this.#sortAfter(rows[0]!, expectedLatestId);
      await this.storeInsert(rows, { ifExists: 'error', requireParent: true, expectedLatestId });
      await this.#afterInsert(rows);
      return rows[0]!.checkpointId;
    });
  }

  /**
   * An optimistic put must become the thread's latest: its id has to sort after the expected
   * latest. A caller-given id that does not is refused; a generated one (this host's clock behind
   * the one that wrote the latest) is replaced by one that sorts after it.
   */
  #sortAfter(row: NewRow, expectedLatestId: string): void {
    if (row.checkpointId > expectedLatestId) return;
    const later = row.explicitId ? undefined : newCheckpointIdAfter(expectedLatestId);
    if (later === undefined) {
      throw new ConflictError(`Checkpoint id ${row.checkpointId} does not sort after the expected latest ${expectedLatestId}: it would never become the thread's latest`, {
        details: { threadId: row.threadId, checkpointId: row.checkpointId, expectedLatestId, reason: 'ID_NOT_AFTER_LATEST' },
      });
    }
    row.checkpointId = later;
  }

  async putMany(items: readonly PutManyItem<S>[]): Promise<string[]> {
    this.ensureOpen();
    return this.metrics.track('putMany', async () => {
      const parsed = parseInput(PutManySchema, items, 'putMany items');
      // Serialize everything before touching storage: one bad item fails the call with nothing written.
      const rows = await this.#prepare(parsed.map((item) => ({ ...item, state: this.codec.encode(item.state), pendingWrites: this.#encodeWrites(item.pendingWrites) })));
      if (rows.length > 0) await this.storeInsert(rows, { ifExists: 'error', requireParent: true });
      await this.#afterInsert(rows);
      return rows.map((row) => row.checkpointId);
    });
  }

  async putRaw(items: readonly RawPutItem[], options: RawPutOptions = {}): Promise<string[]> {
    this.ensureOpen();
    return this.metrics.track('putRaw', async () => {
      const parsed = parseInput(RawPutSchema, items, 'putRaw items');
      const flags = parseInput(RawPutOptionsSchema, options, 'putRaw options');
      const rows = await this.#prepare(parsed);
      if (rows.length > 0) await this.storeInsert(rows, flags);
      await this.#afterInsert(rows);
      return rows.map((row) => row.checkpointId);
    });
  }

  #encodeWrites(writes: readonly WriteInput[] | undefined): WriteInput<EncodedValue>[] | undefined {
    return writes?.map((w) => ({ ...w, value: this.codec.encode(w.value) }));
  }

  /** Packs states, assigns ids and resolves parents and steps inside the batch. */
  async #prepare(items: readonly (Omit<RawPutItem, 'createdAt'> & { createdAt?: Date | undefined })[]): Promise<NewRow[]> {
    const rows: NewRow[] = [];
    // Ids and namespaces never contain NUL (IdSchema, NamespaceSchema): NUL-joined keys are unique.
    const lastInBatch = new Map<string, NewRow>();
    const byId = new Map<string, NewRow>();
    for (const item of items) {
      const namespace = item.namespace ?? '';
      const key = `${item.threadId}\u0000${namespace}`;
      const checkpointId = item.checkpointId ?? newCheckpointId();
      let parent: ParentRef;
      if (item.parentId === null) parent = { kind: 'root' };
      else if (item.parentId === undefined) {
        const previous = lastInBatch.get(key);
        parent = previous ? { kind: 'batch', id: previous.checkpointId } : { kind: 'latest' };
      } else {
        const inBatch = byId.get(`${key}\u0000${item.parentId}`);
        parent = inBatch ? { kind: 'batch', id: inBatch.checkpointId } : { kind: 'id', id: item.parentId };
      }
      let step = item.step;
      let stepBase: ParentRef = parent;
      let stepOffset = 0;
      if (parent.kind === 'root') step ??= 0;
      else if (parent.kind === 'batch') {
        const p = byId.get(`${key}\u0000${parent.id}`)!;
        if (step === undefined && p.step !== undefined) step = p.step + 1;
        stepBase = p.stepBase;
        stepOffset = p.stepOffset + 1;
      }
      // Compression runs in zlib's thread pool, all of an item's values at once; small values skip it.
      const pending = item.pendingWrites ?? [];
      const packed = [this.codec.pack(item.state), ...pending.map((w) => this.codec.pack(w.value))];
      const [state, ...values] = packed.every((p) => !(p instanceof Promise)) ? (packed as StoredBytes[]) : await Promise.all(packed);
      this.metrics.stateBytes(state!.bytes.byteLength);
      const writes = pending.map((w, i) => ({
        taskId: w.taskId,
        taskPath: w.taskPath ?? '',
        idx: w.idx ?? i,
        channel: w.channel,
        value: values[i]!,
      }));
      const row: NewRow = {
        threadId: item.threadId,
        namespace,
        checkpointId,
        explicitId: item.checkpointId !== undefined,
        parent,
        step,
        stepBase,
        stepOffset,
        state: state!,
        metadata: item.metadata ?? {},
        createdAt: item.createdAt,
        writes,
      };
      rows.push(row);
      lastInBatch.set(key, row);
      byId.set(`${key}\u0000${checkpointId}`, row);
    }
    return rows;
  }

  async #afterInsert(rows: readonly NewRow[]): Promise<void> {
    const events = rows.map((row): CheckpointEvent => ({ type: 'checkpoint.saved', tenantId: this.tenantId, threadId: row.threadId, namespace: row.namespace, checkpointId: row.checkpointId }));
    // One invalidation per thread namespace (in parallel), then the events in order.
    const distinct = new Map(events.map((e) => [JSON.stringify([e.threadId, e.type === 'checkpoint.saved' ? e.namespace : '']), e]));
    await Promise.all([...distinct.values()].map((e) => this.onLocalChange(e)));
    for (const event of events) await this.emit(event, false);
  }

  async putWrites(
    threadId: string,
    checkpointId: string,
    taskId: string,
    writes: readonly { channel: string; value: unknown; idx?: number }[],
    options: PutWritesOptions = {},
  ): Promise<void> {
    this.ensureOpen();
    await this.metrics.track('putWrites', async () => {
      const task = parseInput(IdSchema, taskId, 'task id');
      const list = parseInput(WritesSchema, writes, 'writes');
      const encoded = list.map((w) => ({ channel: w.channel, idx: w.idx, taskId: task, value: this.codec.encode(w.value) }));
      await this.#putWrites(threadId, checkpointId, encoded, options);
    });
  }

  async putWritesRaw(threadId: string, checkpointId: string, writes: readonly WriteInput<EncodedValue>[], options: PutWritesOptions = {}): Promise<void> {
    this.ensureOpen();
    await this.metrics.track('putWritesRaw', async () => {
      await this.#putWrites(threadId, checkpointId, parseInput(RawWritesSchema, writes, 'writes'), options);
    });
  }

  async #putWrites(threadId: string, checkpointId: string, writes: readonly WriteInput<EncodedValue>[], options: PutWritesOptions): Promise<void> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const id = parseInput(IdSchema, checkpointId, 'checkpoint id');
    const opts = parseInput(PutWritesOptionsSchema, options, 'putWrites options');
    const packed = await Promise.all(writes.map((w) => this.codec.pack(w.value)));
    const stored = writes.map((w, i) => ({
      taskId: w.taskId,
      taskPath: w.taskPath ?? opts.taskPath,
      idx: w.idx ?? i,
      channel: w.channel,
      value: packed[i]!,
    }));
    if (stored.length === 0) return;
    const found = await this.storeWrites(thread, opts.namespace, id, stored, opts.onConflict, opts.requireCheckpoint);
    if (!found) {
      throw new CheckpointNotFoundError(thread, opts.namespace, id);
    }
    await this.emit({ type: 'checkpoint.saved', tenantId: this.tenantId, threadId: thread, namespace: opts.namespace, checkpointId: id });
  }

  // ---- reads ----------------------------------------------------------------------------------

  async get(threadId: string, checkpointId?: string, options: GetOptions = {}): Promise<Checkpoint<S> | undefined> {
    this.ensureOpen();
    return this.metrics.track('get', async () => {
      const raw = await this.#getRaw(threadId, checkpointId, options);
      return raw && this.#decode(raw);
    });
  }

  async getRaw(threadId: string, checkpointId?: string, options: GetOptions = {}): Promise<RawCheckpoint | undefined> {
    this.ensureOpen();
    return this.metrics.track('getRaw', () => this.#getRaw(threadId, checkpointId, options));
  }

  async #getRaw(threadId: string, checkpointId: string | undefined, options: GetOptions): Promise<RawCheckpoint | undefined> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const id = checkpointId === undefined ? undefined : parseInput(IdSchema, checkpointId, 'checkpoint id');
    const { namespace } = parseInput(GetOptionsSchema, options, 'get options');
    const row = await this.storeGet(thread, namespace, id);
    return row && (await this.#unpack(row));
  }

  async list(threadId: string, options: ListOptions = {}): Promise<Checkpoint<S>[]> {
    this.ensureOpen();
    return this.metrics.track('list', async () => {
      const thread = parseInput(IdSchema, threadId, 'thread id');
      const opts = parseInput(ListOptionsSchema, options, 'list options');
      const rows = await this.storeList({
        threadId: thread,
        namespace: opts.allNamespaces ? undefined : opts.namespace,
        before: opts.before,
        after: opts.after,
        metadata: opts.metadata,
        limit: opts.limit,
        order: 'desc',
      });
      return Promise.all(rows.map(async (row) => this.#decode(await this.#unpack(row))));
    });
  }

  async *listRaw(query: RawListQuery = {}): AsyncIterable<RawCheckpoint> {
    this.ensureOpen();
    const q = parseInput(RawListQuerySchema, query, 'list query');
    // Ids are unique within one thread namespace, so paging by id is exact there; a listing across
    // threads or namespaces is read in one query.
    if (q.threadId === undefined || q.namespace === undefined) {
      const rows = await this.metrics.track('listRaw', () => this.storeList({ ...q, limit: q.limit ?? Number.MAX_SAFE_INTEGER }));
      for (const row of rows) yield await this.#unpack(row);
      return;
    }
    let remaining = q.limit ?? Number.POSITIVE_INFINITY;
    let cursor = q.order === 'desc' ? q.before : q.after;
    while (remaining > 0) {
      const pageSize = Math.min(PAGE_SIZE, remaining);
      const page = await this.metrics.track('listRaw', () =>
        this.storeList({ ...q, ...(q.order === 'desc' ? { before: cursor } : { after: cursor }), limit: pageSize }),
      );
      for (const row of page) yield await this.#unpack(row);
      remaining -= page.length;
      if (page.length < pageSize) return;
      cursor = page[page.length - 1]!.checkpointId;
    }
  }

  async history(threadId: string, checkpointId?: string, options: HistoryOptions = {}): Promise<Checkpoint<S>[]> {
    this.ensureOpen();
    return this.metrics.track('history', async () => (await this.#historyRaw(threadId, checkpointId, options)).map((raw) => this.#decode(raw)));
  }

  async historyRaw(threadId: string, checkpointId?: string, options: HistoryOptions = {}): Promise<RawCheckpoint[]> {
    this.ensureOpen();
    return this.metrics.track('historyRaw', () => this.#historyRaw(threadId, checkpointId, options));
  }

  async #historyRaw(threadId: string, checkpointId: string | undefined, options: HistoryOptions): Promise<RawCheckpoint[]> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const id = checkpointId === undefined ? undefined : parseInput(IdSchema, checkpointId, 'checkpoint id');
    const opts = parseInput(HistoryOptionsSchema, options, 'history options');
    const rows = await this.storeHistory(thread, opts.namespace, id, opts.limit);
    if (rows.length === 0 && id !== undefined) {
      throw new CheckpointNotFoundError(thread, opts.namespace, id);
    }
    return Promise.all(rows.map((row) => this.#unpack(row)));
  }

  async listThreadIds(options: { after?: string; limit?: number } = {}): Promise<string[]> {
    this.ensureOpen();
    return this.metrics.track('listThreadIds', async () => {
      const opts = parseInput(ListThreadIdsSchema, options, 'listThreadIds options');
      return this.storeThreadIds(opts.after, opts.limit);
    });
  }

  decode(value: EncodedValue): unknown {
    return this.codec.decode(value);
  }

  async #unpack(row: StoredRow): Promise<RawCheckpoint> {
    const [state, ...values] = await Promise.all([this.codec.unpack(row.state), ...row.writes.map((w) => this.codec.unpack(w.value))]);
    return {
      threadId: row.threadId,
      namespace: row.namespace,
      checkpointId: row.checkpointId,
      parentId: row.parentId,
      step: row.step,
      state: state!,
      metadata: row.metadata,
      createdAt: row.createdAt,
      pendingWrites: row.writes.map((w, i) => ({ taskId: w.taskId, taskPath: w.taskPath, idx: w.idx, channel: w.channel, value: values[i]! })),
    };
  }

  #decode(raw: RawCheckpoint): Checkpoint<S> {
    return {
      ...raw,
      state: this.codec.decode(raw.state) as S,
      pendingWrites: raw.pendingWrites.map((w): PendingWrite => ({ ...w, value: this.codec.decode(w.value) })),
    };
  }

  // ---- deletes, forks, retention --------------------------------------------------------------

  async delete(threadId: string, checkpointId: string, options: GetOptions = {}): Promise<boolean> {
    this.ensureOpen();
    return this.metrics.track('delete', async () => {
      const thread = parseInput(IdSchema, threadId, 'thread id');
      const id = parseInput(IdSchema, checkpointId, 'checkpoint id');
      const { namespace } = parseInput(GetOptionsSchema, options, 'delete options');
      const deleted = await this.storeDelete(thread, namespace, id);
      if (deleted) await this.emit({ type: 'checkpoint.deleted', tenantId: this.tenantId, threadId: thread, checkpointId: id });
      return deleted;
    });
  }

  async deleteThread(threadId: string): Promise<number> {
    this.ensureOpen();
    return this.metrics.track('deleteThread', async () => {
      const thread = parseInput(IdSchema, threadId, 'thread id');
      const count = await this.storeDeleteThread(thread);
      await this.emit({ type: 'checkpoint.deleted', tenantId: this.tenantId, threadId: thread });
      return count;
    });
  }

  async fork(threadId: string, checkpointId: string, options: ForkOptions = {}): Promise<ForkResult> {
    this.ensureOpen();
    return this.metrics.track('fork', async () => {
      const thread = parseInput(IdSchema, threadId, 'thread id');
      const id = parseInput(IdSchema, checkpointId, 'checkpoint id');
      const opts = parseInput(ForkOptionsSchema, options, 'fork options');
      const newThreadId = opts.newThreadId ?? newCheckpointId();
      const newId = newCheckpointId();
      const found = await this.storeFork(thread, opts.namespace, id, newThreadId, newId, opts.metadata);
      if (!found) {
          throw new CheckpointNotFoundError(thread, opts.namespace, id);
      }
      await this.emit({ type: 'checkpoint.saved', tenantId: this.tenantId, threadId: newThreadId, namespace: opts.namespace, checkpointId: newId });
      return { threadId: newThreadId, checkpointId: newId };
    });
  }

  async prune(policy?: RetentionPolicy & { threadId?: string }): Promise<PruneResult> {
    this.ensureOpen();
    return this.metrics.track('prune', async () => {
      const { intervalMs: _interval, ...configured } = this.options.retention ?? {};
      const input = parseInput(PruneInputSchema, policy ?? configured, 'retention policy');
      const result = await this.storePrune(input, input.threadId);
      this.metrics.pruned(result.deleted);
      for (const threadId of Object.keys(result.threads)) await this.emit({ type: 'checkpoint.deleted', tenantId: this.tenantId, threadId });
      return result;
    });
  }

  // ---- change feed ----------------------------------------------------------------------------

  async subscribe(threadId: string, listener: (event: CheckpointEvent) => void): Promise<() => Promise<void>> {
    this.ensureOpen();
    const thread = parseInput(IdSchema, threadId, 'thread id');
    let set = this.#listeners.get(thread);
    if (!set) this.#listeners.set(thread, (set = new Set()));
    set.add(listener);
    await this.#listenRemote();
    return async () => {
      set.delete(listener);
      if (set.size === 0) this.#listeners.delete(thread);
    };
  }

  #tenantFeed: TenantNotifier | undefined;

  /** This tenant's feed on the notifier (made on first use): it never hears another tenant's events. */
  #feed(): TenantNotifier | undefined {
    return this.#notifier && (this.#tenantFeed ??= this.#notifier.forTenant(this.tenantId));
  }

  /** Delivers an event of this instance to local listeners and to other instances. */
  protected async emit(event: CheckpointEvent, invalidate = true): Promise<void> {
    // Caches first, so a caller that reads after its write never sees the older checkpoint.
    if (invalidate) await this.onLocalChange(event);
    this.deliver(event);
    const notifier = this.#feed();
    if (notifier) {
      const key = JSON.stringify(event);
      // Only while subscribed does our own event come back; bounded in case it never does.
      if (this.#remote) {
        if (this.#echoes.size > 10_000) this.#echoes.clear();
        this.#echoes.set(key, (this.#echoes.get(key) ?? 0) + 1);
      }
      // Publishing is best effort: a notifier outage must not fail the write that already committed.
      notifier.publish(CHECKPOINT_CHANNEL, event as CairnEvent).catch((error: unknown) => {
        this.#forgetEcho(key);
        this.reportBackgroundError(error);
      });
    }
  }

  #forgetEcho(key: string): void {
    const n = (this.#echoes.get(key) ?? 1) - 1;
    if (n <= 0) this.#echoes.delete(key);
    else this.#echoes.set(key, n);
  }

  /** Subscribes once to other instances' events (when a notifier is configured). */
  async #listenRemote(): Promise<void> {
    const notifier = this.#feed();
    if (!notifier) return;
    this.#remote ??= notifier
      .subscribe(CHECKPOINT_CHANNEL, (_channel, event) => {
        if (event.type !== 'checkpoint.saved' && event.type !== 'checkpoint.deleted') return;
        const key = JSON.stringify(event);
        if (this.#echoes.has(key)) {
          this.#forgetEcho(key);
          return;
        }
        this.onRemoteChange(event);
        this.deliver(event);
      })
      .catch((error: unknown) => {
        // Redis down: local listeners still work; try again on the next subscribe.
        this.#remote = undefined;
        this.reportBackgroundError(error);
        return undefined;
      });
    await this.#remote;
  }

  /** Hook for backends: another instance changed a thread. */
  protected onRemoteChange(_event: CheckpointEvent): void {}

  /** Delivers an event (local or from another instance) to this instance's listeners. */
  protected deliver(event: CheckpointEvent): void {
    const set = this.#listeners.get(event.threadId);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not fail the write that triggered it.
        this.reportBackgroundError(error);
      }
    }
  }

  /** Hook for backends with caches: this instance changed a thread. Must not throw. */
  protected async onLocalChange(_event: CheckpointEvent): Promise<void> {}

  protected reportBackgroundError(error: unknown): void {
    this.options.onBackgroundError?.(error);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  protected get closed(): boolean {
    return this.#closed;
  }

  protected ensureOpen(): void {
    if (this.#closed) throw new ClosedError('checkpointer');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retentionTimer) clearInterval(this.#retentionTimer);
    await this.#pruning;
    this.#listeners.clear();
    const unsubscribe = await this.#remote;
    await unsubscribe?.().catch(() => undefined);
    if (this.#ownsNotifier) await this.#notifier?.close();
    await this.closeStorage();
  }

  /** Releases backend resources; called once by close(). */
  protected abstract closeStorage(): Promise<void>;

  /** Keeps JSON.stringify (e.g. of a LangGraph config holding the saver) away from pools and timers. */
  toJSON(): { backend: string; tenantId: string } {
    return { backend: this.backend, tenantId: this.tenantId };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
