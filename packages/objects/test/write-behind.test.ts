// Write-behind persistence against a real PostgreSQL: in-order persistence, read-your-writes,
// back-pressure, onError + retry of transient failures, dead-lettering after maxAttempts, close()
// flushing or naming what it could not persist, and a process SIGKILLed mid-queue leaving exactly a
// prefix of the queue behind. Permanent failures and outages: write-behind-dead-letters.test.ts,
// write-behind-outages.test.ts.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ClosedError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import {
  FlushTimeoutError,
  type WriteBehindError,
  WriteDeadLetteredError,
  WriteQueueFullError,
  type WriteBehindOptions,
} from '../src/index.js';
import { spawnFixture } from './fixtures/spawn.js';
import { historyOf as historyIn, writeBehindStore } from './fixtures/write-behind-store.js';

const Event = z.object({ seq: z.number().int() });

let db: CairnDb;

beforeAll(async () => {
  db = await createTestDb({ pool: { max: 8 } });
  // A switch the tests flip to make writes of type 'Flaky' fail inside PostgreSQL, with a transient
  // SQLSTATE (serialization_failure: a retry may cure it).
  await db.pool.query(`CREATE TABLE fail_switch (reason text)`);
  await db.pool.query(`CREATE FUNCTION fail_when_switched() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM fail_switch) THEN RAISE EXCEPTION 'injected failure' USING ERRCODE = 'serialization_failure'; END IF;
      RETURN NEW;
    END $$`);
  await db.pool.query(`CREATE TRIGGER objects_fail BEFORE INSERT OR UPDATE ON objects FOR EACH ROW WHEN (NEW.type = 'Flaky') EXECUTE FUNCTION fail_when_switched()`);
});

afterAll(async () => {
  await db.close();
});

const writeBehind = (tenantId: string, options: Partial<WriteBehindOptions> = {}, errors: WriteBehindError[] = []) => writeBehindStore(db, tenantId, errors, options);
const historyOf = (tenantId: string, type: string) => historyIn(db, tenantId, type);

/** Polls until `check` holds (no deadline: jest's timeout is the bound). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('write-behind persistence', () => {
  it('returns queued writes at once, persists them in call order, and flushes on close()', async () => {
    const tenant = `wb-${randomUUID().slice(0, 8)}`;
    const store = writeBehind(tenant);
    const events = store.collection('Event', Event);
    const receipts = [];
    for (let seq = 0; seq < 120; seq++) receipts.push(await events.save(['a', 'b', 'c'][seq % 3]!, { seq }));
    expect(receipts.map((r) => r.sequence)).toEqual(receipts.map((_, i) => i + 1));
    // Reads see this process's own queued writes (load waits for that object's queue entries).
    expect((await events.get('a')).data.seq).toBe(117);
    await store.close();
    await expect(events.save('a', { seq: -1 })).rejects.toBeInstanceOf(ClosedError);

    const history = await historyOf(tenant, 'Event');
    expect(history.map((h) => h.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    for (const id of ['a', 'b', 'c']) {
      const versions = history.filter((h) => h.id === id);
      expect(versions.map((h) => h.version)).toEqual(versions.map((_, i) => i + 1));
    }
    const last = await receipts.at(-1)!.persisted();
    expect(last).toMatchObject({ id: 'c', version: 40, data: { seq: 119 } });
    expect(store.stats()).toMatchObject({ pending: 0, persisted: 120, deadLettered: 0, lastQueued: 120, lastProcessed: 120 });
  });

  it('runs conditional writes, update(fn) and patch synchronously, after the queued writes', async () => {
    const tenant = `wb-${randomUUID().slice(0, 8)}`;
    const store = writeBehind(tenant);
    const counters = store.collection('Counter', z.object({ n: z.number() }));
    await counters.save('c', { n: 1 });
    await counters.save('c', { n: 2 });
    const updated = await counters.update('c', (d) => ({ n: d.n + 10 }));
    expect(updated).toMatchObject({ version: 3, data: { n: 12 } });
    const conditional = await counters.save('c', { n: 0 }, { expectedVersion: 3 });
    expect(conditional.version).toBe(4);
    const patched = await counters.patch('c', [{ op: 'replace', path: '/n', value: 5 }]);
    expect(patched.version).toBe(5);
    const queuedDelete = await counters.delete('c');
    expect(await queuedDelete.persisted()).toBe(true);
    await store.close();
  });

  it('applies back-pressure when the queue is full, and resumes in order when the database catches up', async () => {
    const tenant = `wb-${randomUUID().slice(0, 8)}`;
    const store = writeBehind(tenant, { maxPending: 5, batchSize: 2 });
    const events = store.collection('Event', Event);
    const blocker = await db.pool.connect();
    try {
      // Hold a lock that blocks every write to `objects`, so the worker cannot make progress.
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE objects IN EXCLUSIVE MODE');
      for (let seq = 0; seq < 5; seq++) await events.save('x', { seq });
      let sixthAdmitted = false;
      const sixth = events.save('x', { seq: 5 }).then((r) => {
        sixthAdmitted = true;
        return r;
      });
      await until(async () => {
        const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return rows[0]!.n > 0;
      });
      expect(store.stats()!.pending).toBe(6);
      expect(sixthAdmitted).toBe(false);
      await blocker.query('COMMIT');
      await sixth;
      await store.flush();
    } finally {
      blocker.release();
    }
    expect((await historyOf(tenant, 'Event')).map((h) => h.seq)).toEqual([0, 1, 2, 3, 4, 5]);

    const rejecting = writeBehind(tenant, { maxPending: 1, whenFull: 'reject' });
    const rejected = rejecting.collection('Event', Event);
    await rejected.save('y', { seq: 0 });
    await expect(rejected.save('y', { seq: 1 })).rejects.toBeInstanceOf(WriteQueueFullError);
    await rejecting.close();
    await store.close();
  });

  it('reports transient failures to onError and retries until the batch succeeds', async () => {
    const tenant = `wb-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehind(tenant, {}, errors);
    const flaky = store.collection('Flaky', Event);
    await db.pool.query(`INSERT INTO fail_switch VALUES ('on')`);
    try {
      const receipts = [await flaky.save('f', { seq: 0 }), await flaky.save('f', { seq: 1 })];
      await until(async () => errors.length >= 3);
      expect(errors[0]).toMatchObject({ code: 'WRITE_BEHIND_FAILED', transient: true, attempt: 1 });
      expect((errors[0]!.cause as Error).message).toContain('injected failure');
      expect(errors[0]!.writes.map((w) => w.sequence)).toEqual([1, 2]);
      await db.pool.query(`DELETE FROM fail_switch`);
      expect((await receipts[1]!.persisted()).version).toBe(2);
    } finally {
      await db.pool.query(`DELETE FROM fail_switch`);
    }
    expect((await historyOf(tenant, 'Flaky')).map((h) => h.seq)).toEqual([0, 1]);
    await store.close();
  });

  it('dead-letters a write still failing after maxAttempts, telling onError, persisted() and flush(), and carries on', async () => {
    const tenant = `wb-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehind(tenant, { maxAttempts: 2 }, errors);
    const flaky = store.collection('Flaky', Event);
    await db.pool.query(`INSERT INTO fail_switch VALUES ('on')`);
    let lost;
    try {
      lost = await flaky.save('f', { seq: 0 });
      const flushed = store.flush();
      const error = await lost.persisted().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WriteDeadLetteredError);
      // Two batch attempts, then the last one that dead-letters what still fails: sent three times.
      expect(error).toMatchObject({ code: 'WRITE_BEHIND_DEAD_LETTERED', sqlstate: '40001', attempts: 3, writes: [{ sequence: 1, type: 'Flaky', id: 'f' }] });
      // flush() covered the dead-lettered write, so it says so; a later flush() has nothing to report.
      await expect(flushed).rejects.toBe(error);
      await expect(store.flush()).resolves.toBeUndefined();
      expect(errors.map((e) => e.code)).toEqual(['WRITE_BEHIND_FAILED', 'WRITE_BEHIND_FAILED', 'WRITE_BEHIND_DEAD_LETTERED']);
      const letters = await store.deadLetters()!.list();
      expect(letters).toMatchObject([{ id: (error as WriteDeadLetteredError).deadLetterId, type: 'Flaky', objectId: 'f', operation: 'save', errorCode: '40001', attempts: 3 }]);
      expect(JSON.parse(letters[0]!.payload!)).toEqual({ seq: 0 });
    } finally {
      await db.pool.query(`DELETE FROM fail_switch`);
    }
    const kept = await flaky.save('f', { seq: 1 });
    await store.flush();
    expect((await kept.persisted()).version).toBe(1);
    expect(store.stats()).toMatchObject({ deadLettered: 1, persisted: 1, pending: 0 });
    await store.close();
  });

  it('gives up on close() after closeTimeoutMs, naming each write it could not persist and why', async () => {
    const tenant = `wb-${randomUUID().slice(0, 8)}`;
    const store = writeBehind(tenant, { closeTimeoutMs: 50, maxAttempts: 0 });
    const flaky = store.collection('Flaky', Event);
    await db.pool.query(`INSERT INTO fail_switch VALUES ('on')`);
    try {
      const receipt = await flaky.save('f', { seq: 0 });
      await flaky.save('g', { seq: 1 });
      const error = await store.close().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FlushTimeoutError);
      expect(error).toMatchObject({
        code: 'FLUSH_TIMEOUT',
        pending: 2,
        writes: [
          { sequence: 1, kind: 'save', type: 'Flaky', id: 'f' },
          { sequence: 2, kind: 'save', type: 'Flaky', id: 'g' },
        ],
      });
      expect((error as FlushTimeoutError).message).toMatch(/Flaky "f" #1.*Flaky "g" #2.*injected failure/s);
      expect(((error as FlushTimeoutError).cause as Error).message).toContain('injected failure');
      await expect(receipt.persisted()).rejects.toBe(error);
    } finally {
      await db.pool.query(`DELETE FROM fail_switch`);
    }
  });

  it('leaves exactly a prefix of the queue, including every acknowledged write, when the process is killed mid-queue', async () => {
    const tenant = `wb-kill-${randomUUID().slice(0, 8)}`;
    const applicationName = `cairn-wb-${randomUUID().slice(0, 8)}`;
    const child = spawnFixture('./write-behind-writer.ts', [db.connectionString(), tenant, applicationName]);
    let acknowledged = -1;
    let pendingAtLastAck: number | undefined;
    try {
      const last = await child.waitForLine((line) => {
        const m = /^persisted (\d+) pending (\d+)$/.exec(line);
        return m !== null && Number(m[1]) >= 300 && Number(m[2]) > 0;
      });
      child.kill();
      await child.exited;
      const m = /^persisted (\d+) pending (\d+)$/.exec(last)!;
      pendingAtLastAck = Number(m[2]);
      for (const line of child.lines) {
        const ack = /^persisted (\d+)/.exec(line);
        if (ack) acknowledged = Math.max(acknowledged, Number(ack[1]));
      }
    } finally {
      child.kill();
    }
    // Let PostgreSQL finish with the dead process's connections, so what we read is final.
    await until(async () => {
      const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [applicationName]);
      return rows[0]!.n === 0;
    });

    const history = await historyOf(tenant, 'Event');
    const survived = history.map((h) => h.seq);
    // A prefix of the queue: 0..k-1, no gaps, nothing from after a lost write.
    expect(survived).toEqual(Array.from({ length: survived.length }, (_, i) => i));
    // Everything acknowledged as persisted survived.
    expect(survived.length).toBeGreaterThan(acknowledged);
    // It really was mid-queue: writes were queued and unacknowledged when it died.
    expect(pendingAtLastAck).toBeGreaterThan(0);
    // In order: each object's versions follow the queue order.
    for (const id of ['a', 'b', 'c']) {
      const versions = history.filter((h) => h.id === id);
      expect(versions.map((h) => h.version)).toEqual(versions.map((_, i) => i + 1));
      expect(versions.map((h) => h.seq)).toEqual(survived.filter((s) => ['a', 'b', 'c'][s % 3] === id));
    }
    // The current rows agree with the last surviving version of each object.
    const { rows } = await db.pool.query<{ id: string; seq: number; version: number }>(
      `SELECT id, (data->>'seq')::int AS seq, version FROM objects WHERE tenant_id = $1 AND type = 'Event' ORDER BY id`,
      [tenant],
    );
    for (const row of rows) {
      const versions = history.filter((h) => h.id === row.id);
      expect(row).toEqual({ id: row.id, seq: versions.at(-1)!.seq, version: versions.length });
    }
  }, 60_000);
});
