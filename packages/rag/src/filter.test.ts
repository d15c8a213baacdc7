import { describe, expect, it } from '@jest/globals';
import { InvalidFilterError } from '@cairn/core';
import { compileFilter, filterUsesMetadataIndex } from './filter.js';
import { SqlParams } from '@cairn/db';

function compile(filter: unknown) {
  const params = new SqlParams();
  const sql = compileFilter(filter, params);
  return { sql, values: params.values };
}

describe('compileFilter', () => {
  it('turns equality into jsonb containment with the value as a parameter', () => {
    expect(compile({ tag: 'red' })).toEqual({ sql: 'd.metadata @> $1::jsonb', values: ['{"tag":"red"}'] });
  });

  it('nests dotted paths and nested keys the same way', () => {
    expect(compile({ 'author.name': 'Ann' }).values).toEqual(['{"author":{"name":"Ann"}}']);
    expect(compile({ author: { name: 'Ann' } }).values).toEqual(['{"author":{"name":"Ann"}}']);
  });

  it('keeps keys such as __proto__ as plain JSON keys', () => {
    // JSON.parse makes __proto__ an own key, as a filter from a request body would have it.
    expect(compile(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": 2}')).values).toEqual(['{"__proto__":{"polluted":1}}', '{"constructor":2}']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('passes paths of range comparisons as text[] parameters and checks the JSON type', () => {
    const { sql, values } = compile({ 'a.b': { $gte: 3 } });
    expect(sql).toBe(`CASE WHEN jsonb_typeof((d.metadata #> $1::text[])) = 'number' THEN (d.metadata #> $1::text[]) >= $2::jsonb ELSE false END`);
    expect(values).toEqual([['a', 'b'], '3']);
  });

  it('compares Dates as ISO strings', () => {
    expect(compile({ at: { $lt: new Date(Date.UTC(2024, 0, 2)) } }).values).toContain('"2024-01-02T00:00:00.000Z"');
  });

  it('combines $and, $or and $not', () => {
    expect(compile({ $or: [{ a: 1 }, { $not: { b: 2 } }], c: { $exists: false } }).sql).toBe(
      '((d.metadata @> $1::jsonb OR NOT (d.metadata @> $2::jsonb)) AND (d.metadata #> $3::text[]) IS NULL)',
    );
  });

  it('gives TRUE for no filter', () => {
    expect(compile(undefined).sql).toBe('TRUE');
    expect(compile({}).sql).toBe('TRUE');
  });

  it('never puts a key or a value into the SQL text', () => {
    const hostile = "x'); DROP TABLE documents; --";
    const { sql } = compile({ a: hostile, b: { $in: [hostile] }, c: { $gt: hostile } });
    expect(sql).not.toContain('DROP');
    expect(() => compile({ [hostile]: 1 })).toThrow(InvalidFilterError);
  });

  it('refuses string values jsonb cannot hold (NUL, lone surrogates), naming where they are', () => {
    const error = (() => {
      try {
        compile({ a: 'x\u0000', b: { $in: ['ok', '\uD800'] }, c: { $lt: 'y\u0000' } });
      } catch (e) {
        return e as InvalidFilterError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidFilterError);
    expect(error!.issues.map((i) => i.path)).toEqual(['a', 'b.$in[1]', 'c.$lt']);
  });

  it('limits nesting and size', () => {
    let deep: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 20; i++) deep = { $not: deep };
    expect(() => compile(deep)).toThrow(/nested more than/);
    expect(() => compile({ $or: Array.from({ length: 300 }, (_, i) => ({ k: i })) })).toThrow(/too many conditions/);
    expect(() => compile({ k: { $in: Array.from({ length: 1001 }, (_, i) => i) } })).toThrow(InvalidFilterError);
    expect(() => compile({ 'a.b.c.d.e.f.g.h.i': 1 })).toThrow(/deeper than 8/);
  });
});

describe('filterUsesMetadataIndex', () => {
  it.each([
    [{ lang: 'en' }, true],
    [{ lang: { $in: ['en', 'de'] }, year: { $gte: 2020 } }, true],
    [{ tags: { $contains: 'a' } }, true],
    [{ author: { name: 'x' } }, true],
    [{ $and: [{ year: { $gt: 1 } }, { lang: 'en' }] }, true],
    [{ $or: [{ lang: 'en' }, { lang: { $eq: 'de' } }] }, true],
    [{ $or: [{ lang: 'en' }, { year: { $lt: 3 } }] }, false],
    [{ year: { $gte: 2020, $lt: 2021 } }, false],
    [{ rare: { $exists: true } }, false],
    [{ $not: { lang: 'en' } }, false],
    [{ lang: { $ne: 'en' } }, false],
    [{}, false],
    [undefined, false],
  ])('%j → %s', (filter, expected) => {
    expect(filterUsesMetadataIndex(filter as Parameters<typeof filterUsesMetadataIndex>[0])).toBe(expected);
  });
});
