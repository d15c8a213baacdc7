// Turns `find({ where, equals })` into conditions of Cairn's one filter language (@cairn/core's
// filter-language.ts; compiled to SQL by @cairn/db): `where` is one `$jsonContains` of a merged
// containment document (`data @> $n`, which the GIN jsonb_path_ops index answers), each `equals`
// path a `$jsonEquals` (`data #> $path = $value`). What stays here is what only a collection
// knows: every key and path segment is checked against a strict pattern and against the
// collection's zod schema. Values pass objects' stored-JSON rule like stored data (a NUL or a lone
// surrogate is refused naming its path, not PostgreSQL's 22P05 or a silently changed match), and
// the containment document is built from null-prototype objects, so `constructor` is an ordinary
// key and no path can reach Object.prototype. A bad filter is core's InvalidFilterError.
import type { z } from 'zod';
import { InvalidFilterError, filterCondition, type FilterNode, type JsonValue, type ValidationIssue } from '@cairn/core';
import { compileFilter as compileFilterSql, SqlParams } from '@cairn/db';
import { storedJsonIssues } from './json.js';

/** A key in a filter: a JSON member name. Deliberately narrower than JSON allows. */
const KEY_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$/;
const INDEX_PATTERN = /^(0|[1-9][0-9]{0,8})$/;
const MAX_SEGMENTS = 16;
/** Never a stored key (core's JSON rule refuses it), and the one key assignment would turn into a prototype change. */
const PROTO_KEY = '__proto__';

type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends Date
    ? string
    : T extends object
      ? { [K in keyof T]?: DeepPartial<T[K]> }
      : T;

/**
 * A containment filter: a deep-partial object of the collection's data (an array value matches
 * arrays that contain those elements), and/or dotted paths (`'address.city': 'Paris'`).
 * Translated to `data @> $param::jsonb`, which the GIN (jsonb_path_ops) index answers.
 */
export type Where<T> = DeepPartial<T> & { [path: `${string}.${string}`]: JsonValue | undefined };

/** Exact equality on dotted paths (`'tags': ['a']` matches only that exact array; `'a.b': null`). */
export type Equals = Readonly<Record<string, JsonValue>>;

type AnySchema = z.core.$ZodType;

function defOf(schema: AnySchema): { type: string } & Record<string, unknown> {
  return schema._zod.def as unknown as { type: string } & Record<string, unknown>;
}

/**
 * Checks that `segments` name a place that can exist in data valid for `schema`. Schemas it cannot
 * see through (any, unknown, custom, transforms' outputs) accept any remaining path.
 */
function pathExists(schema: AnySchema, segments: readonly string[], depth = 0): boolean {
  if (segments.length === 0 || depth > 64) return true;
  const def = defOf(schema);
  const [head, ...rest] = segments as [string, ...string[]];
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
    case 'success':
      return pathExists(def.innerType as AnySchema, segments, depth + 1);
    case 'lazy':
      return pathExists((def.getter as () => AnySchema)(), segments, depth + 1);
    case 'pipe': {
      // Stored data is the pipe's output; a transform's output has no schema to check against.
      const out = def.out as AnySchema;
      return defOf(out).type === 'transform' ? true : pathExists(out, segments, depth + 1);
    }
    case 'object': {
      const shape = def.shape as Record<string, AnySchema>;
      const field = Object.hasOwn(shape, head) ? shape[head] : undefined;
      if (field) return pathExists(field, rest, depth + 1);
      const catchall = def.catchall as AnySchema | undefined;
      if (!catchall || defOf(catchall).type === 'never') return false;
      return pathExists(catchall, rest, depth + 1);
    }
    case 'record':
      return pathExists(def.valueType as AnySchema, rest, depth + 1);
    case 'array':
      return INDEX_PATTERN.test(head) && pathExists(def.element as AnySchema, rest, depth + 1);
    case 'tuple': {
      if (!INDEX_PATTERN.test(head)) return false;
      const items = def.items as AnySchema[];
      const item = items[Number(head)] ?? (def.rest as AnySchema | null | undefined);
      return item ? pathExists(item, rest, depth + 1) : false;
    }
    case 'union':
      return (def.options as AnySchema[]).some((option) => pathExists(option, segments, depth + 1));
    case 'intersection':
      return pathExists(def.left as AnySchema, segments, depth + 1) || pathExists(def.right as AnySchema, segments, depth + 1);
    case 'any':
    case 'unknown':
    case 'custom':
    case 'transform':
      return true;
    default:
      // Scalars (string, number, enum, literal, date, ...) have no members.
      return false;
  }
}

/** Splits and checks a dotted path; numeric segments index arrays. */
function splitPath(path: string, allowIndexes: boolean, issues: ValidationIssue[]): string[] | undefined {
  const segments = path.split('.');
  if (segments.length > MAX_SEGMENTS) {
    issues.push({ path, message: `has more than ${MAX_SEGMENTS} segments` });
    return undefined;
  }
  for (const segment of segments) {
    if (segment === PROTO_KEY) {
      issues.push({ path, message: `segment "${PROTO_KEY}" is refused: stored data never has that key` });
      return undefined;
    }
    if (KEY_PATTERN.test(segment)) continue;
    if (allowIndexes && INDEX_PATTERN.test(segment)) continue;
    issues.push({ path, message: `segment ${JSON.stringify(segment)} must match ${KEY_PATTERN}${allowIndexes ? ' or be an array index' : ''}` });
    return undefined;
  }
  return segments;
}

/** SQL pieces of a filter: conditions referencing `$n` placeholders from `firstParam` on. */
export interface CompiledFilter {
  conditions: string[];
  params: unknown[];
}

/**
 * Validates a `where` / `equals` pair against `schema` and compiles it. Throws InvalidFilterError
 * (a ValidationError) listing every bad path.
 */
export function compileFilter(schema: AnySchema, where: unknown, equals: unknown, firstParam: number): CompiledFilter {
  const conditions = filterConditions(schema, where, equals);
  // Placeholders continue the statement's own $1..$(firstParam - 1).
  const params = new SqlParams(Array.from({ length: firstParam - 1 }));
  return { conditions: conditions.map((c) => compileFilterSql(c, 'data', params)), params: params.values.slice(firstParam - 1) };
}

/** The conditions of a `where` / `equals` pair, each a filter of the one language (ANDed by the caller). */
function filterConditions(schema: AnySchema, where: unknown, equals: unknown): FilterNode[] {
  const issues: ValidationIssue[] = [];
  const conditions: FilterNode[] = [];

  if (where !== undefined) {
    if (typeof where !== 'object' || where === null || Array.isArray(where)) {
      throw new InvalidFilterError([{ path: 'where', message: 'must be an object' }]);
    }
    // The whole document first: depth, cycles, NUL, lone surrogates and __proto__ keys at any level.
    const bad = storedJsonIssues(where, 'where');
    if (bad.length > 0) throw new InvalidFilterError(bad);
    const containment = emptyNode();
    for (const [key, value] of Object.entries(where as Record<string, unknown>)) {
      if (value === undefined) continue;
      const segments = splitPath(key, false, issues);
      if (!segments) continue;
      mergeInto(containment, segments, value, key, schema, issues);
    }
    if (Object.keys(containment).length > 0) conditions.push(filterCondition('$jsonContains', [], asJson(containment), 'where'));
  }

  if (equals !== undefined) {
    if (typeof equals !== 'object' || equals === null || Array.isArray(equals)) {
      throw new InvalidFilterError([{ path: 'equals', message: 'must be an object' }]);
    }
    for (const [key, value] of Object.entries(equals as Record<string, unknown>)) {
      const segments = splitPath(key, true, issues);
      if (!segments) continue;
      if (!pathExists(schema, segments)) {
        issues.push({ path: `equals.${key}`, message: 'is not a path of this collection' });
        continue;
      }
      const bad = storedJsonIssues(value, `equals.${key}`);
      if (bad.length > 0 || value === undefined) {
        issues.push(...(bad.length > 0 ? bad : [{ path: `equals.${key}`, message: 'must be a JSON value' }]));
        continue;
      }
      conditions.push(filterCondition('$jsonEquals', segments, asJson(value), `equals.${key}`));
    }
  }

  if (issues.length > 0) throw new InvalidFilterError(issues);
  return conditions;
}

/**
 * A value that passed the stored-JSON rule as the JSON it is stored as: objects' two leniencies
 * applied (Dates as ISO strings, undefined properties dropped), as JSON.stringify writes them.
 */
function asJson(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/** Adds `value` at `segments` inside the containment document, walking nested objects key by key. */
function mergeInto(
  target: Record<string, unknown>,
  segments: readonly string[],
  value: unknown,
  label: string,
  schema: AnySchema,
  issues: ValidationIssue[],
  prefix: readonly string[] = [],
): void {
  const full = [...prefix, ...segments];
  if (!pathExists(schema, full)) {
    issues.push({ path: `where.${full.join('.')}`, message: 'is not a path of this collection' });
    return;
  }
  let node = target;
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment];
    if (next === undefined) node[segment] = emptyNode();
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      issues.push({ path: `where.${label}`, message: 'overlaps another condition' });
      return;
    }
    node = node[segment] as Record<string, unknown>;
  }
  const last = segments.at(-1)!;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
    // Walk nested objects so that their keys are checked like dotted paths.
    const existing = node[last];
    if (existing !== undefined && (typeof existing !== 'object' || existing === null || Array.isArray(existing))) {
      issues.push({ path: `where.${label}`, message: 'overlaps another condition' });
      return;
    }
    node[last] ??= emptyNode();
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      if (inner === undefined) continue;
      if (!KEY_PATTERN.test(key)) {
        issues.push({ path: `where.${[...full, key].join('.')}`, message: `key must match ${KEY_PATTERN}` });
        continue;
      }
      mergeInto(node[last] as Record<string, unknown>, [key], inner, `${label}.${key}`, schema, issues, full);
    }
    return;
  }
  if (node[last] !== undefined) {
    issues.push({ path: `where.${label}`, message: 'overlaps another condition' });
    return;
  }
  node[last] = value instanceof Date ? value.toISOString() : value;
}

/** A node of the containment document: no prototype, so every key is an own, ordinary key. */
function emptyNode(): Record<string, unknown> {
  return Object.create(null) as Record<string, unknown>;
}
