// The one table of filter cases: documents, filters and which documents each filter keeps. Core's
// unit test runs every case through the evaluator (matchesFilter) and @cairn/db's integration test
// runs the same cases through the SQL compiler on PostgreSQL, so the two sides cannot drift. A new
// operator gets its rows here. Exported from `@cairn/core/testing`.
import { FILTER_OPERATOR_NAMES } from './filter-operators.js';
import { filterCondition, filterLanguage, type Filter, type FilterNode } from './filter-language.js';
import type { JsonValue } from './json-value.js';

/** The documents every case filters, by index. */
export const FILTER_CASE_DOCUMENTS: readonly JsonValue[] = [
  /* 0 */ { tag: 'red', n: 1, flag: true, tags: ['a', 'b'], author: { name: 'Ann', age: 30 }, date: '2024-01-05T00:00:00.000Z' },
  /* 1 */ { tag: 'green', n: 2, flag: false, tags: ['b'], author: { name: 'Bo', age: 41 }, opt: null, date: '2024-03-01T00:00:00.000Z' },
  /* 2 */ { tag: 'blue', n: 2.5, tags: [], author: { name: 'Cy' }, extra: 'x', list: [{ id: 1, x: 2 }, { id: 3 }] },
  /* 3 */ { tag: 'red', n: -1, flag: false, tags: ['a'], nested: { deep: { v: 1 } }, '0': 'zero' },
  /* 4 */ { tag: 1, n: '2', tags: 'a', flag: 'true', author: 'Ann' },
  /* 5 */ { title: 'é', s: '\u{1F600}', opt: 0 },
  /* 6 */ { s: '\uFFFD', title: 'e' },
  /* 7 */ { tags: [['a']], arr: [1, 2, 3], m: { '0': 5 }, constructor: { prototype: 1 } },
  /* 8 */ {},
  /* 9 */ ['a', 'b'],
  /* 10 */ { big: 1e300, tiny: 5e-324, n: 100 },
];

/**
 * A case: a filter in the `$` syntax (any operator of the table, so wider than the `Filter` type of
 * the standard operators), or one built by code, and the documents it keeps.
 */
export type FilterCase = { readonly name: string; readonly matches: readonly number[] } & (
  | { readonly filter: Filter | Readonly<Record<string, unknown>>; readonly build?: undefined }
  | { readonly build: () => FilterNode; readonly filter?: undefined }
);

/** The language cases are written in: the default one with every operator of the table. */
export const FILTER_CASE_LANGUAGE = filterLanguage({ operators: FILTER_OPERATOR_NAMES });

/** A case's parsed filter. */
export function filterOfCase(c: FilterCase): FilterNode {
  return c.build ? c.build() : FILTER_CASE_LANGUAGE.parse(c.filter);
}

export const FILTER_CASES: readonly FilterCase[] = [
  { name: 'no conditions keep every document', filter: {}, matches: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
  { name: 'string equality', filter: { tag: 'red' }, matches: [0, 3] },
  { name: 'equality does not cross JSON types', filter: { tag: '1' }, matches: [] },
  { name: 'number equality', filter: { n: 2 }, matches: [1] },
  { name: 'number equality is by value', filter: { n: 1e2 }, matches: [10] },
  { name: 'boolean equality', filter: { flag: false }, matches: [1, 3] },
  { name: 'JSON null equality', filter: { opt: null }, matches: [1] },
  { name: 'a Date compares as its ISO string', filter: { date: new Date('2024-01-05T00:00:00.000Z') }, matches: [0] },
  { name: 'a dotted path', filter: { 'author.name': 'Ann' }, matches: [0] },
  { name: 'nested keys are a dotted path', filter: { author: { name: 'Bo', age: { $gte: 40 } } }, matches: [1] },
  { name: 'equality on a numeric key reads an object member, never an array element', filter: { 'arr.0': 1 }, matches: [] },
  { name: 'a numeric object key', filter: { 'm.0': 5 }, matches: [7] },
  { name: 'a top-level numeric key', filter: { '0': 'zero' }, matches: [3] },
  { name: 'constructor is a plain key', filter: { 'constructor.prototype': 1 }, matches: [7] },
  { name: '$eq', filter: { tag: { $eq: 'blue' } }, matches: [2] },
  { name: '$ne keeps documents without the key', filter: { tag: { $ne: 'red' } }, matches: [1, 2, 4, 5, 6, 7, 8, 9, 10] },
  { name: '$in', filter: { tag: { $in: ['green', 'blue', 1] } }, matches: [1, 2, 4] },
  { name: '$in with a Date', filter: { date: { $in: [new Date('2024-03-01T00:00:00.000Z')] } }, matches: [1] },
  { name: '$nin keeps documents without the key', filter: { tag: { $nin: ['red', 'green'] } }, matches: [2, 4, 5, 6, 7, 8, 9, 10] },
  { name: '$gt on numbers', filter: { n: { $gt: 1 } }, matches: [1, 2, 10] },
  { name: '$gte and $lt', filter: { n: { $gte: 1, $lt: 2.5 } }, matches: [0, 1] },
  { name: '$lte', filter: { n: { $lte: -1 } }, matches: [3] },
  { name: 'a range skips values of another JSON type', filter: { n: { $lt: '3' } }, matches: [4] },
  { name: 'a string range', filter: { tag: { $gt: 'green' } }, matches: [0, 3] },
  { name: 'strings order by code point', filter: { s: { $gt: '\uFFFD' } }, matches: [5] },
  { name: 'a non-ASCII string range', filter: { title: { $gt: 'e' } }, matches: [5] },
  { name: 'a Date range', filter: { date: { $gte: new Date('2024-02-01T00:00:00.000Z') } }, matches: [1] },
  { name: 'a range on an array element by index', filter: { 'arr.1': { $gte: 2 } }, matches: [7] },
  { name: 'extreme numbers', filter: { big: { $gt: 1e299 }, tiny: { $gt: 0 } }, matches: [10] },
  { name: '$exists true counts a JSON null', filter: { opt: { $exists: true } }, matches: [1, 5] },
  { name: '$exists false', filter: { extra: { $exists: false } }, matches: [0, 1, 3, 4, 5, 6, 7, 8, 9, 10] },
  { name: '$exists reads array elements by index', filter: { 'arr.2': { $exists: true } }, matches: [7] },
  { name: '$exists past the end of an array', filter: { 'arr.3': { $exists: true } }, matches: [] },
  { name: '$exists through a scalar', filter: { 'tag.x': { $exists: true } }, matches: [] },
  { name: '$contains one', filter: { tags: { $contains: 'a' } }, matches: [0, 3] },
  { name: '$contains all', filter: { tags: { $contains: ['b', 'a'] } }, matches: [0] },
  { name: '$contains needs an array', filter: { tag: { $contains: 'red' } }, matches: [] },
  { name: '$contains does not reach into nested arrays', filter: { tags: { $contains: ['a'] }, arr: { $exists: true } }, matches: [] },
  { name: '$or', filter: { $or: [{ tag: 'red' }, { n: { $gt: 50 } }] }, matches: [0, 3, 10] },
  { name: '$and', filter: { $and: [{ tag: 'red' }, { flag: false }] }, matches: [3] },
  { name: '$not', filter: { $not: { tag: 'red' } }, matches: [1, 2, 4, 5, 6, 7, 8, 9, 10] },
  { name: '$not of a range keeps values of other types', filter: { $not: { n: { $gt: 0 } } }, matches: [3, 4, 5, 6, 7, 8, 9] },
  { name: 'a single $or branch', filter: { $or: [{ flag: true }] }, matches: [0] },
  { name: 'several keys are ANDed', filter: { tag: 'red', n: { $lt: 0 } }, matches: [3] },
  { name: '$jsonContains: an object member of an array element', filter: { list: { $jsonContains: [{ id: 1 }] } }, matches: [2] },
  { name: '$jsonContains: array members in any order', filter: { tags: { $jsonContains: ['b', 'a'] } }, matches: [0] },
  { name: '$jsonContains: nested arrays hold arrays, not scalars', filter: { tags: { $jsonContains: ['a'] } }, matches: [0, 3] },
  { name: '$jsonContains: an array inside an array', filter: { tags: { $jsonContains: [['a']] } }, matches: [7] },
  { name: '$jsonEquals: only the same array', filter: { tags: { $jsonEquals: ['a'] } }, matches: [3] },
  { name: '$jsonEquals: an object, keys in any order', filter: { author: { $jsonEquals: { age: 41, name: 'Bo' } } }, matches: [1] },
  { name: '$jsonEquals: an array element by index', filter: { 'list.1.id': { $jsonEquals: 3 } }, matches: [2] },
  { name: '$jsonEquals: a JSON null is not a missing key', filter: { opt: { $jsonEquals: null } }, matches: [1] },
  { name: '$not of $jsonEquals keeps documents without the path', filter: { $not: { opt: { $jsonEquals: null } } }, matches: [0, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
  {
    name: 'containment of a whole document',
    build: () => filterCondition('$jsonContains', [], { tag: 'red', author: { name: 'Ann' }, tags: ['b'] }),
    matches: [0],
  },
  { name: 'containment of an empty object', build: () => filterCondition('$jsonContains', [], {}), matches: [0, 1, 2, 3, 4, 5, 6, 7, 8, 10] },
  { name: 'a top-level array contains a scalar', build: () => filterCondition('$jsonContains', [], 'a'), matches: [9] },
  { name: 'exact equality of a whole document', build: () => filterCondition('$jsonEquals', [], {}), matches: [8] },
];
