import { describe, expect, it } from '@jest/globals';
import { InvalidFilterError } from '@cairn/core';
import { fromPGVectorStoreFilter } from './pgvector-store-filter.js';

describe('fromPGVectorStoreFilter', () => {
  it('keeps equality and maps each PGVectorStore operator to Cairn’s', () => {
    expect(fromPGVectorStoreFilter({ lang: 'en' })).toEqual({ lang: 'en' });
    expect(fromPGVectorStoreFilter({ lang: 'en', year: { gte: 2020, lt: 2025 }, tag: { in: ['a', 'b'] }, src: { notIn: ['x'] }, kind: { neq: 'draft' } })).toEqual({
      $and: [{ lang: 'en' }, { year: { $gte: 2020, $lt: 2025 } }, { tag: { $in: ['a', 'b'] } }, { src: { $nin: ['x'] } }, { kind: { $ne: 'draft' } }],
    });
  });

  it('turns arrayContains (any of the values) into an $or of $contains', () => {
    expect(fromPGVectorStoreFilter({ tags: { arrayContains: ['pg', 'redis'] } })).toEqual({ $or: [{ tags: { $contains: 'pg' } }, { tags: { $contains: 'redis' } }] });
  });

  it('refuses operators PGVectorStore does not have', () => {
    expect(() => fromPGVectorStoreFilter({ n: { $gte: 1 } })).toThrow(InvalidFilterError);
    expect(() => fromPGVectorStoreFilter({ tags: { arrayContains: [] } })).toThrow(InvalidFilterError);
  });
});
