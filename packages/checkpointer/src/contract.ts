// The Checkpointer contract every backend implements (PostgreSQL, memory). `*Raw` methods move
// already-serialized states: LangGraph's saver and export/import use them so a state is never
// decoded and re-encoded on the way through.
import type { Checkpoint, CheckpointEvent, CheckpointerHealth, EncodedValue, ForkResult, PruneResult, RawCheckpoint } from './types.js';
import type { ForkOptions, GetOptions, HistoryOptions, ListOptions, PutManyItem, PutOptions, PutWritesOptions, RawListQuery, RawPutItem, RawPutOptions, RetentionPolicy, WriteInput } from './schemas.js';

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
