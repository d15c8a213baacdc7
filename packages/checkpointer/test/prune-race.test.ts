// Retention racing puts that branch from older checkpoints (LangGraph resuming from history): a
// prune must never delete a checkpoint that a put has made, or is making, the parent of a kept one.
// Old rows are aged with SQL and pruned with `maxAgeDays: 1`, so every checkpoint a put writes
// during the test is young, hence kept, hence so must be all of its ancestors.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CairnError } from '@cairn/core';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { createDb, type CairnDb } from '@cairn/db';
import pg from 'pg';
import { CheckpointNotFoundError, PostgresCheckpointer, newCheckpointId } from '../src/index.js';

const TENANT = 'prune-race';
const state = Buffer.from('{"n":1}');
let database: TestDatabase;
let db: CairnDb;
let cp: PostgresCheckpointer<{ n: number }>;

beforeAll(async () => {
  database = await createTestDatabase();
  db = await createDb({ url: database.url, directUrl: database.directUrl, pool: { max: 12 } });
  cp = new PostgresCheckpointer(db, { tenantId: TENANT });
});
afterAll(async () => {
  await cp.close();
  await db.close();
  await database.drop();
});

interface Row {
  id: string;
  parent: string | null;
}

async function rowsOf(threadId: string): Promise<Map<string, Row>> {
  const { rows } = await db.pool.query<{ checkpoint_id: string; parent_checkpoint_id: string | null }>(
    `SELECT checkpoint_id, parent_checkpoint_id FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2`,
    [TENANT, threadId],
  );
  return new Map(rows.map((r) => [r.checkpoint_id, { id: r.checkpoint_id, parent: r.parent_checkpoint_id }]));
}

/** Checkpoints of the thread whose parent is gone. */
function dangling(rows: Map<string, Row>): string[] {
  return [...rows.values()].filter((r) => r.parent !== null && !rows.has(r.parent)).map((r) => r.id);
}

/** The checkpoint exists and so does every ancestor, up to a root. */
function chainComplete(rows: Map<string, Row>, id: string): boolean {
  const seen = new Set<string>();
  for (let at: string | null = id; at !== null; at = rows.get(at)!.parent) {
    if (!rows.has(at) || seen.has(at)) return false;
    seen.add(at);
  }
  return true;
}

async function age(threadId: string, ids?: string[]): Promise<void> {
  await db.pool.query(
    `UPDATE checkpoints SET created_at = now() - interval '10 days' WHERE tenant_id = $1 AND thread_id = $2 AND ($3::text[] IS NULL OR checkpoint_id = ANY($3))`,
    [TENANT, threadId, ids ?? null],
  );
}

async function deadlocks(): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(`SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()`);
  return Number(rows[0]!.n);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)]!;

describe('retention racing puts that branch from older checkpoints', () => {
  it('never leaves a checkpoint whose parent was pruned, and every put either keeps its ancestors or fails typed', async () => {
    const ROUNDS = 40;
    const thread = 'random';
    const deadlocksBefore = await deadlocks();
    // Distinct ids: a broken row stays broken in later rounds.
    const lostParent = new Set<string>();
    const brokenPuts = new Set<string>();
    const untyped: unknown[] = [];
    let succeeded = 0;
    let refused = 0;
    let pruned = 0;
    await cp.put(thread, { n: 0 }, { parentId: null });
    for (let round = 0; round < ROUNDS; round += 1) {
      // A bushy tree of old checkpoints: most are dead branches, which the prune selects.
      const existing = [...(await rowsOf(thread)).keys()];
      await cp.putMany(Array.from({ length: 60 }, (_, i) => ({ threadId: thread, state: { n: i }, parentId: pick(existing) })));
      await age(thread);
      const candidates = [...(await rowsOf(thread)).keys()];

      const puts = Array.from({ length: 24 }, async (_, i) => {
        await sleep(Math.random() * 12);
        const parentId = pick(candidates);
        // Most branch with put's default path; some write several in one statement, and some
        // append to the latest, which a prune may have just seen superseded.
        if (i % 6 === 0) return cp.putMany([{ threadId: thread, state: { n: i }, parentId }, { threadId: thread, state: { n: i }, parentId: pick(candidates) }]);
        if (i % 6 === 1) return [await cp.put(thread, { n: i })];
        return [await cp.put(thread, { n: i }, { parentId })];
      });
      const [prune, ...outcomes] = await Promise.allSettled([(async () => (await sleep(2), cp.prune({ threadId: thread, maxAgeDays: 1 })))(), ...puts]);
      if (prune.status === 'rejected') throw prune.reason;
      pruned += (prune as PromiseFulfilledResult<{ deleted: number }>).value.deleted;

      const rows = await rowsOf(thread);
      for (const id of dangling(rows)) lostParent.add(id);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          refused += 1;
          if (!(outcome.reason instanceof CheckpointNotFoundError)) untyped.push(outcome.reason);
          continue;
        }
        for (const id of outcome.value) {
          succeeded += 1;
          if (!chainComplete(rows, id)) brokenPuts.add(id);
        }
      }
    }
    expect({ lostParent: lostParent.size, brokenPuts: brokenPuts.size, untyped }).toEqual({ lostParent: 0, brokenPuts: 0, untyped: [] });
    // The test raced for real: puts succeeded, some found their parent already pruned, and the prunes deleted.
    expect(succeeded).toBeGreaterThan(ROUNDS * 10);
    expect(pruned).toBeGreaterThan(ROUNDS * 10);
    expect(refused).toBeGreaterThan(0);
    expect(await deadlocks()).toBe(deadlocksBefore);
  }, 120_000);

  it('keeps a checkpoint that gained a child between the prune reading the thread and deleting', async () => {
    // root ← q ← p is a dead branch (old, not an ancestor of the latest); root ← latest is live.
    const thread = 'gained-child';
    const root = await cp.put(thread, { n: 0 }, { parentId: null });
    const q = await cp.put(thread, { n: 1 });
    const p = await cp.put(thread, { n: 2 });
    await cp.put(thread, { n: 3 }, { parentId: root });
    await age(thread);

    // Hold the prune after it has read the thread (and chosen p and q), and branch from p meanwhile.
    let child: string | undefined;
    const query = db.pool.query.bind(db.pool);
    db.pool.query = (async (...args: Parameters<typeof query>) => {
      const result = await (query as (...a: unknown[]) => Promise<unknown>)(...args);
      if ((args[0] as { name?: string }).name === 'cairn_cp_prune_rows' && child === undefined) child = await cp.put(thread, { n: 4 }, { parentId: p });
      return result;
    }) as typeof query;
    try {
      const result = await cp.prune({ threadId: thread, maxAgeDays: 1 });
      expect(result.deleted).toBe(0);
    } finally {
      db.pool.query = query;
    }
    const rows = await rowsOf(thread);
    expect(child).toBeDefined();
    expect(chainComplete(rows, child!)).toBe(true);
    expect([...rows.keys()]).toEqual(expect.arrayContaining([p, q]));
    expect(dangling(rows)).toEqual([]);
  });

  const heldPuts: { name: string; put: (thread: string, id: string, parent: string) => Promise<unknown> }[] = [
    { name: 'put with an explicit parent', put: (thread, id, parent) => cp.put(thread, { n: 1 }, { parentId: parent, checkpointId: id }) },
    {
      name: 'putRaw in overwrite mode (the single-row statement)',
      put: (thread, id, parent) => cp.putRaw([{ threadId: thread, checkpointId: id, parentId: parent, state: { format: 'json-v1', data: state } }], { ifExists: 'replace' }),
    },
    {
      name: 'putRaw as CairnSaver writes (step given, parent not required)',
      put: (thread, id, parent) =>
        cp.putRaw([{ threadId: thread, checkpointId: id, parentId: parent, step: 7, state: { format: 'json-v1', data: state } }], { ifExists: 'replace', requireParent: false }),
    },
    {
      name: 'putMany with a pending write',
      put: (thread, id, parent) => cp.putMany([{ threadId: thread, state: { n: 1 }, parentId: parent, checkpointId: id, pendingWrites: [{ taskId: 't', channel: 'c', value: 1 }] }]),
    },
  ];

  it.each(heldPuts)('keeps the parent of a $name that is still running when the prune deletes', async ({ put }) => {
    const thread = `held-${newCheckpointId()}`;
    const root = await cp.put(thread, { n: 0 }, { parentId: null });
    const p = await cp.put(thread, { n: 1 });
    await cp.put(thread, { n: 2 }, { parentId: root });
    await age(thread);
    const id = await whileHeld(thread, (held) => put(thread, held, p), async () => {
      await cp.prune({ threadId: thread, maxAgeDays: 1 });
    });
    await expectSaved(thread, id, p);
  });

  it('keeps the latest a put appends to when a newer branch superseded it before the prune read the thread', async () => {
    // root ← a is the latest when the put resolves its parent; root ← b lands while the put runs,
    // so the prune sees a as an old dead end.
    const thread = 'superseded-latest';
    const root = await cp.put(thread, { n: 0 }, { parentId: null });
    const a = await cp.put(thread, { n: 1 });
    await age(thread);
    const id = await whileHeld(thread, (held) => cp.put(thread, { n: 2 }, { checkpointId: held }), async () => {
      await cp.put(thread, { n: 3 }, { parentId: root });
      await cp.prune({ threadId: thread, maxAgeDays: 1 });
    });
    await expectSaved(thread, id, a);
  });

  it('keeps the checkpoint a putWrites is still writing to when the prune deletes', async () => {
    const thread = 'writes-held';
    const root = await cp.put(thread, { n: 0 }, { parentId: null });
    const p = await cp.put(thread, { n: 1 });
    await cp.put(thread, { n: 2 }, { parentId: root });
    await age(thread);
    // Another session holds, uncommitted, the write row the putWrites will insert: the putWrites
    // waits on the unique index after it has locked its checkpoint.
    await withSession(async (blocker) => {
      await blocker.query('BEGIN');
      await blocker.query(
        `INSERT INTO checkpoint_writes (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, value, value_format)
         VALUES ($1, $2, '', $3, 't', '', 0, 'c', '\\x', 'json-v1')`,
        [TENANT, thread, p],
      );
      const running = cp.putWrites(thread, p, 't', [{ channel: 'c', value: 1 }]);
      running.catch(() => undefined);
      await waitForLockWait();
      // The checkpoint is locked by the putWrites: the prune skips it for now.
      expect((await cp.prune({ threadId: thread, maxAgeDays: 1 })).deleted).toBe(0);
      await blocker.query('ROLLBACK');
      await running;
    });
    const tuple = await cp.get(thread, p);
    expect(tuple?.pendingWrites.map((w) => [w.taskId, w.channel, w.value])).toEqual([['t', 'c', 1]]);
  });

  it.each([true, false])('writes nothing when the checkpoint of a putWrites is deleted while it waits (requireCheckpoint %s)', async (requireCheckpoint) => {
    const thread = `writes-vanished-${String(requireCheckpoint)}`;
    await cp.put(thread, { n: 0 }, { parentId: null });
    const p = await cp.put(thread, { n: 1 });
    await cp.put(thread, { n: 2 });
    // A session deleting the checkpoint as a prune batch does: locked first, deleted, committed.
    await withSession(async (pruner) => {
      await pruner.query('BEGIN');
      await pruner.query(`SELECT 1 FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2 AND checkpoint_id = $3 FOR UPDATE`, [TENANT, thread, p]);
      const running = cp.putWrites(thread, p, 't', [{ channel: 'c', value: 1 }], { requireCheckpoint }).catch((e: unknown) => e);
      await waitForLockWait();
      await pruner.query(`DELETE FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2 AND checkpoint_id = $3`, [TENANT, thread, p]);
      await pruner.query('COMMIT');
      expect(await running).toBeInstanceOf(CheckpointNotFoundError);
    });
    const { rows } = await db.pool.query(`SELECT 1 FROM checkpoint_writes WHERE tenant_id = $1 AND thread_id = $2`, [TENANT, thread]);
    expect(rows).toEqual([]);
  });

  it('refuses a put whose parent a prune deleted, with CheckpointNotFoundError naming the parent', async () => {
    const thread = 'refused';
    const root = await cp.put(thread, { n: 0 }, { parentId: null });
    const p = await cp.put(thread, { n: 1 });
    await cp.put(thread, { n: 2 }, { parentId: root });
    await age(thread);
    expect((await cp.prune({ threadId: thread, maxAgeDays: 1 })).deleted).toBe(1);
    const error = await cp.put(thread, { n: 3 }, { parentId: p }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointNotFoundError);
    expect(error).toBeInstanceOf(CairnError);
    expect(error).toMatchObject({ checkpointId: p, details: { role: 'parent' } });
  });
});

/** The put saved `id` as a child of `parent`, and the thread has no checkpoint without its parent. */
async function expectSaved(thread: string, id: string, parent: string): Promise<void> {
  const rows = await rowsOf(thread);
  expect(rows.get(id)?.parent).toBe(parent);
  expect(chainComplete(rows, id)).toBe(true);
  expect(dangling(rows)).toEqual([]);
}

/**
 * Runs `put` (writing checkpoint id `held`) held inside its statement, after it has resolved its
 * parent: another session has inserted, uncommitted, a row with that id, so the put waits on the
 * unique index. `meanwhile` runs; then the other session rolls back and the put commits.
 */
async function whileHeld(thread: string, put: (held: string) => Promise<unknown>, meanwhile: () => Promise<void>): Promise<string> {
  const id = newCheckpointId();
  await withSession(async (blocker) => {
    await blocker.query('BEGIN');
    await blocker.query(`INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_ns, checkpoint_id, step, state) VALUES ($1, $2, '', $3, 0, '\\x')`, [TENANT, thread, id]);
    const running = put(id);
    running.catch(() => undefined);
    await waitForLockWait();
    await meanwhile();
    await blocker.query('ROLLBACK');
    await running;
  });
  return id;
}

/** Runs `use` on a session of its own (never through PgBouncer: it holds a transaction open). */
async function withSession<T>(use: (session: pg.Client) => Promise<T>): Promise<T> {
  const session = new pg.Client({ connectionString: database.directUrl });
  await session.connect();
  try {
    return await use(session);
  } finally {
    await session.end();
  }
}

/** Resolves once some session of this database waits for a lock (the held put). */
async function waitForLockWait(): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n > 0) return;
    await sleep(10);
  }
  throw new Error('the put never waited');
}
