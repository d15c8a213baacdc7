import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import pg from 'pg';
import { PostgresCheckpointer, StorageUnavailableError, newCheckpointId, type PutManyItem } from '../src/index.js';

let db: CairnDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.close();
});

const BATCH = 40;

function batch(threadId: string): PutManyItem[] {
  return Array.from({ length: BATCH }, (_, i) => ({
    threadId,
    checkpointId: newCheckpointId(),
    state: { i, payload: 'x'.repeat(200) },
    pendingWrites: [{ taskId: 'task', channel: 'c', value: i }],
  }));
}

/**
 * Holds an uncommitted write row with the same key as the batch's last write, so the putMany
 * statement inserts everything before it and then waits on that row: killed there, it is
 * genuinely half way through.
 */
async function blockLastWrite(items: PutManyItem[]): Promise<pg.Client> {
  const last = items.at(-1)!;
  const locker = new pg.Client(db.clientConfig());
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query(
    `INSERT INTO checkpoint_writes (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, value, value_format)
     VALUES ('default', $1, '', $2, 'task', '', 0, 'c', '\\x00', 'json-v1')`,
    [last.threadId, last.checkpointId],
  );
  return locker;
}

async function waitForBlockedBackend(admin: pg.Client): Promise<number> {
  for (let i = 0; i < 200; i += 1) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'WITH input AS%'`,
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const { rows } = await admin.query(`SELECT pid, state, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity WHERE datname = current_database()`);
  throw new Error(`putMany never blocked: ${JSON.stringify(rows)}`);
}

async function counts(threadId: string): Promise<[number, number]> {
  const { rows } = await db.pool.query<{ c: number; w: number }>(
    `SELECT (SELECT count(*)::int FROM checkpoints WHERE tenant_id = 'default' AND thread_id = $1) AS c,
            (SELECT count(*)::int FROM checkpoint_writes WHERE tenant_id = 'default' AND thread_id = $1) AS w`,
    [threadId],
  );
  return [rows[0]!.c, rows[0]!.w];
}

describe('a connection killed in the middle of putMany', () => {
  it('leaves no partial batch and reports StorageUnavailableError without retries', async () => {
    const cp = new PostgresCheckpointer(db, { retry: { maxAttempts: 1 } });
    const items = batch('killed');
    const locker = await blockLastWrite(items);
    const admin = new pg.Client(db.clientConfig());
    await admin.connect();
    try {
      const pending = cp.putMany(items).catch((e: unknown) => e);
      const pid = await waitForBlockedBackend(admin);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      const error = await pending;
      expect(error).toBeInstanceOf(StorageUnavailableError);
      await locker.query('ROLLBACK');
      expect(await counts('killed')).toEqual([0, 0]);
      // The pool recovers: the next call gets a fresh connection.
      await cp.putMany(items);
      expect(await counts('killed')).toEqual([BATCH, BATCH]);
    } finally {
      await locker.end();
      await admin.end();
      await cp.close();
    }
  });

  it('retries on a new connection and writes the batch exactly once', async () => {
    const cp = new PostgresCheckpointer(db);
    const items = batch('retried');
    const locker = await blockLastWrite(items);
    const admin = new pg.Client(db.clientConfig());
    await admin.connect();
    try {
      const pending = cp.putMany(items);
      const pid = await waitForBlockedBackend(admin);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      // The retry blocks on the same row; let it through.
      await waitForBlockedBackend(admin);
      await locker.query('ROLLBACK');
      expect(await pending).toEqual(items.map((i) => i.checkpointId));
      expect(await counts('retried')).toEqual([BATCH, BATCH]);
      expect((await cp.metricsRegistry.getSingleMetricAsString('cairn_checkpointer_retries_total'))).toMatch(/operation="insert",backend="postgres"} 1/);
    } finally {
      await locker.end();
      await admin.end();
      await cp.close();
    }
  });
});

describe('a connection killed inside the optimistic put’s transaction', () => {
  /** Holds the advisory lock the optimistic put takes, so its transaction waits there (BEGIN already sent). */
  async function holdThreadLock(threadId: string): Promise<pg.Client> {
    const locker = new pg.Client(db.clientConfig());
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [JSON.stringify(['default', threadId, ''])]);
    return locker;
  }

  async function waitForLockWaiter(admin: pg.Client): Promise<number> {
    for (let i = 0; i < 200; i += 1) {
      const { rows } = await admin.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT pg_advisory_xact_lock%'`,
      );
      if (rows[0]) return rows[0].pid;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the optimistic put never waited on the thread lock');
  }

  it.each([
    ['retries on a new connection and writes once', 4],
    ['fails with StorageUnavailableError and writes nothing without retries', 1],
  ] as const)('%s, and the process survives', async (_name, maxAttempts) => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    const cp = new PostgresCheckpointer(db, { retry: { maxAttempts, initialDelayMs: 1, maxDelayMs: 5 } });
    const threadId = `cas-${maxAttempts}`;
    const first = await cp.put(threadId, { n: 1 });
    const locker = await holdThreadLock(threadId);
    const admin = new pg.Client(db.clientConfig());
    await admin.connect();
    try {
      const pending = cp.put(threadId, { n: 2 }, { parentId: first, expectedLatestId: first }).catch((e: unknown) => e);
      await admin.query('SELECT pg_terminate_backend($1)', [await waitForLockWaiter(admin)]);
      if (maxAttempts > 1) await waitForLockWaiter(admin);
      await locker.query('ROLLBACK');
      const outcome = await pending;
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM checkpoints WHERE tenant_id = 'default' AND thread_id = $1`, [threadId]);
      if (maxAttempts > 1) {
        expect(typeof outcome).toBe('string');
        expect(rows[0]!.n).toBe(2);
        expect((await cp.get(threadId))?.state).toEqual({ n: 2 });
      } else {
        expect(outcome).toBeInstanceOf(StorageUnavailableError);
        expect((outcome as StorageUnavailableError).details).toMatchObject({ sqlstate: '57P01' });
        expect(rows[0]!.n).toBe(1);
      }
      // Give a late 'error' event on the dead client the chance to escape, then check none did.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
      await locker.end();
      await admin.end();
      await cp.close();
    }
  });
});
