// The Checkpointer contract every backend implements (PostgreSQL, memory), and the records it
// deals in. `*Raw` methods move already-serialized states: LangGraph's saver and export/import use
// them so a state is never decoded and re-encoded on the way through.

/** A JSON value, as metadata holds (stored as jsonb). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Checkpoint metadata: a JSON object, filterable by containment in `list`. */
export type Metadata = { [key: string]: JsonValue };

/** A serialized value and the name of its encoding (`json-v1`, `langgraph:json`, ...), uncompressed. */
export interface EncodedValue {
  format: string;
  data: Uint8Array;
}

/** A value a task wrote for a channel against a checkpoint (LangGraph's pending writes). */
export interface PendingWrite<V = unknown> {
  taskId: string;
  /** Path of the task in the graph; writes replay in (taskPath, taskId, idx) order. '' when none. */
  taskPath: string;
  /** Position of the write within the task's writes (negative for LangGraph's special channels). */
  idx: number;
  channel: string;
  value: V;
}

/** One stored checkpoint, as `get`, `list` and `history` return it. */
export interface Checkpoint<S = unknown> {
  threadId: string;
  namespace: string;
  /** Time-ordered id (UUIDv7, or LangGraph's uuid6): the greatest id in a thread is its latest. */
  checkpointId: string;
  parentId: string | null;
  /** Number of ancestors, unless the writer set it (LangGraph stores its step here). */
  step: number;
  state: S;
  metadata: Metadata;
  createdAt: Date;
  /** Pending writes stored against this checkpoint, in (taskPath, taskId, idx) order. */
  pendingWrites: PendingWrite[];
}

/** A checkpoint whose state and write values are still serialized. */
export type RawCheckpoint = Omit<Checkpoint, 'state' | 'pendingWrites'> & {
  state: EncodedValue;
  pendingWrites: PendingWrite<EncodedValue>[];
};

/** A write to store with `put` or `putWrites`: `idx` defaults to the position in the list. */
export interface WriteInput<V = unknown> {
  channel: string;
  value: V;
  taskId: string;
  taskPath?: string;
  idx?: number;
}

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

/** One item of `putMany`. */
export interface PutManyItem<S = unknown> extends Omit<PutOptions, 'expectedLatestId'> {
  threadId: string;
  state: S;
}

/** One item of `putRaw`. */
export interface RawPutItem extends Omit<PutOptions, 'expectedLatestId' | 'pendingWrites'> {
  threadId: string;
  state: EncodedValue;
  pendingWrites?: WriteInput<EncodedValue>[];
  /** Keep an imported checkpoint's original creation time. */
  createdAt?: Date;
}

/** Options of `putRaw`. */
export interface RawPutOptions {
  /** An explicit id that already exists: fail with ConflictError, or overwrite it. @defaultValue 'error' */
  ifExists?: 'error' | 'replace';
  /** Fail with CheckpointNotFoundError when an explicit parent is missing. @defaultValue true */
  requireParent?: boolean;
}

/** Options of `get`. */
export interface GetOptions {
  /** @defaultValue '' */
  namespace?: string;
}

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

/** Options of `history`. */
export interface HistoryOptions {
  /** @defaultValue '' */
  namespace?: string;
  /** At most this many checkpoints, starting with the given one. @defaultValue 1000 */
  limit?: number;
}

/** Options of `fork`. */
export interface ForkOptions {
  /** Namespace of the source checkpoint (the fork keeps it). @defaultValue '' */
  namespace?: string;
  /** Thread to start; must have no checkpoints. @defaultValue a fresh UUIDv7 */
  newThreadId?: string;
  /** Metadata of the fork's first checkpoint (`forkedFrom` is added). @defaultValue the source's metadata */
  metadata?: Metadata;
}

/** Where a fork landed. */
export interface ForkResult {
  threadId: string;
  checkpointId: string;
}

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

/** What a retention run did. */
export interface PruneResult {
  deleted: number;
  /** Deleted checkpoints per thread id. */
  threads: Record<string, number>;
}

/** A change to a thread, delivered by `subscribe`. */
export type CheckpointEvent =
  | { type: 'checkpoint.saved'; tenantId: string; threadId: string; namespace: string; checkpointId: string }
  | { type: 'checkpoint.deleted'; tenantId: string; threadId: string; checkpointId?: string };

/** What `healthCheck()` reports. Never throws. */
export interface CheckpointerHealth {
  ok: boolean;
  backend: 'postgres' | 'memory';
  latencyMs: number;
  error?: string;
  redis?: { ok: boolean; error?: string };
}

/** Storage of workflow checkpoints: the one interface the PostgreSQL and memory backends share. */
export interface Checkpointer<S = unknown> extends AsyncDisposable {
  /** Tenant every call is scoped to. */
  readonly tenantId: string;
  /** Stores a checkpoint and returns its id. */
  put(threadId: string, state: S, options?: PutOptions): Promise<string>;
  /** Stores many checkpoints atomically (all or none) in one round trip; returns their ids in order. */
  putMany(items: readonly PutManyItem<S>[]): Promise<string[]>;
  /** The checkpoint with this id, or the thread's latest when no id is given; undefined if none. */
  get(threadId: string, checkpointId?: string, options?: GetOptions): Promise<Checkpoint<S> | undefined>;
  /** Checkpoints of a thread, newest first. */
  list(threadId: string, options?: ListOptions): Promise<Checkpoint<S>[]>;
  /** The checkpoint (default: latest) and its ancestors, newest first, following forks back to their source. */
  history(threadId: string, checkpointId?: string, options?: HistoryOptions): Promise<Checkpoint<S>[]>;
  /** Deletes one checkpoint and its pending writes; false when it did not exist. */
  delete(threadId: string, checkpointId: string, options?: GetOptions): Promise<boolean>;
  /** Deletes every checkpoint and write of a thread (all namespaces); returns how many checkpoints. */
  deleteThread(threadId: string): Promise<number>;
  /** Starts a new thread whose first checkpoint copies `checkpointId` and has it as parent. */
  fork(threadId: string, checkpointId: string, options?: ForkOptions): Promise<ForkResult>;
  /** Stores one task's pending writes against a checkpoint, atomically. */
  putWrites(threadId: string, checkpointId: string, taskId: string, writes: readonly { channel: string; value: unknown; idx?: number }[], options?: PutWritesOptions): Promise<void>;
  /** Thread ids of this tenant, in id order, for paging through all threads. */
  listThreadIds(options?: { after?: string; limit?: number }): Promise<string[]>;
  /** Applies a retention policy (default: the configured one) to one thread or the whole tenant. */
  prune(policy?: RetentionPolicy & { threadId?: string }): Promise<PruneResult>;
  /** Calls `listener` for each change to the thread (this instance's, and other instances' when a notifier is configured). */
  subscribe(threadId: string, listener: (event: CheckpointEvent) => void): Promise<() => Promise<void>>;
  healthCheck(): Promise<CheckpointerHealth>;

  /** `put` for already-serialized states (LangGraph's saver, imports). */
  putRaw(items: readonly RawPutItem[], options?: RawPutOptions): Promise<string[]>;
  /** `get` without decoding. */
  getRaw(threadId: string, checkpointId?: string, options?: GetOptions): Promise<RawCheckpoint | undefined>;
  /** Pages through checkpoints without decoding them. */
  listRaw(query?: RawListQuery): AsyncIterable<RawCheckpoint>;
  /** `history` without decoding. */
  historyRaw(threadId: string, checkpointId?: string, options?: HistoryOptions): Promise<RawCheckpoint[]>;
  /** `putWrites` for already-serialized values. */
  putWritesRaw(threadId: string, checkpointId: string, writes: readonly WriteInput<EncodedValue>[], options?: PutWritesOptions): Promise<void>;
  /** Decodes a value this checkpointer's serializers can read (by its format). */
  decode(value: EncodedValue): unknown;

  /** Stops background work (retention interval, subscriptions) and releases what the checkpointer owns. */
  close(): Promise<void>;
}
