// @cairn/core's input rules on real Redis: keys and ids that ioredis would change are refused
// before they can alias another entry, bounds are counted in UTF-8 bytes, and a seeded fuzz of the
// cache's and the session store's writes finds only exact round trips or typed Cairn errors raised
// before Redis (never a ReplyError, never a RangeError).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ValidationError } from '@cairn/core';
import { hostileId, hostileJson, hostileKey, rejection, roundTripOrRefusal } from '@cairn/core/testing';
import { scanKeys as scanRedisKeys, testRedisUrl, uniqueKeyPrefix } from '../src/testing.js';
import { createRedis, RedisCache, RedisSessionStore, type RedisConnection } from '@cairn/redis';

// The serializer writes -0 as 0 (as JSON and jsonb do): compare numbers that way.
expect.addEqualityTesters([(a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && a === 0 && b === 0 ? true : undefined)]);

let redis: RedisConnection;
let keyPrefix: string;
beforeAll(async () => {
  keyPrefix = uniqueKeyPrefix('rules');
  redis = createRedis({ url: testRedisUrl(), keyPrefix });
  await redis.ready();
});
afterAll(async () => {
  const keys = await scanKeys(`${keyPrefix}*`);
  // One UNLINK per key: on a cluster the keys sit in different slots.
  await Promise.all(keys.map((key) => redis.client.unlink(key)));
  await redis.close();
});

const scanKeys = (pattern: string) => scanRedisKeys(redis, pattern);

describe('lone surrogates', () => {
  it('are sent by ioredis as U+FFFD, so two such keys are one key to Redis', async () => {
    // Why the rule exists: if this ever stops being true, the refusals below are still right, but say so.
    await redis.client.set(`${keyPrefix}raw:a\uD800b`, 'first');
    expect(await redis.client.get(`${keyPrefix}raw:a\uDBFFb`)).toBe('first');
    expect(await redis.client.get(`${keyPrefix}raw:a\uFFFDb`)).toBe('first');
  });

  it('in cache keys are refused, so one key can never read another key’s entry', async () => {
    const cache = new RedisCache(redis, { namespace: 'alias' });
    try {
      expect(await rejection(cache.set('a\uD800b', { owner: 'first' }))).toBeInstanceOf(ValidationError);
      expect(await rejection(cache.get('a\uDBFFb'))).toBeInstanceOf(ValidationError);
      expect(await rejection(cache.getOrLoad('a\uDBFFb', async () => 'loaded'))).toBeInstanceOf(ValidationError);
      expect(await rejection(cache.del('ok', 'a\uDC00'))).toBeInstanceOf(ValidationError);
      const error = (await rejection(cache.get('a\uD800b'))) as ValidationError;
      expect(error.issues).toEqual([{ path: '', message: expect.stringMatching(/lone surrogate \(U\+D800 at index 1\)/) }]);
      // The same characters as a well-formed pair are an ordinary, distinct key.
      await cache.set('a\uD800\uDC00b', { owner: 'pair' });
      expect(await cache.get('a\uD800\uDC00b')).toEqual({ owner: 'pair' });
      expect(await cache.get('a\uFFFDb')).toBeUndefined();
      expect(await scanKeys(`${keyPrefix}cache:alias:*`)).toEqual(expect.arrayContaining([`${keyPrefix}cache:alias:{a\uD800\uDC00b}`]));
      expect(await scanKeys(`${keyPrefix}cache:alias:*\uFFFD*`)).toEqual([]);
    } finally {
      await cache.clear();
      cache.close();
    }
  });

  it('in session ids are refused, so one session can never read another’s value', async () => {
    const sessions = new RedisSessionStore(redis, { namespace: 'alias' });
    expect(await rejection(sessions.set('s\uD800', { user: 'first' }))).toBeInstanceOf(ValidationError);
    for (const call of [sessions.get('s\uDBFF'), sessions.touch('s\uDBFF'), sessions.getAndTouch('s\uDBFF'), sessions.ttlMs('s\uDBFF'), sessions.delete('s\uDBFF')]) {
      expect(await rejection(call)).toBeInstanceOf(ValidationError);
    }
    expect(await sessions.get('s\uFFFD')).toBeUndefined();
    expect(await scanKeys(`${keyPrefix}sessions:alias:*`)).toEqual([]);
  });
});

describe('bounds in UTF-8 bytes', () => {
  it('refuse cache keys over 1024 bytes even when they are under 1024 characters, and keep one at the bound', async () => {
    const cache = new RedisCache(redis, { namespace: 'bytes' });
    try {
      const wide = 'é'.repeat(513); // 513 characters, 1026 bytes
      const error = (await rejection(cache.set(wide, 1))) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues[0]!.message).toMatch(/at most 1024 bytes in UTF-8 \(is 1026\)/);
      expect(await rejection(cache.get(wide))).toBeInstanceOf(ValidationError);
      const full = 'é'.repeat(512); // 1024 bytes
      await cache.set(full, 'kept');
      expect(await cache.get(full)).toBe('kept');
      expect(await scanKeys(`${keyPrefix}cache:bytes:*`)).toHaveLength(2); // the value and its version
    } finally {
      await cache.clear();
      cache.close();
    }
  });

  it('refuse session ids over 512 bytes, and keep one at the bound', async () => {
    const sessions = new RedisSessionStore(redis, { namespace: 'bytes' });
    const wide = '東'.repeat(171); // 171 characters, 513 bytes
    expect(await rejection(sessions.set(wide, 1))).toBeInstanceOf(ValidationError);
    const full = '東'.repeat(170) + 'ab'; // 512 bytes
    await sessions.set(full, { ok: true });
    expect(await sessions.getAndTouch(full)).toEqual({ ok: true });
    await sessions.delete(full);
  });

  it('refuse TTLs Redis would turn into an error or an immediate expiry', async () => {
    const cache = new RedisCache(redis, { namespace: 'ttl' });
    const sessions = new RedisSessionStore(redis, { namespace: 'ttl' });
    try {
      // 0.4 ms rounds to 0: `SET … PX 0` is a Redis error, `PEXPIRE key 0` deletes the session at once.
      expect(await rejection(cache.set('k', 1, { ttlSeconds: 0.0004 }))).toBeInstanceOf(ValidationError);
      expect(await rejection(sessions.set('s', 1, { ttlSeconds: 0.0004 }))).toBeInstanceOf(ValidationError);
      expect(() => new RedisSessionStore(redis, { defaultTtlSeconds: 0 })).toThrow(ValidationError);
      expect(await scanKeys(`${keyPrefix}*ttl*`)).toEqual([]);
    } finally {
      cache.close();
    }
  });
});

/**
 * Keys and ids: a third hostile, the rest valid but unusual (quotes, spaces, glob characters, astral
 * and combining characters, U+FFFD), so that calls still reach Redis often enough to test the round trip.
 */
const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: hostileId },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', ' ', ':', '*', '?', '[', "'", '"', '\\', 'é', 'e\u0301', '東', '\u{1F680}', '\uFFFD', '\u00A0'), minLength: 1, maxLength: 12 }) },
);

/** Values: JSON-like ones, what the serializer carries besides (Map, Set, Date, bigint, bytes, undefined, NaN, -0), and deep chains. */
const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: hostileJson() },
  {
    weight: 2,
    arbitrary: fc.tuple(hostileJson({ nonJson: false, maxChain: 2 }), hostileKey, fc.bigInt(), fc.date({ noInvalidDate: true }), fc.uint8Array({ maxLength: 8 })).map(
      ([json, key, big, date, bytes]) => ({ map: new Map<unknown, unknown>([[key, json]]), set: new Set([key]), big, date, bytes, u: undefined, nan: Number.NaN, negZero: -0, json }),
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 990, max: 1010 }).map((depth) => Array.from({ length: depth }).reduce<unknown>((inner) => [inner], 'leaf')) },
);

/** TTLs: none, long enough to read back, or ones the rules refuse. */
const ttlArb: fc.Arbitrary<number | undefined> = fc.constantFrom(undefined, undefined, 60, 3600, 0, -1, 0.0004, Number.NaN, Number.POSITIVE_INFINITY, 4e7);

/** The error must be Cairn's, and about the input: not an outage, not Redis' refusal. */
describe('the public write API, fuzzed on Redis', () => {
  it('round-trips every cache set exactly, through get and getOrLoad, or refuses it with a typed Cairn error', async () => {
    const cache = new RedisCache(redis, { namespace: 'fuzz' });
    const outcomes = { roundTrips: 0, refused: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(idArb, valueArb, ttlArb, async (key, value, ttlSeconds) => {
          await roundTripOrRefusal(outcomes, async () => {
            await cache.set(key, value, ttlSeconds === undefined ? undefined : { ttlSeconds });
            return async () => {
              expect(await cache.get(key)).toEqual(value);
              expect(await cache.getOrLoad(key, async () => 'the loader must not run')).toEqual(value);
            };
          });
        }),
        { seed: 17_2026, numRuns: 200 },
      );
    } finally {
      await cache.clear();
      cache.close();
    }
    // Both outcomes occur: the generators reach the rules from both sides.
    expect(outcomes.roundTrips).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
  });

  it('round-trips every session write exactly, through get and getAndTouch, or refuses it with a typed Cairn error', async () => {
    const sessions = new RedisSessionStore(redis, { namespace: 'fuzz' });
    const outcomes = { roundTrips: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(idArb, valueArb, ttlArb, async (id, value, ttlSeconds) => {
        await roundTripOrRefusal(outcomes, async () => {
          await sessions.set(id, value, ttlSeconds === undefined ? {} : { ttlSeconds });
          return async () => {
            expect(await sessions.get(id)).toEqual(value);
            expect(await sessions.getAndTouch(id)).toEqual(value);
            expect(await sessions.ttlMs(id)).toBeGreaterThan(0);
            await sessions.delete(id);
            expect(await sessions.touch(id)).toBe(false);
          };
        });
      }),
      { seed: 18_2026, numRuns: 200 },
    );
    expect(outcomes.roundTrips).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
  });
});
