// Tenant isolation: tenant A can neither read, list, update nor delete tenant B's objects,
// sessions or threads, even knowing their ids, and hostile tenant ids are refused.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ValidationError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import {
  createObjectStore,
  ObjectNotFoundError,
  SessionManager,
  SessionNotFoundError,
  ThreadManager,
  ThreadNotFoundError,
  VersionConflictError,
  type ObjectStore,
} from '../src/index.js';

const Secret = z.object({ owner: z.string(), value: z.string() });

let db: CairnDb;
let store: ObjectStore;

beforeAll(async () => {
  db = await createTestDb();
  store = createObjectStore(db, { tenantId: 'tenant-a' });
});

afterAll(async () => {
  await store.close();
  await db.close();
});

describe('tenant isolation', () => {
  it('keeps tenant B\'s objects out of reach of tenant A', async () => {
    const b = store.forTenant('tenant-b').collection('Secret', Secret);
    const a = store.collection('Secret', Secret);
    await b.save('s1', { owner: 'b', value: 'b-secret' });
    await b.save('s1', { owner: 'b', value: 'b-secret-v2' });

    expect(await a.load('s1')).toBeNull();
    expect(await a.exists('s1')).toBe(false);
    expect((await a.list()).items).toEqual([]);
    expect((await a.find({ where: { owner: 'b' } })).items).toEqual([]);
    expect(await a.count()).toBe(0);
    expect(await a.versions('s1')).toEqual([]);
    await expect(a.loadVersion('s1', 1)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(a.update('s1', (d) => ({ ...d, value: 'stolen' }))).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(a.patch('s1', [{ op: 'replace', path: '/value', value: 'stolen' }])).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(a.restore('s1', 1)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(a.save('s1', { owner: 'a', value: 'x' }, { expectedVersion: 2 })).rejects.toBeInstanceOf(VersionConflictError);
    expect(await a.delete('s1')).toBe(false);
    expect((await store.exportSnapshot()).objects).toEqual([]);
    await store.transaction(async (tx) => {
      expect(await tx.collection(a).load('s1')).toBeNull();
    });

    // A's own object with the same id is a different object.
    await a.save('s1', { owner: 'a', value: 'a-value' });
    const still = await b.get('s1');
    expect(still).toMatchObject({ version: 2, data: { value: 'b-secret-v2' } });
    expect((await b.versions('s1')).length).toBe(2);
  });

  it('keeps tenant B\'s sessions and threads out of reach of tenant A', async () => {
    const sessionsB = new SessionManager(db, { tenantId: 'tenant-b' });
    const sessionsA = sessionsB.forTenant('tenant-a');
    const threadsB = new ThreadManager(db, { tenantId: 'tenant-b' });
    const threadsA = threadsB.forTenant('tenant-a');
    const session = await sessionsB.create({ userId: 'shared-user', metadata: { secret: true } });
    const expired = await sessionsB.create({ userId: 'shared-user', expiresAt: new Date(Date.now() - 1000) });
    const thread = await threadsB.create({ userId: 'shared-user', sessionId: session.id, title: 'b' });
    await db.pool.query(`INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_id, state) VALUES ('tenant-b', $1, 'cp', '\\x00')`, [thread.id]);

    expect(await sessionsA.get(session.id)).toBeNull();
    expect((await sessionsA.listByUser('shared-user')).items).toEqual([]);
    await expect(sessionsA.update(session.id, { metadata: { secret: false } })).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(sessionsA.touch(session.id)).rejects.toBeInstanceOf(SessionNotFoundError);
    expect(await sessionsA.delete(session.id)).toBe(false);
    expect(await sessionsA.purgeExpired()).toBe(0);

    expect(await threadsA.get(thread.id)).toBeNull();
    expect((await threadsA.listBySession(session.id)).items).toEqual([]);
    expect((await threadsA.listByUser('shared-user')).items).toEqual([]);
    await expect(threadsA.update(thread.id, { title: 'stolen' })).rejects.toBeInstanceOf(ThreadNotFoundError);
    await expect(threadsA.create({ userId: 'shared-user', sessionId: session.id })).rejects.toBeInstanceOf(SessionNotFoundError);
    expect(await threadsA.delete(thread.id)).toBe(false);

    expect(await sessionsB.get(session.id)).toMatchObject({ metadata: { secret: true } });
    expect(await threadsB.get(thread.id)).toMatchObject({ title: 'b' });
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM checkpoints WHERE tenant_id = 'tenant-b' AND thread_id = $1`, [thread.id]);
    expect(rows[0]?.n).toBe(1);
    const { rows: expiredRows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE tenant_id = 'tenant-b' AND id = $1`, [expired.id]);
    expect(expiredRows[0]?.n).toBe(1);
  });

  it('refuses tenant ids outside the strict pattern', () => {
    for (const bad of ["b' OR '1'='1", '', 'a b', 'x'.repeat(200), 'tenant;--']) {
      expect(() => store.forTenant(bad)).toThrow(ValidationError);
      expect(() => new SessionManager(db, { tenantId: bad })).toThrow(ValidationError);
      expect(() => new ThreadManager(db, { tenantId: bad })).toThrow(ValidationError);
      expect(() => createObjectStore(db, { tenantId: bad })).toThrow(ValidationError);
    }
  });
});
