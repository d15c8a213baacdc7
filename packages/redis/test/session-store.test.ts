import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { testRedisUrl, uniqueKeyPrefix } from '../src/testing.js';
import { createRedis, RedisSessionStore, type RedisConnection } from '@cairn/redis';

describe('RedisSessionStore', () => {
  let redis: RedisConnection;
  let sessions: RedisSessionStore;
  beforeAll(async () => {
    redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('sessions') });
    await redis.ready();
    sessions = new RedisSessionStore(redis, { namespace: 'web', defaultTtlSeconds: 60 });
  });
  afterAll(async () => {
    await redis.close();
  });

  it('stores, reads and deletes a session', async () => {
    await sessions.set('s1', { userId: 'u1', since: new Date(0) });
    expect(await sessions.get('s1')).toEqual({ userId: 'u1', since: new Date(0) });
    await sessions.delete('s1');
    expect(await sessions.get('s1')).toBeUndefined();
  });

  it('slides the expiry forward on every touch', async () => {
    await sessions.set('sliding', { n: 1 }, { ttlSeconds: 0.6 });
    await sleep(400);
    expect(await sessions.touch('sliding')).toBe(true);
    await sleep(400); // 800 ms after set: alive only because of the touch
    expect(await sessions.getAndTouch('sliding')).toEqual({ n: 1 });
    expect(await sessions.ttlMs('sliding')).toBeGreaterThan(400);
    await sleep(750);
    expect(await sessions.get('sliding')).toBeUndefined();
    expect(await sessions.touch('sliding')).toBe(false);
  });

  it('does not extend an entry on a plain get', async () => {
    await sessions.set('plain', 1, { ttlSeconds: 0.4 });
    await sleep(250);
    await sessions.get('plain');
    await sleep(250);
    expect(await sessions.get('plain')).toBeUndefined();
  });
});
