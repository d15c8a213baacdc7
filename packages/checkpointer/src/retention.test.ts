import { describe, expect, it, jest } from '@jest/globals';
import { selectPrunable, withoutNewParents, type ParentLink, type ResolvedRetentionPolicy, type RetentionRow } from './retention.js';
import { MemoryCheckpointer } from './memory-checkpointer.js';
import type { PruneResult } from './types.js';

const now = new Date('2026-06-01T00:00:00Z');
const day = 86_400_000;
function row(id: string, parentId: string | null, ageDays = 0, threadId = 't', namespace = ''): RetentionRow {
  return { threadId, namespace, checkpointId: id, parentId, createdAt: new Date(now.getTime() - ageDays * day) };
}
const ids = (rows: RetentionRow[]) => rows.map((r) => r.checkpointId).sort();

describe('selectPrunable', () => {
  const linear = [row('a', null, 5), row('b', 'a', 4), row('c', 'b', 3), row('d', 'c', 2)];

  it('deletes nothing without a rule', () => {
    expect(selectPrunable(linear, { keepAncestors: false }, now)).toEqual([]);
  });

  it('keeps the ancestors of kept checkpoints unless asked', () => {
    expect(selectPrunable(linear, { keepLast: 1, keepAncestors: true }, now)).toEqual([]);
    expect(ids(selectPrunable(linear, { keepLast: 2, keepAncestors: false }, now))).toEqual(['a', 'b']);
  });

  it('applies maxAgeDays but never deletes the latest', () => {
    const old = [row('a', null, 30), row('b', 'a', 20)];
    expect(ids(selectPrunable(old, { maxAgeDays: 7, keepAncestors: false }, now))).toEqual(['a']);
    expect(ids(selectPrunable(linear, { maxAgeDays: 3.5, keepAncestors: false }, now))).toEqual(['a', 'b']);
  });

  it('deletes when any rule selects a checkpoint', () => {
    expect(ids(selectPrunable(linear, { keepLast: 3, maxAgeDays: 2.5, keepAncestors: false }, now))).toEqual(['a', 'b', 'c']);
  });

  it('prunes dead branches while keeping the live chain', () => {
    // a ← b ← e ← f is live; a ← c ← d was abandoned (ids sort in creation order).
    const branched = [row('a', null), row('b', 'a'), row('c', 'a'), row('d', 'c'), row('e', 'b'), row('f', 'e')];
    expect(ids(selectPrunable(branched, { keepLast: 2, keepAncestors: true }, now))).toEqual(['c', 'd']);
  });

  it('returns every checkpoint before its parent, even when ids do not sort in creation order', () => {
    // Caller-given ids: the dead branch r ← x ← b ← y runs against id order; k is the live latest.
    const rows = [row('r', null), row('x', 'r'), row('b', 'x'), row('y', 'b'), row('a', 'x'), row('k', 'r'), row('zz', 'k')];
    const order = selectPrunable(rows, { keepLast: 1, keepAncestors: true }, now).map((r) => r.checkpointId);
    expect([...order].sort()).toEqual(['a', 'b', 'x', 'y']);
    const position = new Map(order.map((id, i) => [id, i]));
    for (const r of rows) if (position.has(r.checkpointId) && r.parentId !== null && position.has(r.parentId)) expect(position.get(r.checkpointId)!).toBeLessThan(position.get(r.parentId)!);
  });

  it('still returns checkpoints whose caller-given parents form a cycle', () => {
    const rows = [row('a', 'b'), row('b', 'a'), row('c', null)];
    expect(ids(selectPrunable(rows, { keepLast: 1, keepAncestors: false }, now))).toEqual(['a', 'b']);
  });

  it('treats each thread namespace on its own', () => {
    const rows = [row('a', null, 0, 't1'), row('b', 'a', 0, 't1'), row('a', null, 0, 't2'), row('s', null, 0, 't1', 'sub')];
    expect(selectPrunable(rows, { keepLast: 1, keepAncestors: false }, now).map((r) => `${r.threadId}/${r.checkpointId}`)).toEqual(['t1/a']);
  });
});

describe('withoutNewParents', () => {
  const link = (checkpointId: string, parentId: string | null, namespace = ''): ParentLink => ({ namespace, checkpointId, parentId });
  // A dead branch r ← q ← p ← o selected for deletion, in one batch, children first.
  const batch = [link('o', 'p'), link('p', 'q'), link('q', 'r'), link('r', null)];
  const within = [link('o', 'p'), link('p', 'q'), link('q', 'r')];

  it('lets the whole batch go when no row gained a child outside it', () => {
    expect(withoutNewParents(batch, within)).toEqual(batch);
  });

  it('keeps a row that gained a child outside the batch, and its ancestors in the batch', () => {
    expect(withoutNewParents(batch, [...within, link('c', 'p')]).map((r) => r.checkpointId)).toEqual(['o']);
  });

  it('tells namespaces apart', () => {
    expect(withoutNewParents(batch, [...within, link('c', 'p', 'sub')])).toEqual(batch);
  });
});

describe('interval retention', () => {
  it('never starts a prune while the previous one is still running, and counts the skipped ticks', async () => {
    jest.useFakeTimers();
    let started = 0;
    let finish!: () => void;
    class SlowPrune extends MemoryCheckpointer {
      protected override async storePrune(policy: ResolvedRetentionPolicy, threadId: string | undefined): Promise<PruneResult> {
        started += 1;
        await new Promise<void>((resolve) => (finish = resolve));
        return super.storePrune(policy, threadId);
      }
    }
    const cp = new SlowPrune({ retention: { keepLast: 1, intervalMs: 1000 } });
    try {
      await jest.advanceTimersByTimeAsync(3500);
      expect(started).toBe(1);
      expect(await cp.metricsRegistry.getSingleMetricAsString('cairn_checkpointer_retention_runs_skipped_total')).toMatch(/} 2$/m);
      finish();
      await jest.advanceTimersByTimeAsync(1000);
      expect(started).toBe(2);
      finish();
    } finally {
      jest.useRealTimers();
      await cp.close();
    }
  });
});
