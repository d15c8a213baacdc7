// The object cache is repaired from PostgreSQL whenever a write learns that it is stale: a version
// conflict, or an object gone that the cache still held, invalidates the entry, so an optimistic
// writer that loads and saves with expectedVersion converges instead of retrying against the same
// stale version. Writes that replace objects without a version bump of their own (snapshot
// imports) invalidate what they replaced after COMMIT.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { createRedis, type RedisConnection } from '@cairn/redis';
import { createObjectStore, ObjectNotFoundError, VersionConflictError, type ObjectStore } from '../src/index.js';

const Note = z.object({ text: z.string() });

let db: CairnDb;
let redis: RedisConnection;
let cached: ObjectStore;
/** Another process writing the same tenant without the cache: its writes are behind the cache's back. */
let uncached: ObjectStore;

beforeAll(async () => {
  db = await createTestDb();
  redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('objects-repair') });
  await redis.ready();
  cached = createObjectStore(db, { tenantId: 'repair', redis });
  uncached = createObjectStore(db, { tenantId: 'repair' });
});

afterAll(async () => {
  await cached.close();
  await uncached.close();
  await redis.close();
  await db.close();
});

describe('a stale cache entry', () => {
  it('is repaired by a version conflict, so a load-then-save writer succeeds on its next attempt', async () => {
    const mine = cached.collection('Note', Note);
    const theirs = uncached.collection('Note', Note);
    await mine.save('n', { text: 'v1' });
    expect((await mine.get('n')).version).toBe(1); // cached
    await theirs.save('n', { text: 'v2 behind the cache' });
    expect((await mine.get('n')).version).toBe(1); // stale, as the setup intends

    const conflict = await mine.save('n', { text: 'mine' }, { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(conflict).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    expect(conflict).toBeInstanceOf(VersionConflictError);
    expect(await mine.get('n')).toMatchObject({ version: 2, data: { text: 'v2 behind the cache' } });

    // The optimistic writer loop of the incident: load, save at the loaded version, retry on conflict.
    await mine.get('n'); // cached at 2
    await theirs.save('n', { text: 'v3 behind the cache' });
    const attempts: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      attempts.push(attempt);
      const current = await mine.get('n');
      const saved = await mine.save('n', { text: `mine at ${current.version}` }, { expectedVersion: current.version }).catch((e: unknown) => {
        if (e instanceof VersionConflictError) return null;
        throw e;
      });
      if (saved) break;
    }
    expect(attempts).toEqual([1, 2]);
    expect(await mine.get('n')).toMatchObject({ version: 4, data: { text: 'mine at 3' } });
  });

  it('is repaired when a write finds the cached object gone', async () => {
    const mine = cached.collection('Note', Note);
    const theirs = uncached.collection('Note', Note);
    await mine.save('gone', { text: 'here' });
    await mine.get('gone');
    await theirs.delete('gone');
    expect(await mine.load('gone')).not.toBeNull(); // stale
    await expect(mine.update('gone', (d) => ({ text: `${d.text}!` }))).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await mine.load('gone')).toBeNull();

    await mine.save('gone-too', { text: 'here' });
    await mine.get('gone-too');
    await theirs.delete('gone-too');
    await expect(mine.delete('gone-too', { expectedVersion: 1 })).rejects.toMatchObject({ actualVersion: 0 });
    expect(await mine.load('gone-too')).toBeNull();
  });
});

describe('importSnapshot()', () => {
  it('invalidates the objects it overwrote, so a cached read returns the imported version', async () => {
    const source = createObjectStore(db, { tenantId: 'repair-source' });
    await source.collection('Note', Note).save('imported', { text: 'v1' });
    await source.collection('Note', Note).save('imported', { text: 'v2 from the snapshot' });
    const snapshot = await source.exportSnapshot();
    await source.close();

    const mine = cached.collection('Note', Note);
    for (const text of ['a', 'b', 'c']) await mine.save('imported', { text });
    expect((await mine.get('imported')).version).toBe(3); // cached
    await cached.importSnapshot(snapshot, { onConflict: 'overwrite' });
    expect(await mine.get('imported')).toMatchObject({ version: 2, data: { text: 'v2 from the snapshot' } });
  });
});
