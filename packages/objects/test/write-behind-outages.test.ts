// Write-behind through connection failures, against real PostgreSQL servers: the batch's own
// connection terminated in the middle of its transaction, its COMMIT lost with the connection
// (before the server got it, or after it committed), and a private server stopped while writes are
// queued and started again. No uncaught exception, nothing dead-lettered, every write persisted
// exactly once and in order.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { z } from 'zod';
import { CommitOutcomeUnknown, createDb, type CairnDb } from '@cairn/db';
import { createTestDb, startPostgresServer, type DisposablePostgresServer } from '@cairn/db/testing';
import type { WriteBehindError } from '../src/index.js';
import { historyOf, writeBehindStore } from './fixtures/write-behind-store.js';

const Event = z.object({ seq: z.number().int() });

// Recorded for every test: a dropped connection must never surface as an uncaught exception.
let uncaught: unknown[] = [];
const recordUncaught = (error: unknown) => {
  uncaught.push(error);
};
beforeEach(() => {
  uncaught = [];
  process.on('uncaughtException', recordUncaught);
});
afterEach(() => {
  process.off('uncaughtException', recordUncaught);
});

async function deadLetterCount(db: CairnDb): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM write_behind_dead_letters');
  return rows[0]!.n;
}

/** The pid of a backend of this database waiting on a lock, other than `except` (polls; jest's timeout bounds it). */
async function blockedBackend(admin: pg.Client, except: number): Promise<number> {
  for (;;) {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> $1`,
      [except],
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Holds an uncommitted insert of `objects` row (tenant, 'Event', id): an upsert of it waits for this transaction. */
async function holdRow(db: CairnDb, tenantId: string, id: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client(db.clientConfig());
  await client.connect();
  await client.query('BEGIN');
  await client.query(`INSERT INTO objects (tenant_id, type, id, data, version, created_at, updated_at) VALUES ($1, 'Event', $2, '{}', 1, now(), now())`, [tenantId, id]);
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0]!.pid };
}

describe('the batch connection terminated mid-transaction', () => {
  let db: CairnDb;
  beforeAll(async () => {
    db = await createTestDb({ pool: { max: 4 }, onConnectionError: () => undefined });
  });
  afterAll(async () => {
    await db.close();
  });

  it('raises no uncaught exception, retries the batch and persists every write exactly once', async () => {
    const tenant = `out-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehindStore(db, tenant, errors);
    const events = store.collection('Event', Event);
    const lock = await holdRow(db, tenant, 'locked');
    const admin = new pg.Client(db.clientConfig());
    await admin.connect();
    try {
      // One batch: 'a' is written, then the batch waits for the held row inside its transaction.
      for (const [seq, id] of ['a', 'locked', 'b', 'a'].entries()) await events.save(id, { seq });
      await admin.query('SELECT pg_terminate_backend($1)', [await blockedBackend(admin, lock.pid)]);
      // The retry, on a new connection, waits on the same row; let it through.
      await blockedBackend(admin, lock.pid);
      await lock.client.query('ROLLBACK');
      await store.flush();
    } finally {
      await lock.client.end();
      await admin.end();
    }
    await store.close();

    expect(uncaught).toEqual([]);
    expect(await historyOf(db, tenant)).toEqual([
      { id: 'a', version: 1, seq: 0 },
      { id: 'locked', version: 1, seq: 1 },
      { id: 'b', version: 1, seq: 2 },
      { id: 'a', version: 2, seq: 3 },
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'WRITE_BEHIND_FAILED', transient: true, attempt: 1 });
    expect((errors[0]!.cause as { code?: string }).code).toBe('57P01');
    expect(store.stats()).toMatchObject({ persisted: 4, deadLettered: 0, failedAttempts: 1 });
    expect(await deadLetterCount(db)).toBe(0);
  });
});

/**
 * A TCP proxy to a PostgreSQL server that, once armed, cuts the connection carrying the next
 * COMMIT: before forwarding it (the transaction aborts) or after the server answered it (it
 * committed, and the client never hears so).
 */
async function startCommitCutter(port: number) {
  let armed: 'before' | 'after' | undefined;
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    let cutOnAnswer = false;
    client.on('data', (chunk: Buffer) => {
      // A simple-protocol Query message: 'Q', int32 length, the text and a NUL.
      if (armed && chunk[0] === 0x51 && chunk.subarray(5).toString() === 'COMMIT\u0000') {
        const when = armed;
        armed = undefined;
        if (when === 'before') {
          client.destroy();
          upstream.destroy();
          return;
        }
        cutOnAnswer = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cutOnAnswer) client.write(chunk);
      else {
        client.destroy();
        upstream.end();
      }
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    arm(when: 'before' | 'after') {
      armed = when;
    },
    get armed() {
      return armed !== undefined;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('a batch whose COMMIT is lost with its connection', () => {
  let db: CairnDb;
  let proxied: CairnDb;
  let cutter: Awaited<ReturnType<typeof startCommitCutter>>;
  beforeAll(async () => {
    db = await createTestDb({ pool: { max: 2 } });
    const url = new URL(db.connectionString());
    cutter = await startCommitCutter(Number(url.port || 5432));
    url.port = String(cutter.port);
    proxied = await createDb({ url: url.toString(), pool: { max: 2 }, onConnectionError: () => undefined });
  });
  afterAll(async () => {
    await proxied.close();
    await cutter.close();
    await db.close();
  });

  it.each([
    ['committed', 'after'],
    ['rolled back', 'before'],
  ] as const)('writes it exactly once when the lost COMMIT %s', async (_outcome, when) => {
    const tenant = `out-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehindStore(proxied, tenant, errors);
    const events = store.collection('Event', Event);
    cutter.arm(when);
    const receipts = [await events.save('a', { seq: 0 }), await events.save('b', { seq: 1 }), await events.save('a', { seq: 2 })];
    expect(await receipts[2]!.persisted()).toMatchObject({ id: 'a', version: 2 });
    await store.close();

    expect(cutter.armed).toBe(false);
    expect(uncaught).toEqual([]);
    expect(await historyOf(db, tenant)).toEqual([
      { id: 'a', version: 1, seq: 0 },
      { id: 'b', version: 1, seq: 1 },
      { id: 'a', version: 2, seq: 2 },
    ]);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]!.cause).toBeInstanceOf(CommitOutcomeUnknown);
    expect(errors.every((e) => e.code === 'WRITE_BEHIND_FAILED' && e.transient)).toBe(true);
    expect(store.stats()).toMatchObject({ persisted: 3, deadLettered: 0 });
  });
});

describe('a PostgreSQL server stopped while writes are queued', () => {
  let server: DisposablePostgresServer;
  let db: CairnDb;
  beforeAll(async () => {
    server = await startPostgresServer();
    db = await createDb({ url: server.url, pool: { max: 3, connectionTimeoutMs: 2000 }, onConnectionError: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await server?.destroy();
  });

  it('keeps them queued through the outage (past maxAttempts) and persists every one, in order, after the restart', async () => {
    const tenant = `out-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehindStore(db, tenant, errors, { batchSize: 5, maxAttempts: 3, retryBaseDelayMs: 5, retryMaxDelayMs: 50 });
    const events = store.collection('Event', Event);
    const ids = ['a', 'b', 'c'];
    // A batch in flight when the server goes: it waits on a held row inside its transaction.
    const lock = await holdRow(db, tenant, 'c');
    for (let seq = 0; seq < 6; seq++) await events.save(ids[seq % 3]!, { seq });
    const admin = new pg.Client(db.clientConfig());
    await admin.connect();
    await blockedBackend(admin, lock.pid);
    await admin.end();
    lock.client.on('error', () => undefined);
    await server.stop('fast');
    await lock.client.end().catch(() => undefined);
    try {
      for (let seq = 6; seq < 30; seq++) await events.save(ids[seq % 3]!, { seq });
      // Well past maxAttempts while the server is down: nothing is given up. A fast shutdown
      // terminates the lock holder and the waiting batch in no fixed order, so the batch in flight
      // may have committed first: at most the six writes queued before the stop are persisted.
      while (errors.length < 8) await new Promise((resolve) => setTimeout(resolve, 10));
      const { pending, persisted, deadLettered } = store.stats() ?? { pending: -1, persisted: -1, deadLettered: -1 };
      expect(deadLettered).toBe(0);
      expect(persisted).toBeLessThanOrEqual(6);
      expect(pending + persisted).toBe(30);
    } finally {
      await server.start();
    }
    await store.flush();
    await store.close();

    expect(uncaught).toEqual([]);
    const history = await historyOf(db, tenant);
    expect(history.map((h) => h.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const id of ids) {
      const versions = history.filter((h) => h.id === id);
      expect(versions.map((h) => h.version)).toEqual(versions.map((_, i) => i + 1));
    }
    expect(errors.every((e) => e.code === 'WRITE_BEHIND_FAILED' && e.transient)).toBe(true);
    expect(store.stats()).toMatchObject({ pending: 0, persisted: 30, deadLettered: 0 });
    expect(await deadLetterCount(db)).toBe(0);
  }, 60_000);
});
