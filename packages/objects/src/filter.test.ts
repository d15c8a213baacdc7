import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ValidationError } from '@cairn/core';
import { compileFilter } from './filter.js';

const Schema = z.object({
  name: z.string(),
  address: z.object({ city: z.string(), geo: z.object({ lat: z.number() }).nullable() }).optional(),
  tags: z.array(z.string()),
  scores: z.record(z.string(), z.number()),
  kind: z.union([z.object({ a: z.number() }), z.object({ b: z.string() })]),
  extra: z.unknown(),
  tree: z.lazy(() => z.object({ leaf: z.boolean() })),
  strict: z.object({ x: z.number() }).strict(),
  loose: z.looseObject({ x: z.number() }),
});

describe('compileFilter', () => {
  it('merges dotted paths and nested objects into one containment document', () => {
    const compiled = compileFilter(Schema, { 'address.city': 'Paris', address: { geo: { lat: 1 } }, tags: ['x'] }, undefined, 3);
    expect(compiled.conditions).toEqual(['data @> $3::jsonb']);
    expect(JSON.parse(compiled.params[0] as string)).toEqual({ address: { city: 'Paris', geo: { lat: 1 } }, tags: ['x'] });
  });

  it('compiles equality on paths to a text[] path and a JSON value, both parameters', () => {
    const compiled = compileFilter(Schema, undefined, { 'tags.0': 'x', 'scores.math': 3 }, 5);
    expect(compiled.conditions).toEqual(['data #> $5::text[] = $6::jsonb', 'data #> $7::text[] = $8::jsonb']);
    expect(compiled.params).toEqual([['tags', '0'], '"x"', ['scores', 'math'], '3']);
  });

  it('follows optional, nullable, record, union, lazy, unknown and loose objects', () => {
    for (const path of ['address.geo.lat', 'scores.anything', 'kind.a', 'kind.b', 'extra.deep.down', 'tree.leaf', 'loose.other']) {
      expect(() => compileFilter(Schema, { [path]: 1 }, undefined, 1)).not.toThrow();
    }
  });

  it('refuses unknown members, members of scalars, strict objects and bad segments, listing each', () => {
    const error = (() => {
      try {
        compileFilter(Schema, { nope: 1, 'name.first': 'x', 'strict.y': 1, 'a..b': 1, 'x y': 1 }, { 'tags.-1': 'x' }, 1);
      } catch (e) {
        return e as ValidationError;
      }
      throw new Error('expected a ValidationError');
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues).toHaveLength(6);
  });

  it('refuses overlapping conditions and values JSON cannot hold', () => {
    expect(() => compileFilter(Schema, { address: { city: 'a' }, 'address.city': 'b' }, undefined, 1)).toThrow(ValidationError);
    expect(() => compileFilter(Schema, { name: Number.NaN }, undefined, 1)).toThrow(ValidationError);
    expect(() => compileFilter(Schema, [] as never, undefined, 1)).toThrow(ValidationError);
  });
});
