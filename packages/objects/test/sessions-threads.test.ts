// SessionManager and ThreadManager against a real PostgreSQL: lifecycle, metadata validation,
// expiry and purge, pagination, and deletes cascading to threads and checkpoints.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ValidationError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import {
  DuplicateIdError,
  SessionManager,
  SessionNotFoundError,
  StoredObjectInvalidError,
  ThreadManager,
  ThreadNotFoundError,
  type ThreadDataOwners,
} from '../src/index.js';

let db: CairnDb;

beforeAll(async () => {
  db = await createTestDb();
});

afterAll(async () => {
  await db.close();
});

/**
 * The thread data owner the managers hand deletions to (createCairn passes the checkpointer; its
 * side is tested in packages/cairn). This one records what it was given and writes a marker row on
 * the caller's client, so a test can see the hand-over ran inside the deleting transaction.
 */
function recordingOwner(options: { fail?: boolean } = {}) {
  const calls: Array<{ tenantId: string; threadIds: string[] }> = [];
  const committed: string[][] = [];
  const owners: ThreadDataOwners = (tenantId) => ({
    async deleteThreadsInTransaction(client, threadIds) {
      calls.push({ tenantId, threadIds: [...threadIds].sort() });
      await client.query('CREATE TEMP TABLE IF NOT EXISTS handed_over (id text) ON COMMIT DROP');
      if (options.fail) throw new Error('owner failed');
      return { deleted: threadIds.length, afterCommit: async () => void committed.push([...threadIds].sort()) };
    },
  });
  return { owners, calls, committed };
}

describe('SessionManager', () => {
  const Meta = z.object({ locale: z.string().optional(), plan: z.enum(['free', 'pro']).optional(), visits: z.number().int().optional() });

  it('creates, gets, updates (replace, merge, touch) and deletes a session', async () => {
    const sessions = new SessionManager(db, { metadataSchema: Meta });
    const created = await sessions.create({ userId: 'u1', metadata: { locale: 'fr' } });
    expect(created).toMatchObject({ tenantId: 'default', userId: 'u1', metadata: { locale: 'fr' }, expiresAt: null });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await sessions.get(created.id)).toEqual(created);

    const merged = await sessions.update(created.id, { mergeMetadata: { plan: 'pro' } });
    expect(merged.metadata).toEqual({ locale: 'fr', plan: 'pro' });
    const replaced = await sessions.update(created.id, { metadata: { visits: 1 } });
    expect(replaced.metadata).toEqual({ visits: 1 });
    const touched = await sessions.touch(created.id);
    expect(touched.lastActivityAt.getTime()).toBeGreaterThanOrEqual(created.lastActivityAt.getTime());

    await expect(sessions.update(created.id, { mergeMetadata: { plan: 'gold' as never } })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [{ path: 'metadata.plan' }],
    });
    expect((await sessions.require(created.id)).metadata).toEqual({ visits: 1 });

    expect(await sessions.delete(created.id)).toBe(true);
    expect(await sessions.delete(created.id)).toBe(false);
    expect(await sessions.get(created.id)).toBeNull();
    await expect(sessions.require(created.id)).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(sessions.update(created.id, { touch: true })).rejects.toBeInstanceOf(SessionNotFoundError);
  });

  it('accepts caller-chosen ids and refuses duplicates and bad input', async () => {
    const sessions = new SessionManager(db);
    await sessions.create({ id: 'mine', userId: 'u2' });
    await expect(sessions.create({ id: 'mine', userId: 'u2' })).rejects.toBeInstanceOf(DuplicateIdError);
    await expect(sessions.create({ userId: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(sessions.create({ userId: 'u', metadata: { n: Number.POSITIVE_INFINITY } })).rejects.toBeInstanceOf(ValidationError);
    await expect(sessions.create({ userId: 'u', extra: true } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('lists a user\'s live sessions newest first, page by page', async () => {
    const sessions = new SessionManager(db);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await sessions.create({ userId: 'lister', metadata: { i } })).id);
    await sessions.create({ userId: 'lister', expiresAt: new Date(Date.now() - 1000) });
    await sessions.create({ userId: 'someone-else' });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof sessions.listByUser>> = await sessions.listByUser('lister', { limit: 2, cursor });
      seen.push(...page.items.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it('hides expired sessions from every read and purges them with their threads and checkpoints', async () => {
    const owner = recordingOwner();
    const sessions = new SessionManager(db, { tenantId: 'expiry', threadData: owner.owners });
    const threads = new ThreadManager(db, { tenantId: 'expiry' });
    const expired = await sessions.create({ userId: 'e', expiresAt: new Date(Date.now() - 60_000) });
    const alive = await sessions.create({ userId: 'e', ttlSeconds: 3600 });
    const forever = await sessions.create({ userId: 'e' });
    expect(alive.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    await db.pool.query(`INSERT INTO threads (tenant_id, id, session_id, user_id, updated_at) VALUES ('expiry', 'old-thread', $1, 'e', now())`, [expired.id]);

    expect(await sessions.get(expired.id)).toBeNull();
    await expect(sessions.update(expired.id, { metadata: {} })).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(threads.create({ userId: 'e', sessionId: expired.id })).rejects.toBeInstanceOf(SessionNotFoundError);
    expect((await sessions.listByUser('e')).items.map((s) => s.id).sort()).toEqual([alive.id, forever.id].sort());

    expect(await sessions.purgeExpired({ batchSize: 1 })).toBe(1);
    expect(await sessions.purgeExpired()).toBe(0);
    expect(await threads.get('old-thread')).toBeNull();
    expect(owner.calls).toEqual([{ tenantId: 'expiry', threadIds: ['old-thread'] }]);
    expect(owner.committed).toEqual([['old-thread']]);
    expect(await sessions.get(alive.id)).not.toBeNull();
  });

  it('applies a default TTL and sliding expiration on touch', async () => {
    const sessions = new SessionManager(db, { defaultTtlSeconds: 60, slidingExpiration: true });
    const s = await sessions.create({ userId: 'ttl' });
    expect(s.expiresAt).not.toBeNull();
    await sessions.update(s.id, { expiresAt: new Date(Date.now() + 5_000) });
    const touched = await sessions.touch(s.id);
    expect(touched.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 30_000);
    const permanent = await sessions.update(s.id, { ttlSeconds: null });
    expect(permanent.expiresAt).toBeNull();
  });

  it('raises a typed error when stored metadata no longer matches the schema', async () => {
    const loose = new SessionManager(db, { tenantId: 'meta' });
    const s = await loose.create({ userId: 'm', metadata: { plan: 'platinum' } });
    const strict = new SessionManager(db, { tenantId: 'meta', metadataSchema: Meta });
    await expect(strict.get(s.id)).rejects.toMatchObject({ code: 'STORED_OBJECT_INVALID', type: 'Session', path: 'metadata.plan' });
    await expect(strict.listByUser('m')).rejects.toBeInstanceOf(StoredObjectInvalidError);
  });
});

describe('ThreadManager', () => {
  it('creates threads in a session or outside one, updates title and metadata, lists by session and by user', async () => {
    const sessions = new SessionManager(db, { tenantId: 'threads' });
    const threads = new ThreadManager(db, { tenantId: 'threads' });
    const session = await sessions.create({ userId: 'tu' });
    const t1 = await threads.create({ userId: 'tu', sessionId: session.id, title: 'first' });
    const t2 = await threads.create({ userId: 'tu', sessionId: session.id, metadata: { model: 'small' } });
    const loose = await threads.create({ id: 'langgraph-thread-1', userId: 'tu' });
    expect(loose).toMatchObject({ id: 'langgraph-thread-1', sessionId: null, title: null, metadata: {} });
    await expect(threads.create({ id: 'langgraph-thread-1', userId: 'tu' })).rejects.toBeInstanceOf(DuplicateIdError);
    await expect(threads.create({ userId: 'tu', sessionId: 'no-such-session' })).rejects.toBeInstanceOf(SessionNotFoundError);

    const renamed = await threads.update(t2.id, { title: 'second', mergeMetadata: { temperature: 0.2 } });
    expect(renamed).toMatchObject({ title: 'second', metadata: { model: 'small', temperature: 0.2 } });
    expect((await threads.update(t2.id, { title: null })).title).toBeNull();
    await expect(threads.update('missing', { title: 'x' })).rejects.toBeInstanceOf(ThreadNotFoundError);

    const bySession = await threads.listBySession(session.id, { limit: 1 });
    expect(bySession.items.map((t) => t.id)).toEqual([t2.id]);
    const next = await threads.listBySession(session.id, { limit: 1, cursor: bySession.nextCursor });
    expect(next.items.map((t) => t.id)).toEqual([t1.id]);
    expect(next.nextCursor).toBeNull();
    expect((await threads.listByUser('tu')).items.map((t) => t.id)).toEqual([loose.id, t2.id, t1.id]);
  });

  it('deletes a thread and hands exactly its id to the thread data owner, in the same transaction', async () => {
    const owner = recordingOwner();
    const threads = new ThreadManager(db, { tenantId: 'cascade', threadData: owner.owners });
    await threads.create({ id: 'doomed', userId: 'c' });
    await threads.create({ id: 'kept', userId: 'c' });
    await new ThreadManager(db, { tenantId: 'elsewhere' }).create({ id: 'doomed', userId: 'c' });

    expect(await threads.delete('doomed')).toBe(true);
    expect(await threads.get('doomed')).toBeNull();
    expect(await threads.get('kept')).not.toBeNull();
    expect(await new ThreadManager(db, { tenantId: 'elsewhere' }).get('doomed')).not.toBeNull();
    expect(owner.calls).toEqual([{ tenantId: 'cascade', threadIds: ['doomed'] }]);
    expect(owner.committed).toEqual([['doomed']]);
    // A thread id nobody registered: nothing deleted, nothing handed over.
    expect(await threads.delete('unregistered')).toBe(false);
    expect(owner.calls).toHaveLength(1);
    // Tenant views hand over to their own tenant's owner.
    await threads.forTenant('view').create({ id: 'v', userId: 'c' });
    expect(await threads.forTenant('view').delete('v')).toBe(true);
    expect(owner.calls.at(-1)).toEqual({ tenantId: 'view', threadIds: ['v'] });
  });

  it('keeps the thread when its data owner fails (one transaction)', async () => {
    const owner = recordingOwner({ fail: true });
    const threads = new ThreadManager(db, { tenantId: 'atomic', threadData: owner.owners });
    await threads.create({ id: 't', userId: 'a' });
    await expect(threads.delete('t')).rejects.toThrow('owner failed');
    expect(await threads.get('t')).not.toBeNull();
    expect(owner.committed).toEqual([]);
  });

  it('deleting a session deletes its threads and hands their ids to the owner', async () => {
    const owner = recordingOwner();
    const sessions = new SessionManager(db, { tenantId: 'session-cascade', threadData: owner.owners });
    const threads = new ThreadManager(db, { tenantId: 'session-cascade' });
    const session = await sessions.create({ userId: 's' });
    const first = await threads.create({ userId: 's', sessionId: session.id });
    const second = await threads.create({ userId: 's', sessionId: session.id });
    const other = await threads.create({ userId: 's' });
    expect(await sessions.delete(session.id)).toBe(true);
    expect(await threads.get(first.id)).toBeNull();
    expect(await threads.get(second.id)).toBeNull();
    expect(await threads.get(other.id)).not.toBeNull();
    expect(owner.calls).toEqual([{ tenantId: 'session-cascade', threadIds: [first.id, second.id].sort() }]);
    expect(owner.committed).toHaveLength(1);
    expect(await sessions.delete(session.id)).toBe(false);
  });
});
