// Redis cache entries are keyed by the database's epoch (cairn_identity): after a reset or a
// recreated database, a new instance on the same Redis never serves what the old database held.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { createCairn } from '../src/index.js';

let database: TestDatabase;
const keyPrefix = uniqueKeyPrefix('identity');
const Note = z.object({ text: z.string() });

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const open = () => createCairn({ databaseUrl: database.url, redisUrl: testRedisUrl(), redis: { keyPrefix }, db: { pool: { max: 2 } } });

describe('caches tied to the database identity', () => {
  it('serves nothing of a database that was reset, and optimistic writers do not spin', async () => {
    const before = await open();
    const notes = before.objects.collection('Note', Note);
    await notes.save('n1', { text: 'old' });
    await notes.save('n1', { text: 'older' });
    expect((await notes.load('n1'))?.version).toBe(2);
    const thread = await before.checkpointer.put('t1', { secret: 'old' });
    expect((await before.checkpointer.get('t1'))?.checkpointId).toBe(thread);
    await before.close();

    // What `prisma migrate reset` does: the tables are recreated empty, the migration writes a new epoch.
    const admin = await open();
    await admin.db.pool.query(`TRUNCATE objects, object_versions, checkpoints, checkpoint_writes`);
    await admin.db.pool.query(`UPDATE cairn_identity SET epoch = gen_random_uuid()::text`);
    await admin.close();

    const after = await open();
    try {
      const fresh = after.objects.collection('Note', Note);
      expect(await fresh.load('n1')).toBeNull();
      expect(await after.checkpointer.get('t1')).toBeUndefined();
      const created = await fresh.save('n1', { text: 'new' }, { expectedVersion: 0 });
      expect(created.version).toBe(1);
      expect((await fresh.load('n1'))?.data).toEqual({ text: 'new' });
    } finally {
      await after.close();
    }
  });
});
