// The records the Checkpointer contract (contract.ts) deals in. The options it takes are declared
// beside their schemas (schemas.ts).

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

/** Where a fork landed. */
export interface ForkResult {
  threadId: string;
  checkpointId: string;
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
