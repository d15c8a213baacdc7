import { describe, expect, it } from '@jest/globals';
import { CacheKeySchema, cacheKeyIssue, isValidCacheKey, MAX_CACHE_KEY_BYTES } from './cache.js';

describe('cache key check', () => {
  it('agrees with CacheKeySchema on every kind of input', () => {
    const inputs: unknown[] = ['', 'a', 'x'.repeat(1024), 'x'.repeat(1025), 'tenant:thread:1', '{', '}', 'a{b', 'a}b', '{a}', 'é✓🙂', ' ', '\n', '*?[]', 1, null, undefined, {}, ['a']];
    inputs.push('a\uD800b', 'a\uDBFFb', '\uDC00', 'a\uD800\uDC00b', 'a\u0000b', '東'.repeat(341), '東'.repeat(342), '\u{1F680}'.repeat(256), '\u{1F680}'.repeat(257));
    for (let i = 0; i < 200; i++) inputs.push(String.fromCharCode(...Array.from({ length: i % 9 }, (_, j) => 32 + ((i * 7 + j * 13) % 95))));
    for (const input of inputs) expect([input, isValidCacheKey(input)]).toEqual([input, CacheKeySchema.safeParse(input).success]);
  });

  it('refuses lone surrogates, which ioredis would send as U+FFFD (two keys, one entry)', () => {
    expect(cacheKeyIssue('a\uD800b')).toMatch(/lone surrogate \(U\+D800 at index 1\)/);
    expect(cacheKeyIssue('a\uDBFFb')).toMatch(/lone surrogate \(U\+DBFF at index 1\)/);
    expect(cacheKeyIssue('a\uD800\uDC00b')).toBeUndefined();
  });

  it('counts its bound in UTF-8 bytes, not in characters', () => {
    expect(MAX_CACHE_KEY_BYTES).toBe(1024);
    expect(cacheKeyIssue('東'.repeat(341))).toBeUndefined(); // 1023 bytes
    expect(cacheKeyIssue('東'.repeat(342))).toMatch(/at most 1024 bytes in UTF-8 \(is 1026\)/); // 342 characters
    expect(cacheKeyIssue('\u{1F680}'.repeat(257))).toMatch(/is 1028/);
  });

  it('refuses NUL, control characters and braces, naming each', () => {
    expect(cacheKeyIssue('a\u0000b')).toMatch(/NUL/);
    expect(cacheKeyIssue('a\nb')).toMatch(/control characters \(U\+000A/);
    expect(cacheKeyIssue('a{b')).toMatch(/\{ or \}/);
    expect(cacheKeyIssue('')).toMatch(/empty/);
    expect(cacheKeyIssue(7)).toMatch(/string/);
  });
});
