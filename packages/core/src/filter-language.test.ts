import { describe, expect, it } from '@jest/globals';
import { InvalidFilterError, ValidationError } from './errors.js';
import { FILTER_CASES, FILTER_CASE_DOCUMENTS, filterOfCase } from './filter-cases.js';
import { filterCondition, filterLanguage, filterUsesIndex, matchesFilter, parseFilter, type FilterNode } from './filter-language.js';
import { compareCodePoints, jsonPathValue, jsonbEquals } from './json-match.js';

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFilterError);
    return [...(error as InvalidFilterError).issues];
  }
  throw new Error('expected an InvalidFilterError');
}

describe('matchesFilter on the shared cases', () => {
  it.each(FILTER_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const filter = filterOfCase(c);
    const kept = FILTER_CASE_DOCUMENTS.flatMap((doc, i) => (matchesFilter(filter, doc) ? [i] : []));
    expect(kept).toEqual(c.matches);
  });
});

describe('parseFilter', () => {
  it('parses equality, nested keys and operators into conditions on paths', () => {
    expect(parseFilter({ 'author.name': 'Ann', year: { $gte: new Date(Date.UTC(2024, 0, 2)) } })).toEqual({
      kind: 'and',
      nodes: [
        { kind: 'condition', operator: '$eq', path: ['author', 'name'], operand: 'Ann' },
        { kind: 'condition', operator: '$gte', path: ['year'], operand: '2024-01-02T00:00:00.000Z' },
      ],
    });
    expect(parseFilter({ author: { name: 'Ann' } })).toEqual(parseFilter({ 'author.name': 'Ann' }));
  });

  it('gives the filter that keeps everything for no filter', () => {
    expect(parseFilter(undefined)).toEqual({ kind: 'and', nodes: [] });
    expect(parseFilter({ a: undefined })).toEqual({ kind: 'and', nodes: [] });
  });

  it('raises an InvalidFilterError that is a ValidationError, with code INVALID_FILTER and category invalid_input', () => {
    const error = (() => {
      try {
        parseFilter({ a: { $regex: '.*' } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidFilterError);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ name: 'InvalidFilterError', code: 'INVALID_FILTER', category: 'invalid_input', issues: [{ path: 'a.$regex' }] });
  });

  it('lists every problem with its path', () => {
    const issues = issuesOf(() => parseFilter({ 'bad key': 1, ok: { $foo: 1 }, $or: [], $where: 1, n: { $in: [1, {}] }, m: [1], x: { b: 1, $eq: 2 } }));
    expect(issues.map((i) => i.path)).toEqual(['bad key', 'ok.$foo', '$or', '$where', 'n.$in[1]', 'm', 'x']);
  });

  it('refuses strings jsonb cannot hold (NUL, lone surrogates), naming where they are', () => {
    const issues = issuesOf(() => parseFilter({ a: 'x\u0000', b: { $in: ['ok', '\uD800'] }, c: { $lt: 'y\u0000' }, d: { $contains: ['x', '\uDC00'] } }));
    expect(issues.map((i) => i.path)).toEqual(['a', 'b.$in[1]', 'c.$lt', 'd.$contains[1]']);
  });

  it('keeps __proto__ and constructor as plain keys, reaching no prototype', () => {
    const node = parseFilter(JSON.parse('{"__proto__": {"polluted": 1}, "constructor": 2}'));
    expect(node).toEqual({
      kind: 'and',
      nodes: [
        { kind: 'condition', operator: '$eq', path: ['__proto__', 'polluted'], operand: 1 },
        { kind: 'condition', operator: '$eq', path: ['constructor'], operand: 2 },
      ],
    });
    expect(matchesFilter(node, { constructor: 2 })).toBe(false);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(issuesOf(() => parseFilter({ a: { toString: 1, $eq: 1 } }))).toHaveLength(1);
    expect(issuesOf(() => parseFilter({ a: { __proto__: 1 } as never }))).toHaveLength(1);
  });

  it('limits nesting, paths, conditions and list sizes', () => {
    let deep: Record<string, unknown> = { a: 1 };
    for (let i = 0; i < 10_000; i++) deep = { $not: deep };
    expect(issuesOf(() => parseFilter(deep))[0]!.message).toMatch(/nested more than 10 levels/);
    expect(issuesOf(() => parseFilter({ $or: Array.from({ length: 300 }, (_, i) => ({ k: i })) }))[0]!.message).toMatch(/too many conditions/);
    expect(issuesOf(() => parseFilter({ k: { $in: Array.from({ length: 1001 }, (_, i) => i) } }))).toHaveLength(1);
    expect(issuesOf(() => parseFilter({ 'a.b.c.d.e.f.g.h.i': 1 }))[0]!.message).toMatch(/deeper than 8/);
  });

  it('accepts only the operators and keys its language names', () => {
    const store = filterLanguage({ operators: ['$eq', '$in'], keyPattern: /^[a-z]+$/, keyRule: 'lower-case letters', maxValues: 2 });
    expect(store.parse({ a: { $in: ['x', 'y'] } })).toMatchObject({ operator: '$in' });
    expect(issuesOf(() => store.parse({ a: { $gt: 1 } }))).toEqual([{ path: 'a.$gt', message: 'unknown operator "$gt"' }]);
    expect(issuesOf(() => store.parse({ A: 1 }))[0]!.message).toMatch(/lower-case letters/);
    expect(issuesOf(() => store.parse({ a: { $in: [1, 2, 3] } }))[0]!.message).toMatch(/1 to 2 values/);
    expect(issuesOf(() => parseFilter({ a: { $jsonEquals: [1] } }))[0]!.message).toMatch(/unknown operator/);
    expect(() => filterLanguage({ maxNesting: 0 })).toThrow();
  });
});

describe('filterCondition', () => {
  it('checks a built condition as the operator checks a parsed one', () => {
    expect(filterCondition('$jsonContains', [], { a: [1] })).toEqual({ kind: 'condition', operator: '$jsonContains', path: [], operand: { a: [1] } });
    expect(issuesOf(() => filterCondition('$jsonContains', [], { a: 'x\u0000' }, 'where'))).toEqual([{ path: 'where.a', message: expect.stringMatching(/NUL/) }]);
    expect(issuesOf(() => filterCondition('$jsonEquals', ['a'], JSON.parse('{"__proto__": 1}'), 'equals.a'))[0]!.path).toBe('equals.a.__proto__');
  });
});

describe('filterUsesIndex', () => {
  it.each([
    [{ lang: 'en' }, true],
    [{ lang: { $in: ['en', 'de'] }, year: { $gte: 2020 } }, true],
    [{ tags: { $contains: 'a' } }, true],
    [{ $or: [{ lang: 'en' }, { year: { $lt: 3 } }] }, false],
    [{ $not: { lang: 'en' } }, false],
    [{ lang: { $ne: 'en' } }, false],
    [{}, false],
  ])('%j → %s', (filter, expected) => {
    expect(filterUsesIndex(parseFilter(filter))).toBe(expected);
  });

  it('counts built containment and not exact equality', () => {
    const contains: FilterNode = filterCondition('$jsonContains', [], { a: 1 });
    expect(filterUsesIndex(contains)).toBe(true);
    expect(filterUsesIndex(filterCondition('$jsonEquals', ['a'], 1))).toBe(false);
  });
});

describe('the jsonb comparisons', () => {
  it('reads paths as #> does: array indexes, negative from the end', () => {
    expect(jsonPathValue({ a: [1, 2, 3] }, ['a', '-1'])).toBe(3);
    expect(jsonPathValue({ a: [1, 2, 3] }, ['a', '01'])).toBe(2);
    expect(jsonPathValue({ a: [1, 2, 3] }, ['a', '1x'])).toBeUndefined();
    expect(jsonPathValue({ a: [1] }, ['a', '-2'])).toBeUndefined();
    expect(jsonPathValue({ a: null }, ['a'])).toBeNull();
    expect(jsonPathValue({ a: 1 }, [])).toEqual({ a: 1 });
  });

  it('compares with jsonb equality and code point order', () => {
    expect(jsonbEquals({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(jsonbEquals([1, 2], [2, 1])).toBe(false);
    expect(jsonbEquals({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBe(1);
    expect(compareCodePoints('ab', 'a')).toBe(1);
    expect(compareCodePoints('a', 'a')).toBe(0);
  });
});
