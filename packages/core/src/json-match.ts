// PostgreSQL's jsonb comparisons in JavaScript: containment (`@>`), path extraction (`#>`),
// equality (`=`) and the order of two values of one JSON type. The filter evaluator (and through
// it every memory implementation) is built from these, so that a filter matches in memory exactly
// the rows it matches in PostgreSQL; the shared filter cases check both sides.
import type { JsonValue } from './json-value.js';

function isJsonObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * PostgreSQL's `target @> filter`: objects contain every key of the filter's with contained
 * values, arrays contain every element of the filter's somewhere (in any order, duplicates
 * allowed), scalars are equal. At the top level only, an array also contains a scalar that equals
 * one of its elements (`'["a"]' @> '"a"'`); nested, an array never contains a scalar.
 */
export function jsonContains(target: JsonValue | undefined, filter: JsonValue): boolean {
  if (target === undefined) return false;
  if (Array.isArray(target) && !isContainer(filter)) return target.some((t) => !isContainer(t) && t === filter);
  return contains(target, filter);
}

function isContainer(value: JsonValue): boolean {
  return typeof value === 'object' && value !== null;
}

function contains(target: JsonValue | undefined, filter: JsonValue): boolean {
  if (target === undefined) return false;
  if (Array.isArray(filter)) {
    if (!Array.isArray(target)) return false;
    return filter.every((f) => target.some((t) => contains(t, f)));
  }
  if (filter !== null && typeof filter === 'object') {
    if (!isJsonObject(target)) return false;
    return Object.entries(filter).every(([key, value]) => Object.hasOwn(target, key) && contains(target[key], value));
  }
  return target === filter;
}

/**
 * PostgreSQL's `value #> path`: object members by key, array elements by index (an integer,
 * negative from the end, as PostgreSQL reads it), undefined where PostgreSQL gives SQL NULL.
 */
export function jsonPathValue(value: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let node = value;
  for (const segment of path) {
    if (Array.isArray(node)) {
      const index = /^\s*[+-]?\d+$/.test(segment) ? Number(segment) : Number.NaN;
      if (!Number.isSafeInteger(index)) return undefined;
      node = node[index < 0 ? node.length + index : index];
    } else if (isJsonObject(node)) {
      node = Object.hasOwn(node, segment) ? node[segment] : undefined;
    } else {
      return undefined;
    }
    if (node === undefined) return undefined;
  }
  return node;
}

/** PostgreSQL's jsonb `=`: key order does not matter, array order does, numbers compare by value. */
export function jsonbEquals(a: JsonValue, b: JsonValue): boolean {
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonbEquals(x, b[i]!));
  if (isJsonObject(a)) {
    if (!isJsonObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonbEquals(a[k]!, b[k]!));
  }
  return a === b;
}

/**
 * The order of two strings as PostgreSQL compares them under the C collation (by code point; the
 * databases Cairn creates use C.UTF-8). JavaScript's `<` compares UTF-16 code units, which puts
 * U+E000–U+FFFF after the astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * `value <op> bound` for a value of the bound's JSON type (numbers by value, strings by code
 * point); false for any other value, as the SQL's `jsonb_typeof` guard makes it.
 */
export function compareWithBound(value: JsonValue | undefined, bound: number | string, op: '>' | '>=' | '<' | '<='): boolean {
  if (typeof value !== typeof bound) return false;
  const order = typeof bound === 'number' ? Math.sign((value as number) - bound) : compareCodePoints(value as string, bound);
  switch (op) {
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '<':
      return order < 0;
    default:
      return order <= 0;
  }
}
