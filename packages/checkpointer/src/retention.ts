// Which checkpoints a retention policy deletes, and in what order. Both backends run this
// function (PostgreSQL on the rows of one thread at a time, see postgres-checkpointer.ts), and the
// shared conformance suite checks them.

/** What retention needs to know about a checkpoint. */
export interface RetentionRow {
  threadId: string;
  namespace: string;
  checkpointId: string;
  parentId: string | null;
  createdAt: Date;
}

/** A resolved policy (see RetentionPolicy). */
export interface ResolvedRetentionPolicy {
  keepLast?: number | undefined;
  maxAgeDays?: number | undefined;
  keepAncestors: boolean;
}

const DAY_MS = 86_400_000;

/**
 * Returns the rows to delete: those a rule selects (beyond the newest `keepLast` of their thread
 * namespace, or older than `maxAgeDays`), minus each namespace's latest checkpoint and, when
 * `keepAncestors`, minus every ancestor of a checkpoint that stays.
 *
 * Every row comes before its parent, whatever the ids (caller-given or imported ids need not sort
 * in creation order): deleting in this order, in batches, never leaves a parent deleted while its
 * child stays, so a prune stopped half way leaves a consistent thread, and the PostgreSQL
 * backend's re-check of each batch (a row that gained a child outside the batch stays) only keeps
 * rows that a concurrent put really branched from.
 */
export function selectPrunable<R extends RetentionRow>(rows: readonly R[], policy: ResolvedRetentionPolicy, now: Date): R[] {
  if (policy.keepLast === undefined && policy.maxAgeDays === undefined) return [];
  const groups = new Map<string, R[]>();
  for (const row of rows) {
    const key = JSON.stringify([row.threadId, row.namespace]);
    const group = groups.get(key);
    if (group) group.push(row);
    else groups.set(key, [row]);
  }
  const cutoff = policy.maxAgeDays === undefined ? undefined : now.getTime() - policy.maxAgeDays * DAY_MS;
  const doomed: R[] = [];
  for (const group of groups.values()) {
    group.sort((a, b) => (a.checkpointId < b.checkpointId ? 1 : a.checkpointId > b.checkpointId ? -1 : 0));
    const byId = new Map(group.map((row) => [row.checkpointId, row]));
    const kept = new Set<string>();
    group.forEach((row, rank) => {
      const selected =
        rank > 0 &&
        ((policy.keepLast !== undefined && rank >= policy.keepLast) || (cutoff !== undefined && row.createdAt.getTime() < cutoff));
      if (!selected) kept.add(row.checkpointId);
    });
    if (policy.keepAncestors) {
      for (const id of [...kept]) {
        let parent = byId.get(id)?.parentId ?? null;
        while (parent !== null && !kept.has(parent) && byId.has(parent)) {
          kept.add(parent);
          parent = byId.get(parent)?.parentId ?? null;
        }
      }
    }
    doomed.push(...childrenFirst(group.filter((row) => !kept.has(row.checkpointId))));
  }
  return doomed;
}

/**
 * Orders rows of one thread namespace so that each comes before its parent (a topological order,
 * leaves first; newest first among rows that are free to go). Rows on a parent cycle, which only
 * caller-given parents can make, come last.
 */
function childrenFirst<R extends RetentionRow>(rows: readonly R[]): R[] {
  const byId = new Map(rows.map((row) => [row.checkpointId, row]));
  const children = new Map<string, number>();
  for (const row of rows) if (row.parentId !== null && byId.has(row.parentId)) children.set(row.parentId, (children.get(row.parentId) ?? 0) + 1);
  const ordered = rows.filter((row) => !children.has(row.checkpointId));
  for (let i = 0; i < ordered.length; i += 1) {
    const parentId = ordered[i]!.parentId;
    if (parentId === null || !byId.has(parentId)) continue;
    const left = children.get(parentId)! - 1;
    children.set(parentId, left);
    if (left === 0) ordered.push(byId.get(parentId)!);
  }
  if (ordered.length < rows.length) {
    const placed = new Set(ordered);
    ordered.push(...rows.filter((row) => !placed.has(row)));
  }
  return ordered;
}

/** What the re-check of a batch needs of a checkpoint: where it is and its parent. */
export interface ParentLink {
  namespace: string;
  checkpointId: string;
  parentId: string | null;
}

/**
 * The rows of a batch (one thread) that may still be deleted, given the children its rows have
 * now (`children`, read after the batch was locked): a row that gained a child outside the batch,
 * because a put branched from it after the selection, stays, and so does every ancestor of it in
 * the batch. The walk visits each row at most once.
 */
export function withoutNewParents<R extends ParentLink>(batch: readonly R[], children: readonly ParentLink[]): R[] {
  // Ids and namespaces never contain NUL: NUL-joined keys are unique.
  const key = (namespace: string, id: string) => `${namespace}\u0000${id}`;
  const inBatch = new Map(batch.map((row) => [key(row.namespace, row.checkpointId), row]));
  const held = new Set<R>();
  for (const child of children) {
    if (child.parentId === null || inBatch.has(key(child.namespace, child.checkpointId))) continue;
    for (let at = inBatch.get(key(child.namespace, child.parentId)); at !== undefined && !held.has(at); at = at.parentId === null ? undefined : inBatch.get(key(at.namespace, at.parentId))) {
      held.add(at);
    }
  }
  return held.size === 0 ? [...batch] : batch.filter((row) => !held.has(row));
}
