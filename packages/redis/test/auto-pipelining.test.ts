// Auto-pipelining and script commands (ioredis#1931): a script command defined while an
// auto-pipeline is pending crashes the process, in ioredis 5.11 and still in 6.0.0. @cairn/redis
// defines its scripts when it creates the client, so its calls are safe with auto-pipelining on.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { testRedisIsCluster, testRedisUrl, uniqueKeyPrefix } from '../src/testing.js';
import { createRedis, RedisCache, RedisSessionStore, type RedisConnection } from '@cairn/redis';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

describe('with auto-pipelining on', () => {
  let redis: RedisConnection;
  beforeAll(async () => {
    redis = createRedis({ url: testRedisUrl(), keyPrefix: uniqueKeyPrefix('pipelined'), enableAutoPipelining: true });
    await redis.ready();
  });
  afterAll(async () => {
    await redis.close();
  });

  it('runs the first cache and session calls while an auto-pipeline is pending, without crashing (ioredis#1931)', async () => {
    const cache = new RedisCache(redis, { namespace: 'first-use' });
    const sessions = new RedisSessionStore(redis);
    // All in one tick: the GET opens an auto-pipeline; every script call after it joins it.
    const results = await Promise.all([
      redis.client.get(redis.key('unrelated')),
      cache.set('written', 'w'),
      cache.getOrLoad('loaded', async () => 'l'),
      cache.del('deleted'),
      sessions.touch('absent'),
      sessions.set('s1', { user: 'u1' }),
    ]);
    expect(results).toEqual([null, undefined, 'l', undefined, false, undefined]);
    expect([await cache.get('written'), await cache.get('loaded'), await sessions.getAndTouch('s1')]).toEqual(['w', 'l', { user: 'u1' }]);
    expect(redis.stats().errors).toBe(0);
    await cache.clear();
    await sessions.delete('s1');
    cache.close();
  });

  // A canary: when ioredis fixes #1931, this fails, and defining scripts lazily would be safe again.
  // Its fixture drives a single-node client: on the cluster run it has nothing to add.
  (testRedisIsCluster() ? it.skip : it)('is still needed: ioredis throws an uncaught "results[i] is not iterable" when a script is defined while an auto-pipeline is pending', async () => {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [path.join(PACKAGE_DIR, 'test', 'fixtures', 'ioredis-1931.mjs'), testRedisUrl()], { cwd: PACKAGE_DIR, timeout: 20_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr || err.message)) : resolve(stdout),
      ),
    );
    const report = JSON.parse(out.trim()) as { uncaught: string | null; results: string[] };
    expect(report.uncaught).toMatch(/results\[i\] is not iterable/);
    expect(report.results).toEqual(['fulfilled', 'rejected']);
  });
});
