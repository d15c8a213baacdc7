// createCairn() on a Redis Cluster (the cluster run of the suites sets REDIS_URL to a
// redis+cluster:// URL; scripts/test-redis-cluster.sh): the URL is accepted, the caches serve hits,
// and a write through one Cairn is never served stale by another one's cache.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { testRedisIsCluster, testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { createCairn, type Cairn } from '../src/index.js';

const onCluster = testRedisIsCluster() ? describe : describe.skip;

onCluster('createCairn on a Redis Cluster', () => {
  let database: TestDatabase;
  let first: Cairn;
  let second: Cairn;

  beforeAll(async () => {
    database = await createTestDatabase();
    const redis = { keyPrefix: uniqueKeyPrefix('cairn-cluster') };
    first = await createCairn({ databaseUrl: database.url, redisUrl: testRedisUrl(), redis, db: { pool: { max: 4 } } });
    second = await createCairn({ databaseUrl: database.url, redisUrl: testRedisUrl(), redis, db: { pool: { max: 4 } } });
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
  });

  it('takes a redis+cluster:// URL and keeps two processes consistent through its caches', async () => {
    expect(testRedisUrl()).toMatch(/^redis\+cluster:\/\//);
    const session = await first.sessions.create({ userId: 'ada' });
    expect(await second.sessions.get(session.id)).toMatchObject({ id: session.id, userId: 'ada' });

    const profilesA = first.objects.collection('Profile', z.object({ visits: z.number() }));
    const profilesB = second.objects.collection('Profile', z.object({ visits: z.number() }));
    await profilesA.save('u1', { visits: 0 });
    expect((await profilesB.load('u1'))?.data).toEqual({ visits: 0 });
    await profilesA.update('u1', (p) => ({ visits: p.visits + 1 }));
    expect((await profilesB.load('u1'))?.data).toEqual({ visits: 1 });

    await first.checkpointer.put('thread-1', { step: 1 });
    expect((await second.checkpointer.get('thread-1'))?.state).toEqual({ step: 1 });
  });
});
