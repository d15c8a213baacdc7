// A connection terminated (pg_terminate_backend) while an objects operation holds it in a
// transaction: transaction(), update() once it locks the row after repeated conflicts,
// importSnapshot() and exportSnapshot(). The process must survive (no uncaught 'error' event from
// the dead client), the caller gets a typed error or, where running again is safe, the result of
// a retry, and nothing half-written is left behind.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { z } from 'zod';
import { StorageUnavailableError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { createObjectStore, type ObjectSnapshot } from '../src/index.js';

const Note = z.object({ n: z.number().int() });
const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 5 };

let retried: CairnDb;
let once: CairnDb;
let admin: pg.Client;
let uncaught: unknown[];
const record = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  [retried, once] = await Promise.all([
    createTestDb({ retry: { maxAttempts: 4, ...FAST_RETRY }, onConnectionError: () => undefined }),
    createTestDb({ retry: { maxAttempts: 1, ...FAST_RETRY }, onConnectionError: () => undefined }),
  ]);
});

afterAll(async () => {
  await Promise.all([retried.close(), once.close()]);
});

beforeEach(async () => {
  uncaught = [];
  process.on('uncaughtException', record);
});

afterEach(async () => {
  await admin?.end();
  process.off('uncaughtException', record);
});

async function connectAdmin(db: CairnDb): Promise<pg.Client> {
  admin = new pg.Client(db.clientConfig());
  await admin.connect();
  return admin;
}

/** Terminates the backend and waits until it is gone, so the next statement on it must fail. */
async function terminate(pid: number): Promise<void> {
  const { rows } = await admin.query<{ done: boolean }>('SELECT pg_terminate_backend($1, 5000) AS done', [pid]);
  expect(rows[0]!.done).toBe(true);
}

/** The pid of the one backend of this database that matches `where` (polled until it appears). */
async function backendWhere(where: string): Promise<number> {
  for (let i = 0; i < 400; i += 1) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND ${where}`,
    );
    if (rows.length === 1) return rows[0]!.pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no single backend with ${where}`);
}

/** Lets a late 'error' event of a dead client escape (if anything would let it), then checks none did. */
async function expectNoUncaughtException(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(uncaught).toEqual([]);
}

async function counts(db: CairnDb, tenantId: string): Promise<[objects: number, versions: number]> {
  const { rows } = await db.pool.query<{ o: number; v: number }>(
    `SELECT (SELECT count(*)::int FROM objects WHERE tenant_id = $1) AS o, (SELECT count(*)::int FROM object_versions WHERE tenant_id = $1) AS v`,
    [tenantId],
  );
  return [rows[0]!.o, rows[0]!.v];
}

describe('store.transaction()', () => {
  it('rejects with StorageUnavailableError when its connection is killed inside the callback, and commits nothing', async () => {
    const store = createObjectStore(retried, { tenantId: 'tx-killed' });
    await connectAdmin(retried);
    const notes = store.collection('Note', Note);
    let calls = 0;
    try {
      const outcome = await store
        .transaction(async (tx) => {
          calls += 1;
          await tx.collection(notes).save('first', { n: 1 });
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await terminate(rows[0]!.pid);
          await tx.collection(notes).save('second', { n: 2 });
        })
        .catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(StorageUnavailableError);
      // User code with side effects is never run again by the store.
      expect(calls).toBe(1);
      expect(await counts(retried, 'tx-killed')).toEqual([0, 0]);
      // The pool recovers: the next transaction gets a fresh connection.
      await store.transaction(async (tx) => {
        await tx.collection(notes).save('first', { n: 1 });
      });
      expect((await notes.get('first')).version).toBe(1);
      await expectNoUncaughtException();
    } finally {
      await store.close();
    }
  });
});

describe('update() after repeated conflicts (row-locking transaction)', () => {
  /**
   * A rival write lands during each of the optimistic attempts, so the fourth attempt runs in the
   * transaction that locks the row; its connection is killed while `fn` runs inside it.
   */
  async function updateWithKilledLock(db: CairnDb, tenantId: string) {
    const store = createObjectStore(db, { tenantId, conflictRetry: { lockAfterConflicts: 3, baseDelayMs: 0, maxDelayMs: 0 } });
    await connectAdmin(db);
    const notes = store.collection('Note', Note);
    await notes.save('contended', { n: 0 });
    let calls = 0;
    const outcome = await notes
      .update('contended', async (data) => {
        calls += 1;
        if (calls <= 3) await notes.save('contended', { n: 100 * calls });
        if (calls === 4) await terminate(await backendWhere(`state = 'idle in transaction'`));
        return { n: data.n + 1 };
      })
      .catch((e: unknown) => e);
    const current = await notes.get('contended');
    const history = await notes.versions('contended');
    await store.close();
    return { outcome, calls, current, history };
  }

  it('runs the locked attempt again on a new connection and writes once', async () => {
    const { outcome, calls, current, history } = await updateWithKilledLock(retried, 'update-retried');
    expect(calls).toBe(5);
    expect(outcome).toMatchObject({ version: 5, data: { n: 301 } });
    expect(current).toMatchObject({ version: 5, data: { n: 301 } });
    expect(history.map((v) => v.version)).toEqual([5, 4, 3, 2, 1]);
    await expectNoUncaughtException();
  });

  it('fails with StorageUnavailableError and writes nothing without retries', async () => {
    const { outcome, calls, current, history } = await updateWithKilledLock(once, 'update-once');
    expect(outcome).toBeInstanceOf(StorageUnavailableError);
    expect(calls).toBe(4);
    expect(current).toMatchObject({ version: 4, data: { n: 300 } });
    expect(history).toHaveLength(4);
    await expectNoUncaughtException();
  });
});

describe('importSnapshot()', () => {
  async function snapshotOf(db: CairnDb, tenantId: string): Promise<ObjectSnapshot> {
    const source = createObjectStore(db, { tenantId });
    const notes = source.collection('Note', Note);
    for (const id of ['a', 'b', 'c', 'd']) await notes.save(id, { n: 1 });
    await notes.save('d', { n: 2 });
    const snapshot = await source.exportSnapshot();
    await source.close();
    return snapshot;
  }

  /**
   * Holds an uncommitted row with the key of the snapshot's last object, so the import inserts the
   * others and then waits on that row: killed there, it is half way through.
   */
  async function blockLastObject(db: CairnDb, tenantId: string): Promise<pg.Client> {
    const locker = new pg.Client(db.clientConfig());
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`INSERT INTO objects (tenant_id, type, id, data, version, created_at, updated_at) VALUES ($1, 'Note', 'd', '{}', 1, now(), now())`, [tenantId]);
    return locker;
  }

  it.each([
    ['imports everything once after a retry on a new connection', 'retried'],
    ['fails with StorageUnavailableError and imports nothing without retries', 'once'],
  ] as const)('%s', async (_name, which) => {
    const db = which === 'retried' ? retried : once;
    const snapshot = await snapshotOf(db, `import-source-${which}`);
    const tenantId = `import-target-${which}`;
    const store = createObjectStore(db, { tenantId });
    await connectAdmin(db);
    const locker = await blockLastObject(db, tenantId);
    try {
      const pending = store.importSnapshot(snapshot).catch((e: unknown) => e);
      const waiting = `wait_event_type = 'Lock' AND query LIKE 'INSERT INTO objects%'`;
      await terminate(await backendWhere(waiting));
      if (which === 'retried') await backendWhere(waiting);
      await locker.query('ROLLBACK');
      const outcome = await pending;
      if (which === 'retried') {
        expect(outcome).toEqual({ imported: 4, skipped: 0, versions: 5 });
        expect(await counts(db, tenantId)).toEqual([4, 5]);
      } else {
        expect(outcome).toBeInstanceOf(StorageUnavailableError);
        expect((outcome as StorageUnavailableError).details).toMatchObject({ sqlstate: '57P01' });
        expect(await counts(db, tenantId)).toEqual([0, 0]);
      }
      await expectNoUncaughtException();
    } finally {
      await locker.end();
      await store.close();
    }
  });
});

describe('exportSnapshot()', () => {
  it.each([
    ['reads the snapshot again on a new connection after a retry', 'retried'],
    ['fails with StorageUnavailableError without retries', 'once'],
  ] as const)('%s', async (_name, which) => {
    const db = which === 'retried' ? retried : once;
    const tenantId = `export-${which}`;
    const store = createObjectStore(db, { tenantId });
    const notes = store.collection('Note', Note);
    await notes.save('x', { n: 1 });
    await notes.save('x', { n: 2 });
    await connectAdmin(db);
    // The export reads `objects`, then waits for `object_versions`: killed there, it is mid-transaction.
    const locker = new pg.Client(db.clientConfig());
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE object_versions IN ACCESS EXCLUSIVE MODE');
    try {
      const pending = store.exportSnapshot().catch((e: unknown) => e);
      const waiting = `wait_event_type = 'Lock' AND query LIKE '%FROM object_versions%'`;
      await terminate(await backendWhere(waiting));
      if (which === 'retried') await backendWhere(waiting);
      await locker.query('ROLLBACK');
      const outcome = await pending;
      if (which === 'retried') {
        expect((outcome as ObjectSnapshot).objects).toMatchObject([{ id: 'x', version: 2, history: [{ version: 1 }, { version: 2 }] }]);
      } else {
        expect(outcome).toBeInstanceOf(StorageUnavailableError);
        expect((outcome as StorageUnavailableError).details).toMatchObject({ sqlstate: '57P01' });
      }
      await expectNoUncaughtException();
    } finally {
      await locker.end();
      await store.close();
    }
  });
});

describe('a single write whose connection is lost while it is in flight', () => {
  it('is not sent again (it may have committed) and fails with StorageUnavailableError, commitOutcomeUnknown', async () => {
    const store = createObjectStore(retried, { tenantId: 'in-flight' });
    const notes = store.collection('Note', Note);
    await notes.save('w', { n: 1 });
    await connectAdmin(retried);
    // The upsert waits on the row lock held here, so it is on the server when its backend is killed.
    const locker = new pg.Client(retried.clientConfig());
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM objects WHERE tenant_id = 'in-flight' AND id = 'w' FOR UPDATE`);
    try {
      const pending = notes.save('w', { n: 2 }).catch((e: unknown) => e);
      await terminate(await backendWhere(`wait_event_type = 'Lock' AND query LIKE 'WITH w AS%'`));
      // Were the write sent again, it would now go through and bump the version.
      await locker.query('ROLLBACK');
      const outcome = await pending;
      expect(outcome).toBeInstanceOf(StorageUnavailableError);
      expect((outcome as StorageUnavailableError).details).toMatchObject({ commitOutcomeUnknown: true, sqlstate: '57P01' });
      expect(await notes.get('w')).toMatchObject({ version: 1, data: { n: 1 } });
      await expectNoUncaughtException();
    } finally {
      await locker.end();
      await store.close();
    }
  });
});
