import { describe, expect, it } from '@jest/globals';
import { jsonContains } from './json-match.js';

describe('jsonContains (jsonb @>)', () => {
  it('matches objects by contained keys, recursively', () => {
    expect(jsonContains({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } })).toBe(true);
    expect(jsonContains({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonContains({ a: 1 }, { b: null })).toBe(false);
    expect(jsonContains({ a: null }, { a: null })).toBe(true);
    expect(jsonContains({ a: 1 }, {})).toBe(true);
  });

  it('matches arrays by contained elements, in any order', () => {
    expect(jsonContains({ tags: ['a', 'b', 'c'] }, { tags: ['c', 'a'] })).toBe(true);
    expect(jsonContains({ tags: ['a'] }, { tags: ['z'] })).toBe(false);
    expect(jsonContains({ list: [{ id: 1, x: 2 }] }, { list: [{ id: 1 }] })).toBe(true);
    expect(jsonContains({ tags: 'a' }, { tags: ['a'] })).toBe(false);
  });

  it('compares scalars by value and type', () => {
    expect(jsonContains({ n: 1 }, { n: '1' })).toBe(false);
    expect(jsonContains({ b: true }, { b: true })).toBe(true);
  });
});
