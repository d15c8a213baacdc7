import { describe, expect, it } from '@jest/globals';
import { CacheKeySchema, isValidCacheKey } from './cache.js';

describe('cache key check', () => {
  it('agrees with CacheKeySchema on every kind of input', () => {
    const inputs: unknown[] = ['', 'a', 'x'.repeat(1024), 'x'.repeat(1025), 'tenant:thread:1', '{', '}', 'a{b', 'a}b', '{a}', 'é✓🙂', ' ', '\n', '*?[]', 1, null, undefined, {}, ['a']];
    for (let i = 0; i < 200; i++) inputs.push(String.fromCharCode(...Array.from({ length: i % 9 }, (_, j) => 32 + ((i * 7 + j * 13) % 95))));
    for (const input of inputs) expect([input, isValidCacheKey(input)]).toEqual([input, CacheKeySchema.safeParse(input).success]);
  });
});
