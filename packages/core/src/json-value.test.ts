import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { JsonObjectSchema, JsonValueSchema, ValidationError, checkJson, isStorableJson, jsonIssues, jsonObjectSchema, parseInput } from './index.js';

function nested(depth: number, leaf: unknown = 1, asArray = false): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i += 1) value = asArray ? [value] : { a: value };
  return value;
}

describe('jsonIssues', () => {
  it('accepts plain JSON, null-prototype objects and the keys constructor and prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.x = 1;
    const value = { s: 'déjà 🚀\n\ttabs', n: -1.5e300, b: false, z: null, list: [1, 'two', [3], { four: 4 }], bare, constructor: { prototype: 1 }, prototype: 'p' };
    expect(jsonIssues(value)).toEqual([]);
    expect(isStorableJson(value)).toBe(true);
    expect(checkJson(value, 'metadata')).toBe(value);
  });

  it('names the path of NUL and lone surrogates in strings and in keys', () => {
    expect(jsonIssues({ a: { b: ['ok', 'x\u0000'] } })).toEqual([{ path: 'a.b[1]', message: expect.stringMatching(/NUL/) }]);
    expect(jsonIssues({ a: 'x\uD800' })).toEqual([{ path: 'a', message: expect.stringMatching(/lone surrogate/) }]);
    const [nulKey] = jsonIssues({ a: { 'k\u0000': 1 } });
    expect(nulKey).toEqual({ path: 'a["k\\u0000"]', message: expect.stringMatching(/key with NUL/) });
    const [loneKey] = jsonIssues({ ['\uDBFF']: 1 });
    expect(loneKey).toEqual({ path: '["\\udbff"]', message: expect.stringMatching(/key with a lone surrogate/) });
  });

  it('refuses what JSON.stringify would change or drop', () => {
    const cases: [unknown, RegExp][] = [
      [{ n: Number.NaN }, /NaN is not a JSON number/],
      [{ n: Infinity }, /Infinity is not a JSON number/],
      [[1, undefined], /undefined \(or an empty slot\)/],
      // eslint-disable-next-line no-sparse-arrays -- the hole is the input under test
      [[1, , 3], /empty slot/],
      [{ u: undefined }, /the property would be dropped/],
      [{ f: () => 1 }, /a function is not JSON/],
      [{ s: Symbol('s') }, /a symbol is not JSON/],
      [{ b: 1n }, /a bigint is not JSON/],
      [{ d: new Date(0) }, /a Date is not JSON/],
      [{ m: new Map() }, /a Map is not a plain JSON object/],
      [{ [Symbol('k')]: 1 }, /symbol keys/],
      [new (class Point {})(), /a Point is not a plain JSON object/],
    ];
    for (const [value, message] of cases) expect(jsonIssues(value)).toEqual([expect.objectContaining({ message: expect.stringMatching(message) })]);
  });

  it('allows Dates and undefined properties when asked', () => {
    expect(jsonIssues({ d: new Date(0), u: undefined }, { allowDates: true, allowUndefinedProperties: true })).toEqual([]);
    expect(jsonIssues({ d: new Date(Number.NaN) }, { allowDates: true })[0]?.message).toMatch(/invalid Date/);
    expect(jsonIssues([undefined], { allowUndefinedProperties: true })[0]?.message).toMatch(/empty slot/);
  });

  it('refuses an own __proto__ key with a reason instead of letting it be dropped', () => {
    const parsed = JSON.parse('{"safe":1,"__proto__":{"polluted":true}}') as object;
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(jsonIssues(parsed)).toEqual([{ path: '__proto__', message: expect.stringMatching(/prototype change.*rename it/) }]);
    // A `__proto__` in an object literal sets the prototype instead: a non-plain object, also refused.
    expect(jsonIssues({ __proto__: { polluted: true } })[0]?.message).toMatch(/not a plain JSON object/);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('reports deep nesting at the level that passes maxDepth, with no RangeError even a million levels down', () => {
    expect(jsonIssues(nested(256))).toEqual([]);
    const [deep] = jsonIssues(nested(257));
    expect(deep).toEqual({ path: Array(256).fill('a').join('.'), message: 'is nested deeper than 256 levels of arrays and objects' });
    for (const depth of [10_000, 1_000_000]) {
      for (const asArray of [false, true]) {
        const issues = jsonIssues(nested(depth, 'x', asArray));
        expect(issues).toHaveLength(1);
        expect(issues[0]!.message).toMatch(/deeper than 256/);
      }
    }
    expect(jsonIssues(nested(5), { maxDepth: 4 })[0]?.path).toBe('a.a.a.a');
    expect(() => checkJson(nested(1_000_000), 'state')).toThrow(ValidationError);
  });

  it('reports cycles as circular references but accepts shared subtrees', () => {
    const loop: Record<string, unknown> = { a: { b: {} } };
    (loop.a as { b: Record<string, unknown> }).b.back = loop;
    expect(jsonIssues(loop)).toEqual([{ path: 'a.b.back', message: 'is a circular reference' }]);
    const shared = { x: 1 };
    expect(jsonIssues({ left: shared, right: [shared, shared] })).toEqual([]);
  });

  it('stops after maxIssues, so a huge bad input is cheap to refuse', () => {
    const bad = Array.from({ length: 100_000 }, () => Number.NaN);
    expect(jsonIssues(bad)).toHaveLength(20);
    expect(jsonIssues(bad, { maxIssues: 3 }).map((i) => i.path)).toEqual(['[0]', '[1]', '[2]']);
    expect(jsonIssues(new Array(1e9))).toHaveLength(20);
  });

  it('quotes odd keys in paths, escapes control characters, and cuts long ones', () => {
    expect(jsonIssues({ 'a b': { '0': Number.NaN } })[0]?.path).toBe('["a b"]["0"]');
    expect(jsonIssues({ ['k'.repeat(100)]: Number.NaN })[0]?.path).toBe(`["${'k'.repeat(64)}…"]`);
    expect(jsonIssues({ 'del\u007f\u0085': Number.NaN })[0]?.path).toBe('["del\\u007f\\u0085"]');
    expect(jsonIssues({ a: [{ 'x y': Number.NaN }] }, { path: 'equals.k' })[0]?.path).toBe('equals.k.a[0]["x y"]');
    expect(jsonIssues(Number.NaN, { path: 'metadata' })[0]?.path).toBe('metadata');
    const result = JsonObjectSchema.safeParse({ 'é x': { 'c\u0001': { '\uDFFF': 1 } } });
    expect(result.error!.issues[0]!.path).toEqual(['é x', '"c\\u0001"', '"\\udfff"']);
  });
});

describe('the zod forms', () => {
  it('report issues at their path inside the enclosing schema, and return the value itself', () => {
    const schema = z.object({ metadata: JsonObjectSchema, value: JsonValueSchema });
    const result = schema.safeParse({ metadata: { a: [Number.NaN] }, value: 'x\u0000' });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => [i.path, i.message])).toEqual([
      [['metadata', 'a', 0], 'NaN is not a JSON number'],
      [['value'], expect.stringMatching(/NUL/)],
    ]);
    const value = JSON.parse('{"constructor":1,"prototype":{"x":[1]}}') as object;
    expect(parseInput(JsonObjectSchema, value, 'metadata')).toBe(value);
  });

  it('refuses non-objects for JsonObjectSchema and escapes odd keys in zod paths', () => {
    expect(JsonObjectSchema.safeParse([1]).success).toBe(false);
    expect(JsonObjectSchema.safeParse(null).success).toBe(false);
    const error = (() => {
      try {
        parseInput(jsonObjectSchema({ maxDepth: 2 }), { '\uD800': 1, ok: { deep: {} } }, 'metadata');
      } catch (e) {
        return e as ValidationError;
      }
    })();
    expect(error?.message).toBe(
      'Invalid metadata: "\\ud800": has a key with a lone surrogate, which jsonb cannot store; ok.deep: is nested deeper than 2 levels of arrays and objects',
    );
  });
});
