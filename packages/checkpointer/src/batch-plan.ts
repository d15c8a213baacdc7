// Batch planning for put, putMany and putRaw: what each new row's id, parent and step are before
// the backend writes the batch atomically.
import { newCheckpointId } from './checkpoint-id.js';
import type { StoredWrite } from './storage.js';
import type { StateCodec, StoredBytes } from './state-codec.js';
import type { Metadata } from './types.js';
import type { RawPutItem } from './schemas.js';

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

/** What planRows takes per item: a raw put item whose creation time may be left to the database. */
export type PlannedItem = Omit<RawPutItem, 'createdAt'> & { createdAt?: Date | undefined };

/**
 * Packs states, assigns ids and resolves parents and steps inside the batch: a row whose parent is
 * an earlier row of the same call is linked here; the thread's latest and named parents are left to
 * the backend, which resolves them inside its atomic write.
 */
export async function planRows(items: readonly PlannedItem[], codec: StateCodec, onStateBytes: (bytes: number) => void): Promise<NewRow[]> {
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
    const packed = [codec.pack(item.state), ...pending.map((w) => codec.pack(w.value))];
    const [state, ...values] = packed.every((p) => !(p instanceof Promise))
      ? (packed as StoredBytes[])
      : // eslint-disable-next-line @typescript-eslint/await-thenable -- pack answers small values at once and compresses large ones in zlib's pool; Promise.all waits for whichever are pending
        await Promise.all(packed);
    onStateBytes(state!.bytes.byteLength);
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
