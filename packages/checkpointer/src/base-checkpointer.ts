// What every backend shares: input validation, serialization and compression, metrics, the
// change listeners and the retention timer. Backends implement the storage primitives (`store*`),
// which receive validated, packed rows and must be atomic per call.
import { filterCondition, parseInput, type FilterNode, type Serializer, JsonSerializer } from '@cairn/core';
import { RedisNotifier } from '@cairn/redis';
import type { Registry } from 'prom-client';
import { planRows, type NewRow } from './batch-plan.js';
import { ChangeFeed } from './change-feed.js';
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
import { StateCodec } from './state-codec.js';
import type { InsertFlags, StoreListQuery, StoredRow, StoredWrite } from './storage.js';
import type { Checkpoint, CheckpointEvent, CheckpointerHealth, EncodedValue, ForkResult, Metadata, PendingWrite, PruneResult, RawCheckpoint } from './types.js';
import type { ForkOptions, GetOptions, HistoryOptions, ListOptions, PutManyItem, PutOptions, PutWritesOptions, RawListQuery, RawPutItem, RawPutOptions, RetentionPolicy, WriteConflictMode, WriteInput } from './schemas.js';
import type { Checkpointer } from './contract.js';

/**
 * A list's metadata filter: checkpoints whose metadata contains it (jsonb `@>`), as a condition of
 * Cairn's one filter language, so that PostgreSQL (through @cairn/db's compiler, answered by the
 * GIN jsonb_path_ops index) and the memory backend (through core's evaluator) keep the same rows.
 */
export function metadataFilter(metadata: Metadata | undefined): FilterNode | undefined {
  return metadata === undefined ? undefined : filterCondition('$jsonContains', [], metadata, 'metadata');
}

const PAGE_SIZE = 100;

/** Shared implementation of Checkpointer; see PostgresCheckpointer and MemoryCheckpointer. */
export abstract class BaseCheckpointer<S = unknown> implements Checkpointer<S> {
  readonly tenantId: string;
  protected readonly options: ResolvedCheckpointerOptions;
  protected readonly codec: StateCodec;
  protected readonly metrics: CheckpointerMetrics;
  #retentionTimer: NodeJS.Timeout | undefined;
  /** The interval's prune while it runs. */
  #pruning: Promise<void> | undefined;
  #closed = false;
  /** This process's listeners, and other instances' changes (see `options.notifier` / `options.redis`). */
  readonly #feed: ChangeFeed;

  protected constructor(
    protected readonly backend: 'postgres' | 'memory',
    options: CheckpointerOptions,
  ) {
    this.options = parseInput(CheckpointerOptionsSchema, options, 'checkpointer options');
    this.tenantId = this.options.tenantId;
    this.codec = new StateCodec(this.options.serializer ?? new JsonSerializer(), this.options.readSerializers, this.options.compression);
    this.metrics = new CheckpointerMetrics(backend, { registry: this.options.metrics.registry, prefix: this.options.metrics.prefix });
    const notifier = this.options.notifier ?? (this.options.redis?.publish ? new RedisNotifier(this.options.redis.connection) : undefined);
    this.#feed = new ChangeFeed({
      tenantId: this.tenantId,
      notifier,
      ownsNotifier: this.options.notifier === undefined && notifier !== undefined,
      onRemoteChange: (event) => this.onRemoteChange(event),
      reportError: (error) => this.reportBackgroundError(error),
    });
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
    return this.#call('put', async () => {
      const id = parseInput(IdSchema, threadId, 'thread id');
      const opts = parseInput(PutOptionsSchema, options, 'put options');
      const { expectedLatestId, ...rest } = opts;
      const rows = await planRows([{ ...rest, threadId: id, state: this.codec.encode(state), pendingWrites: this.#encodeWrites(opts.pendingWrites) }], this.codec, (bytes) => this.metrics.stateBytes(bytes));
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
    return this.#call('putMany', async () => {
      const parsed = parseInput(PutManySchema, items, 'putMany items');
      // Serialize everything before touching storage: one bad item fails the call with nothing written.
      const rows = await planRows(parsed.map((item) => ({ ...item, state: this.codec.encode(item.state), pendingWrites: this.#encodeWrites(item.pendingWrites) })), this.codec, (bytes) => this.metrics.stateBytes(bytes));
      if (rows.length > 0) await this.storeInsert(rows, { ifExists: 'error', requireParent: true });
      await this.#afterInsert(rows);
      return rows.map((row) => row.checkpointId);
    });
  }

  async putRaw(items: readonly RawPutItem[], options: RawPutOptions = {}): Promise<string[]> {
    return this.#call('putRaw', async () => {
      const parsed = parseInput(RawPutSchema, items, 'putRaw items');
      const flags = parseInput(RawPutOptionsSchema, options, 'putRaw options');
      const rows = await planRows(parsed, this.codec, (bytes) => this.metrics.stateBytes(bytes));
      if (rows.length > 0) await this.storeInsert(rows, flags);
      await this.#afterInsert(rows);
      return rows.map((row) => row.checkpointId);
    });
  }

  #encodeWrites(writes: readonly WriteInput[] | undefined): WriteInput<EncodedValue>[] | undefined {
    return writes?.map((w) => ({ ...w, value: this.codec.encode(w.value) }));
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
    await this.#call('putWrites', async () => {
      const task = parseInput(IdSchema, taskId, 'task id');
      const list = parseInput(WritesSchema, writes, 'writes');
      const encoded = list.map((w) => ({ channel: w.channel, idx: w.idx, taskId: task, value: this.codec.encode(w.value) }));
      await this.#putWrites(threadId, checkpointId, encoded, options);
    });
  }

  async putWritesRaw(threadId: string, checkpointId: string, writes: readonly WriteInput<EncodedValue>[], options: PutWritesOptions = {}): Promise<void> {
    await this.#call('putWritesRaw', async () => {
      await this.#putWrites(threadId, checkpointId, parseInput(RawWritesSchema, writes, 'writes'), options);
    });
  }

  async #putWrites(threadId: string, checkpointId: string, writes: readonly WriteInput<EncodedValue>[], options: PutWritesOptions): Promise<void> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const id = parseInput(IdSchema, checkpointId, 'checkpoint id');
    const opts = parseInput(PutWritesOptionsSchema, options, 'putWrites options');
    // eslint-disable-next-line @typescript-eslint/await-thenable -- pack answers small values at once and compresses large ones in zlib's pool; Promise.all waits for whichever are pending
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
    return this.#call('get', async () => {
      const raw = await this.#getRaw(threadId, checkpointId, options);
      return raw && this.#decode(raw);
    });
  }

  async getRaw(threadId: string, checkpointId?: string, options: GetOptions = {}): Promise<RawCheckpoint | undefined> {
    return this.#call('getRaw', () => this.#getRaw(threadId, checkpointId, options));
  }

  async #getRaw(threadId: string, checkpointId: string | undefined, options: GetOptions): Promise<RawCheckpoint | undefined> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const id = checkpointId === undefined ? undefined : parseInput(IdSchema, checkpointId, 'checkpoint id');
    const { namespace } = parseInput(GetOptionsSchema, options, 'get options');
    const row = await this.storeGet(thread, namespace, id);
    return row && (await this.#unpack(row));
  }

  async list(threadId: string, options: ListOptions = {}): Promise<Checkpoint<S>[]> {
    return this.#call('list', async () => {
      const thread = parseInput(IdSchema, threadId, 'thread id');
      const opts = parseInput(ListOptionsSchema, options, 'list options');
      const rows = await this.storeList({
        threadId: thread,
        namespace: opts.allNamespaces ? undefined : opts.namespace,
        before: opts.before,
        after: opts.after,
        metadata: metadataFilter(opts.metadata),
        limit: opts.limit,
        order: 'desc',
      });
      return Promise.all(rows.map(async (row) => this.#decode(await this.#unpack(row))));
    });
  }

  async *listRaw(query: RawListQuery = {}): AsyncIterable<RawCheckpoint> {
    this.ensureOpen();
    const parsed = parseInput(RawListQuerySchema, query, 'list query');
    const q = { ...parsed, metadata: metadataFilter(parsed.metadata) };
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
    return this.#call('history', async () => (await this.#historyRaw(threadId, checkpointId, options)).map((raw) => this.#decode(raw)));
  }

  async historyRaw(threadId: string, checkpointId?: string, options: HistoryOptions = {}): Promise<RawCheckpoint[]> {
    return this.#call('historyRaw', () => this.#historyRaw(threadId, checkpointId, options));
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
    return this.#call('listThreadIds', async () => {
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
      state,
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
    return this.#call('delete', async () => {
      const thread = parseInput(IdSchema, threadId, 'thread id');
      const id = parseInput(IdSchema, checkpointId, 'checkpoint id');
      const { namespace } = parseInput(GetOptionsSchema, options, 'delete options');
      const deleted = await this.storeDelete(thread, namespace, id);
      if (deleted) await this.emit({ type: 'checkpoint.deleted', tenantId: this.tenantId, threadId: thread, checkpointId: id });
      return deleted;
    });
  }

  async deleteThread(threadId: string): Promise<number> {
    return this.#call('deleteThread', async () => {
      const thread = parseInput(IdSchema, threadId, 'thread id');
      const count = await this.storeDeleteThread(thread);
      await this.emit({ type: 'checkpoint.deleted', tenantId: this.tenantId, threadId: thread });
      return count;
    });
  }

  async fork(threadId: string, checkpointId: string, options: ForkOptions = {}): Promise<ForkResult> {
    return this.#call('fork', async () => {
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
    return this.#call('prune', async () => {
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
    return this.#feed.subscribe(parseInput(IdSchema, threadId, 'thread id'), listener);
  }

  /** Invalidates this instance's caches, then tells listeners here and in other instances. */
  protected async emit(event: CheckpointEvent, invalidate = true): Promise<void> {
    // Caches first, so a caller that reads after its write never sees the older checkpoint.
    if (invalidate) await this.onLocalChange(event);
    this.#feed.publish(event);
  }

  /** Hook for backends: another instance changed a thread. */
  protected onRemoteChange(_event: CheckpointEvent): void {}

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

  /** The prologue of every public call: refused once closed, then counted and timed as `operation`. */
  #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    return this.metrics.track(operation, run);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#retentionTimer) clearInterval(this.#retentionTimer);
    await this.#pruning;
    await this.#feed.close();
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
