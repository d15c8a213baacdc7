// Write-behind writes that PostgreSQL refuses for good (a permanent error: a trigger's exception, a
// deferred constraint failing at COMMIT) against a real PostgreSQL. (A NUL that jsonb cannot hold
// no longer gets that far: core's JSON rule refuses it at the call, before the queue.)
// the bad write goes to write_behind_dead_letters, the writes around it persist in order, nothing
// is retried as a batch, close() resolves; and the dead letters can be listed, replayed and
// discarded, per tenant.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { StorageError, ValidationError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { DeadLetterNotFoundError, WriteDeadLetteredError, type WriteBehindError } from '../src/index.js';
import { historyOf as historyIn, writeBehindStore } from './fixtures/write-behind-store.js';

const Event = z.object({ seq: z.number().int(), note: z.string().optional(), poison: z.boolean().optional() });

let db: CairnDb;

beforeAll(async () => {
  db = await createTestDb({ pool: { max: 4 } });
  // Writes of type 'Poisoned' whose data says `poison` fail in a trigger (SQLSTATE P0001, permanent).
  await db.pool.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.data ? 'poison' THEN RAISE EXCEPTION 'poisoned write %', NEW.data->>'seq'; END IF;
      RETURN NEW;
    END $$`);
  await db.pool.query(`CREATE TRIGGER objects_poison BEFORE INSERT OR UPDATE ON objects FOR EACH ROW WHEN (NEW.type = 'Poisoned') EXECUTE FUNCTION refuse_poison()`);
  // The same check for type 'Deferred', but as a deferred constraint trigger: it fails at COMMIT,
  // where no statement of the batch can be blamed.
  await db.pool.query(`CREATE CONSTRAINT TRIGGER objects_poison_deferred AFTER INSERT OR UPDATE ON objects DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.type = 'Deferred') EXECUTE FUNCTION refuse_poison()`);
});

afterAll(async () => {
  await db.close();
});

const writeBehind = (tenantId: string, errors: WriteBehindError[]) => writeBehindStore(db, tenantId, errors);
const historyOf = (tenantId: string, type: string) => historyIn(db, tenantId, type);

// The part of a dead-lettered save's payload these tests compare.
const SeqPayload = z.object({ seq: z.number() });

async function deadLetterRows(tenantId: string) {
  const { rows } = await db.pool.query<{ id: string; type: string; object_id: string; operation: string; payload: Buffer | null; error: string; error_code: string | null; attempts: number }>(
    `SELECT id::text, type, object_id, operation, payload, error, error_code, attempts FROM write_behind_dead_letters WHERE tenant_id = $1 ORDER BY id`,
    [tenantId],
  );
  return rows;
}

describe('a permanent error in a write-behind batch', () => {
  it('dead-letters a save PostgreSQL refuses, persists the valid saves before and after it, and close() resolves', async () => {
    const tenant = `dl-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehind(tenant, errors);
    const events = store.collection('Poisoned', Event);
    const before = await events.save('x', { seq: 0 });
    // Refused at the call, so never queued (and it takes no sequence number).
    await expect(events.save('x', { seq: 1, note: 'a\u0000b' })).rejects.toBeInstanceOf(ValidationError);
    const bad = await events.save('x', { seq: 1, note: 'refused by the trigger', poison: true });
    const after = await events.save('x', { seq: 2 });

    const error = await bad.persisted().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WriteDeadLetteredError);
    expect(error).toMatchObject({ code: 'WRITE_BEHIND_DEAD_LETTERED', sqlstate: 'P0001', attempts: 1, writes: [{ sequence: 2, type: 'Poisoned', id: 'x', kind: 'save' }] });
    // The later write of the same object persists: it is a whole new version, and the newer intent.
    expect(await before.persisted()).toMatchObject({ version: 1, data: { seq: 0 } });
    expect(await after.persisted()).toMatchObject({ version: 2, data: { seq: 2 } });
    await expect(store.close()).resolves.toBeUndefined();

    expect(await historyOf(tenant, 'Poisoned')).toEqual([
      { id: 'x', version: 1, seq: 0 },
      { id: 'x', version: 2, seq: 2 },
    ]);
    const letters = await deadLetterRows(tenant);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ id: (error as WriteDeadLetteredError).deadLetterId, type: 'Poisoned', object_id: 'x', operation: 'save', error_code: 'P0001', attempts: 1 });
    expect(letters[0]!.error).toContain('poisoned write 1');
    // The payload is the write's JSON, byte for byte.
    expect(JSON.parse(letters[0]!.payload!.toString('utf8'))).toEqual({ seq: 1, note: 'refused by the trigger', poison: true });

    // onError saw the batch fail once (permanent: not retried as a batch) and the dead letter.
    expect(errors.map((e) => [e.code, e.transient])).toEqual([
      ['WRITE_BEHIND_FAILED', false],
      ['WRITE_BEHIND_DEAD_LETTERED', false],
    ]);
    expect(errors[1]).toBe(error);
    expect(store.stats()).toMatchObject({ pending: 0, persisted: 2, deadLettered: 1, failedAttempts: 1, lastProcessed: 3 });
  });

  it('finds every bad write of a batch, each sent once, and persists the rest in order', async () => {
    const tenant = `dl-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehind(tenant, errors);
    const poisoned = store.collection('Poisoned', Event);
    const receipts = [];
    for (let seq = 0; seq < 10; seq++) receipts.push(await poisoned.save(`p${seq % 4}`, seq === 3 || seq === 7 ? { seq, poison: true } : { seq }));
    const flushed = await store.flush().catch((e: unknown) => e);
    // flush() reports the first dead-lettered write it covered.
    expect(flushed).toMatchObject({ code: 'WRITE_BEHIND_DEAD_LETTERED', writes: [{ sequence: 4 }] });
    await store.close();

    expect((await historyOf(tenant, 'Poisoned')).map((h) => h.seq)).toEqual([0, 1, 2, 4, 5, 6, 8, 9]);
    const letters = await deadLetterRows(tenant);
    expect(letters.map((l) => [l.object_id, l.error_code, l.attempts, SeqPayload.parse(JSON.parse(l.payload!.toString())).seq])).toEqual([
      ['p3', 'P0001', 1, 3],
      ['p3', 'P0001', 1, 7],
    ]);
    expect(errors.filter((e) => e instanceof WriteDeadLetteredError).map((e) => e.writes[0]!.sequence)).toEqual([4, 8]);
    expect(store.stats()).toMatchObject({ persisted: 8, deadLettered: 2, failedAttempts: 1 });
    await expect(receipts[7]!.persisted()).rejects.toMatchObject({ sqlstate: 'P0001' });
  });

  it('isolates a write that fails only at COMMIT by persisting its batch one write at a time', async () => {
    const tenant = `dl-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehind(tenant, errors);
    const deferred = store.collection('Deferred', Event);
    const receipts = [await deferred.save('d', { seq: 0 }), await deferred.save('e', { seq: 1, poison: true }), await deferred.save('d', { seq: 2 })];
    await expect(receipts[1]!.persisted()).rejects.toMatchObject({ code: 'WRITE_BEHIND_DEAD_LETTERED', sqlstate: 'P0001', attempts: 2 });
    await store.close();
    expect(await historyOf(tenant, 'Deferred')).toEqual([
      { id: 'd', version: 1, seq: 0 },
      { id: 'd', version: 2, seq: 2 },
    ]);
    expect((await deadLetterRows(tenant)).map((l) => [l.object_id, l.error_code])).toEqual([['e', 'P0001']]);
    // The batch failed once at COMMIT, the lone write once more: neither was retried as such.
    expect(errors.map((e) => [e.code, e.writes.length])).toEqual([
      ['WRITE_BEHIND_FAILED', 3],
      ['WRITE_BEHIND_FAILED', 1],
      ['WRITE_BEHIND_DEAD_LETTERED', 1],
    ]);
  });
});

describe('dead letters', () => {
  it('are listed per tenant, replayed as the newest write of their object, and discarded', async () => {
    const tenant = `dl-${randomUUID().slice(0, 8)}`;
    const errors: WriteBehindError[] = [];
    const store = writeBehind(tenant, errors);
    const other = store.forTenant(`${tenant}-other`);
    const poisoned = store.collection('Poisoned', Event);
    await poisoned.save('a', { seq: 0, poison: true });
    await poisoned.save('b', { seq: 1, poison: true });
    await other.collection('Poisoned', Event).save('c', { seq: 2, poison: true });
    await poisoned.delete('gone');
    await store.flush().catch(() => undefined);

    const letters = store.deadLetters()!;
    const listed = await letters.list();
    expect(listed.map((l) => [l.tenantId, l.type, l.objectId, l.operation, l.errorCode, l.attempts])).toEqual([
      [tenant, 'Poisoned', 'a', 'save', 'P0001', 1],
      [tenant, 'Poisoned', 'b', 'save', 'P0001', 1],
    ]);
    expect(listed[0]!.error).toContain('poisoned write 0');
    expect(listed[0]!.createdAt).toBeInstanceOf(Date);
    expect(await letters.list({ id: 'b' })).toHaveLength(1);
    expect(await letters.list({ limit: 1, after: listed[0]!.id })).toMatchObject([{ objectId: 'b' }]);
    expect(await other.deadLetters()!.list()).toMatchObject([{ objectId: 'c' }]);

    // Still refused: the replay fails with the typed storage error and the letter stays.
    const refused = await letters.retry(listed[0]!.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageError);
    expect(refused).toMatchObject({ details: { sqlstate: 'P0001' } });
    expect(await letters.list()).toHaveLength(2);

    // Once PostgreSQL accepts it (here: the trigger dropped), the replay writes it and removes the letter.
    await db.pool.query('ALTER TABLE objects DISABLE TRIGGER objects_poison');
    try {
      await poisoned.save('a', { seq: 10 });
      const replayed = await letters.retry(listed[0]!.id);
      expect(replayed).toEqual({ kind: 'save', type: 'Poisoned', id: 'a', version: 2 });
      expect(await poisoned.get('a')).toMatchObject({ version: 2, data: { seq: 0, poison: true } });
    } finally {
      await db.pool.query('ALTER TABLE objects ENABLE TRIGGER objects_poison');
    }
    // Another tenant's letter is not this tenant's to touch.
    const otherId = (await other.deadLetters()!.list())[0]!.id;
    await expect(letters.discard(otherId)).resolves.toBe(false);
    await expect(letters.retry(otherId)).rejects.toBeInstanceOf(DeadLetterNotFoundError);

    expect(await letters.discard(listed[1]!.id)).toBe(true);
    expect(await letters.discard(listed[1]!.id)).toBe(false);
    await expect(letters.retry(listed[0]!.id)).rejects.toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND' });
    expect(await letters.list()).toEqual([]);
    expect(await other.deadLetters()!.list()).toHaveLength(1);
    await store.close();
  });
});
