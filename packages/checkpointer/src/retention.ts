// Which checkpoints a retention policy deletes. The memory backend runs this function; the
// PostgreSQL backend runs the same rules as one SQL statement (see postgres-sql.ts), and the
// shared conformance suite checks both agree.

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
    for (const row of group) if (!kept.has(row.checkpointId)) doomed.push(row);
  }
  return doomed;
}
