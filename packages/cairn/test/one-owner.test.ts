// Thread and session deletion go through the checkpointer, the one owner of the checkpoint tables,
// so its Redis cache and change events follow: a deleted thread's checkpoint is never served.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { createCairn, type Cairn } from '../src/index.js';

let database: TestDatabase;
let cairn: Cairn;

beforeAll(async () => {
  database = await createTestDatabase();
  cairn = await createCairn({ databaseUrl: database.url, redisUrl: testRedisUrl(), redis: { keyPrefix: uniqueKeyPrefix('one-owner') }, db: { pool: { max: 3 } } });
});

afterAll(async () => {
  await cairn?.close();
  await database?.drop();
});

async function rows(threadId: string, tenantId = 'default'): Promise<number> {
  const { rows: found } = await cairn.db.pool.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2) + (SELECT count(*) FROM checkpoint_writes WHERE tenant_id = $1 AND thread_id = $2) AS n`,
    [tenantId, threadId],
  );
  return Number(found[0]!.n);
}

/** A thread with a cached latest checkpoint holding a secret, and a pending write. */
async function cachedThread(view: Cairn, sessionId: string | null): Promise<string> {
  const thread = await view.threads.create({ userId: 'u', sessionId });
  const id = await view.checkpointer.put(thread.id, { secret: 'v1' });
  await view.checkpointer.putWrites(thread.id, id, 'task', [{ channel: 'c', value: 1 }]);
  // Read twice: the second read is served from Redis.
  expect((await view.checkpointer.get(thread.id))?.state).toEqual({ secret: 'v1' });
  expect((await view.checkpointer.get(thread.id))?.state).toEqual({ secret: 'v1' });
  return thread.id;
}

describe('one owner per table', () => {
  it('does not serve a deleted thread’s checkpoint from the cache', async () => {
    const threadId = await cachedThread(cairn, null);
    const events: string[] = [];
    const stop = await cairn.checkpointer.subscribe(threadId, (event) => events.push(event.type));
    try {
      expect(await cairn.threads.delete(threadId)).toBe(true);
      expect(await rows(threadId)).toBe(0);
      expect(await cairn.checkpointer.get(threadId)).toBeUndefined();
      expect(events).toContain('checkpoint.deleted');
    } finally {
      await stop();
    }
  });

  it('does not serve the checkpoints of a deleted session’s threads', async () => {
    const session = await cairn.sessions.create({ userId: 'u' });
    const threadId = await cachedThread(cairn, session.id);
    expect(await cairn.sessions.delete(session.id)).toBe(true);
    expect(await cairn.threads.get(threadId)).toBeNull();
    expect(await rows(threadId)).toBe(0);
    expect(await cairn.checkpointer.get(threadId)).toBeUndefined();
  });

  it('does not serve the checkpoints of an expired session’s threads after the purge', async () => {
    const session = await cairn.sessions.create({ userId: 'u' });
    const threadId = await cachedThread(cairn, session.id);
    // Let it expire (a thread cannot be created in an expired session).
    await cairn.db.pool.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [session.id]);
    expect(await cairn.sessions.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await rows(threadId)).toBe(0);
    expect(await cairn.checkpointer.get(threadId)).toBeUndefined();
  });

  it('deletes through the checkpointer of the view’s own tenant', async () => {
    const other = cairn.forTenant('tenant-b');
    const threadId = await cachedThread(other, null);
    // The same thread id in the default tenant is untouched.
    await cairn.checkpointer.put(threadId, { mine: true });
    expect(await other.threads.delete(threadId)).toBe(true);
    expect(await rows(threadId, 'tenant-b')).toBe(0);
    expect(await other.checkpointer.get(threadId)).toBeUndefined();
    expect((await cairn.checkpointer.get(threadId))?.state).toEqual({ mine: true });
  });

  it('deletes the thread’s checkpoints and pending writes and nothing else', async () => {
    const doomed = await cachedThread(cairn, null);
    const kept = await cachedThread(cairn, null);
    await cairn.forTenant('tenant-c').checkpointer.put(doomed, { other: true });
    // Checkpoints of a thread id nobody registered are not the thread manager's to delete.
    await cairn.checkpointer.put('unregistered', { loose: true });
    expect(await cairn.threads.delete(doomed)).toBe(true);
    expect(await rows(doomed)).toBe(0);
    expect(await rows(kept)).toBe(2);
    expect(await rows(doomed, 'tenant-c')).toBe(1);
    expect(await cairn.threads.delete('unregistered')).toBe(false);
    expect(await rows('unregistered')).toBe(1);
  });

  it('keeps the thread and its checkpoints when the deletion fails inside the transaction', async () => {
    const threadId = await cachedThread(cairn, null);
    // Block the checkpoint rows: the deletion waits, then the lock wait times out and rolls everything back.
    const locker = await cairn.db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM checkpoints WHERE tenant_id = 'default' AND thread_id = $1 FOR UPDATE`, [threadId]);
      const failing = cairn.threads.delete(threadId);
      // A statement timeout on the deleting transaction would be cleaner; cancel the waiting backend instead.
      for (let i = 0; i < 200; i += 1) {
        const { rowCount } = await cairn.db.pool.query(
          `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%DELETE FROM checkpoint_writes%'`,
        );
        if (rowCount) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await expect(failing).rejects.toMatchObject({ code: 'STORAGE_FAILED', details: expect.objectContaining({ sqlstate: '57014' }) });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect(await cairn.threads.get(threadId)).not.toBeNull();
    expect(await rows(threadId)).toBe(2);
    expect((await cairn.checkpointer.get(threadId))?.state).toEqual({ secret: 'v1' });
  });
});
