// The in-memory Checkpointer: same contract as PostgreSQL (it runs the same conformance suite),
// for tests and development. States are serialized on write, so callers never share mutable
// objects with the store and what cannot be serialized fails here too.
import { matchesFilter } from '@cairn/core';
import { ConflictError, CheckpointNotFoundError } from './errors.js';
import { selectPrunable, type ResolvedRetentionPolicy } from './retention.js';
import { BaseCheckpointer } from './base-checkpointer.js';
import type { NewRow, ParentRef } from './batch-plan.js';
import type { InsertFlags, StoreListQuery, StoredRow, StoredWrite } from './storage.js';
import type { CheckpointerOptions } from './schemas.js';
import type { CheckpointerHealth, Metadata, PruneResult } from './types.js';
import type { WriteConflictMode } from './schemas.js';

type Namespaces = Map<string, Map<string, StoredRow>>;

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Code-point order, as PostgreSQL's "C" collation sorts (the order LangGraph replays writes in).
function compareWrites(a: StoredWrite, b: StoredWrite): number {
  return compareCodePoints(a.taskPath, b.taskPath) || compareCodePoints(a.taskId, b.taskId) || a.idx - b.idx;
}

function compareCodePoints(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return Buffer.compare(x, y);
}

function copyRow(row: StoredRow): StoredRow {
  return { ...row, metadata: structuredClone(row.metadata), writes: [...row.writes].sort(compareWrites) };
}

/** Checkpointer kept in process memory. Data is lost on exit; use PostgresCheckpointer in production. */
export class MemoryCheckpointer<S = unknown> extends BaseCheckpointer<S> {
  readonly #threads = new Map<string, Namespaces>();
  /** Writes stored (by LangGraph) before their checkpoint; merged in when it arrives. */
  readonly #orphans = new Map<string, StoredWrite[]>();

  constructor(options: CheckpointerOptions = {}) {
    super('memory', options);
  }

  #namespace(threadId: string, namespace: string): Map<string, StoredRow> | undefined {
    return this.#threads.get(threadId)?.get(namespace);
  }

  /**
   * The latest id of each thread namespace (keyed by its rows map), so a put or a get of the latest
   * does not scan the thread. Kept current by inserts, dropped by deletes and found again on demand.
   */
  readonly #latestIds = new WeakMap<Map<string, StoredRow>, string>();

  #latest(threadId: string, namespace: string): StoredRow | undefined {
    const ids = this.#namespace(threadId, namespace);
    if (!ids) return undefined;
    const known = this.#latestIds.get(ids);
    if (known !== undefined) return ids.get(known);
    let latest: StoredRow | undefined;
    for (const row of ids.values()) {
      if (!latest || row.checkpointId > latest.checkpointId) latest = row;
    }
    if (latest) this.#latestIds.set(ids, latest.checkpointId);
    return latest;
  }

  #resolve(row: NewRow, ref: ParentRef): StoredRow | undefined {
    if (ref.kind === 'latest') return this.#latest(row.threadId, row.namespace);
    if (ref.kind === 'id') return this.#namespace(row.threadId, row.namespace)?.get(ref.id);
    return undefined;
  }

  protected async storeInsert(rows: NewRow[], flags: InsertFlags): Promise<void> {
    // Check everything first so a failing batch leaves nothing behind.
    const first = rows[0];
    if (flags.expectedLatestId !== undefined && first) {
      const latest = this.#latest(first.threadId, first.namespace)?.checkpointId ?? null;
      if (latest !== flags.expectedLatestId) {
        throw new ConflictError(`Thread ${JSON.stringify(first.threadId)} moved on: latest is ${latest}, expected ${flags.expectedLatestId}`, {
          details: { threadId: first.threadId, expectedLatestId: flags.expectedLatestId, actualLatestId: latest },
        });
      }
    }
    const resolved = rows.map((row) => {
      const existing = this.#namespace(row.threadId, row.namespace)?.get(row.checkpointId);
      if (existing && flags.ifExists === 'error') {
        throw new ConflictError(`Checkpoint ${row.checkpointId} already exists in thread ${JSON.stringify(row.threadId)}`, {
          details: { threadId: row.threadId, namespace: row.namespace, checkpointId: row.checkpointId },
        });
      }
      const parentRow = this.#resolve(row, row.parent);
      if (row.parent.kind === 'id' && !parentRow && flags.requireParent) throw new CheckpointNotFoundError(row.threadId, row.namespace, row.parent.id);
      const baseRow = row.stepBase === row.parent ? parentRow : this.#resolve(row, row.stepBase);
      const parentId = row.parent.kind === 'root' ? null : row.parent.kind === 'latest' ? (parentRow?.checkpointId ?? null) : row.parent.id;
      const step = row.step ?? (baseRow ? baseRow.step + 1 : 0) + row.stepOffset;
      return { row, parentId, step, existing };
    });
    const now = new Date();
    for (const { row, parentId, step, existing } of resolved) {
      let namespaces = this.#threads.get(row.threadId);
      if (!namespaces) this.#threads.set(row.threadId, (namespaces = new Map<string, Map<string, StoredRow>>()));
      let ids = namespaces.get(row.namespace);
      if (!ids) namespaces.set(row.namespace, (ids = new Map<string, StoredRow>()));
      const orphanKey = JSON.stringify([row.threadId, row.namespace, row.checkpointId]);
      const earlier = [...(existing?.writes ?? []), ...(this.#orphans.get(orphanKey) ?? [])];
      this.#orphans.delete(orphanKey);
      const writes = new Map(earlier.map((w) => [`${w.taskId}\u0000${w.idx}`, w]));
      for (const w of row.writes) writes.set(`${w.taskId}\u0000${w.idx}`, w);
      const known = this.#latestIds.get(ids);
      if (known === undefined ? ids.size === 0 : row.checkpointId > known) this.#latestIds.set(ids, row.checkpointId);
      ids.set(row.checkpointId, {
        threadId: row.threadId,
        namespace: row.namespace,
        checkpointId: row.checkpointId,
        parentId,
        step,
        state: row.state,
        metadata: structuredClone(row.metadata),
        createdAt: row.createdAt ?? existing?.createdAt ?? now,
        writes: [...writes.values()],
      });
    }
  }

  protected async storeGet(threadId: string, namespace: string, checkpointId: string | undefined): Promise<StoredRow | undefined> {
    const row = checkpointId === undefined ? this.#latest(threadId, namespace) : this.#namespace(threadId, namespace)?.get(checkpointId);
    return row && copyRow(row);
  }

  protected async storeList(query: StoreListQuery): Promise<StoredRow[]> {
    const threads = query.threadId === undefined ? [...this.#threads.values()] : [this.#threads.get(query.threadId)].filter((t) => t !== undefined);
    const rows: StoredRow[] = [];
    for (const namespaces of threads) {
      for (const [namespace, ids] of namespaces) {
        if (query.namespace !== undefined && namespace !== query.namespace) continue;
        for (const row of ids.values()) {
          if (query.checkpointId !== undefined && row.checkpointId !== query.checkpointId) continue;
          if (query.before !== undefined && row.checkpointId >= query.before) continue;
          if (query.after !== undefined && row.checkpointId <= query.after) continue;
          if (query.metadata !== undefined && !matchesFilter(query.metadata, row.metadata)) continue;
          rows.push(row);
        }
      }
    }
    rows.sort((a, b) => (query.order === 'desc' ? compareIds(b.checkpointId, a.checkpointId) : compareIds(a.checkpointId, b.checkpointId)));
    return rows.slice(0, query.limit).map(copyRow);
  }

  protected async storeHistory(threadId: string, namespace: string, checkpointId: string | undefined, limit: number): Promise<StoredRow[]> {
    const out: StoredRow[] = [];
    let row = checkpointId === undefined ? this.#latest(threadId, namespace) : this.#namespace(threadId, namespace)?.get(checkpointId);
    while (row && out.length < limit) {
      out.push(copyRow(row));
      if (row.parentId === null) break;
      const fork = forkSource(row);
      row = fork ? this.#namespace(fork.threadId, fork.namespace)?.get(row.parentId) : this.#namespace(row.threadId, row.namespace)?.get(row.parentId);
    }
    return out;
  }

  protected async storeDelete(threadId: string, namespace: string, checkpointId: string): Promise<boolean> {
    return this.#deleteRow(threadId, namespace, checkpointId);
  }

  #deleteRow(threadId: string, namespace: string, checkpointId: string): boolean {
    const ids = this.#namespace(threadId, namespace);
    const deleted = ids?.delete(checkpointId) ?? false;
    if (deleted && this.#latestIds.get(ids!) === checkpointId) this.#latestIds.delete(ids!);
    if (ids?.size === 0) this.#threads.get(threadId)?.delete(namespace);
    if (this.#threads.get(threadId)?.size === 0) this.#threads.delete(threadId);
    return deleted;
  }

  protected async storeDeleteThread(threadId: string): Promise<number> {
    let count = 0;
    for (const ids of this.#threads.get(threadId)?.values() ?? []) count += ids.size;
    this.#threads.delete(threadId);
    for (const key of this.#orphans.keys()) if ((JSON.parse(key) as string[])[0] === threadId) this.#orphans.delete(key);
    return count;
  }

  protected async storeFork(threadId: string, namespace: string, checkpointId: string, newThreadId: string, newId: string, metadata: Metadata | undefined): Promise<boolean> {
    const source = this.#namespace(threadId, namespace)?.get(checkpointId);
    if (!source) return false;
    if (this.#threads.has(newThreadId)) {
      throw new ConflictError(`Cannot fork into thread ${JSON.stringify(newThreadId)}: it already has checkpoints`, { details: { threadId: newThreadId } });
    }
    const row: StoredRow = {
      ...source,
      threadId: newThreadId,
      checkpointId: newId,
      parentId: checkpointId,
      step: source.step + 1,
      metadata: { ...structuredClone(metadata ?? source.metadata), forkedFrom: { threadId, namespace, checkpointId } },
      createdAt: new Date(),
      writes: [],
    };
    this.#threads.set(newThreadId, new Map([[namespace, new Map([[newId, row]])]]));
    return true;
  }

  protected async storeWrites(
    threadId: string,
    namespace: string,
    checkpointId: string,
    writes: StoredWrite[],
    mode: WriteConflictMode,
    requireCheckpoint: boolean,
  ): Promise<boolean> {
    let row = this.#namespace(threadId, namespace)?.get(checkpointId);
    if (!row) {
      if (requireCheckpoint) return false;
      // LangGraph may store writes before their checkpoint lands; keep them on a placeholder the
      // checkpoint's insert merges into.
      return this.#storeOrphanWrites(threadId, namespace, checkpointId, writes, mode);
    }
    row = { ...row, writes: mergeWrites(row.writes, writes, mode) };
    this.#namespace(threadId, namespace)!.set(checkpointId, row);
    return true;
  }

  #storeOrphanWrites(threadId: string, namespace: string, checkpointId: string, writes: StoredWrite[], mode: WriteConflictMode): boolean {
    const key = JSON.stringify([threadId, namespace, checkpointId]);
    this.#orphans.set(key, mergeWrites(this.#orphans.get(key) ?? [], writes, mode));
    return true;
  }

  protected async storeThreadIds(after: string | undefined, limit: number): Promise<string[]> {
    return [...this.#threads.keys()]
      .filter((id) => after === undefined || id > after)
      .sort(compareIds)
      .slice(0, limit);
  }

  protected async storePrune(policy: ResolvedRetentionPolicy, threadId: string | undefined): Promise<PruneResult> {
    const rows: StoredRow[] = [];
    for (const [id, namespaces] of this.#threads) {
      if (threadId !== undefined && id !== threadId) continue;
      for (const ids of namespaces.values()) rows.push(...ids.values());
    }
    const doomed = selectPrunable(rows, policy, new Date());
    const threads: Record<string, number> = {};
    // Selection and deletion in one synchronous pass: no put can branch from a selected row between them.
    for (const row of doomed) {
      this.#deleteRow(row.threadId, row.namespace, row.checkpointId);
      threads[row.threadId] = (threads[row.threadId] ?? 0) + 1;
    }
    return { deleted: doomed.length, threads };
  }

  async healthCheck(): Promise<CheckpointerHealth> {
    return { ok: !this.closed, backend: 'memory', latencyMs: 0, ...(this.closed ? { error: 'closed' } : {}) };
  }

  protected async closeStorage(): Promise<void> {
    this.#threads.clear();
  }
}

/** The fork a row starts, if it is the first checkpoint of a fork. */
export function forkSource(row: { parentId: string | null; metadata: Metadata }): { threadId: string; namespace: string } | undefined {
  const from = row.metadata.forkedFrom;
  if (from === null || typeof from !== 'object' || Array.isArray(from)) return undefined;
  if (from.checkpointId !== row.parentId || typeof from.threadId !== 'string' || typeof from.namespace !== 'string') return undefined;
  return { threadId: from.threadId, namespace: from.namespace };
}

function mergeWrites(existing: readonly StoredWrite[], writes: readonly StoredWrite[], mode: WriteConflictMode): StoredWrite[] {
  const tasks = new Set(writes.map((w) => w.taskId));
  const kept = mode === 'replace' ? existing.filter((w) => !tasks.has(w.taskId)) : [...existing];
  const byKey = new Map(kept.map((w) => [`${w.taskId}\u0000${w.idx}`, w]));
  for (const w of writes) {
    const key = `${w.taskId}\u0000${w.idx}`;
    if (mode === 'ignore' && byKey.has(key)) continue;
    byKey.set(key, w);
  }
  return [...byKey.values()];
}
