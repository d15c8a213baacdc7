// The metadata filter language and its translation to parameterised SQL over `documents.metadata`.
//
// Keys are checked against a strict pattern and travel as `text[]` path parameters; values always
// travel as parameters, and string values follow core's text rule (a NUL or a lone surrogate would
// be refused by jsonb, so it is an issue of the filter, named by its path). Equality, $in and
// $contains become jsonb containment (`@>`), which the GIN(metadata jsonb_path_ops) index serves;
// ranges compare jsonb values of one JSON type.
import { textIssue, type ValidationIssue } from '@cairn/core';
import { InvalidFilterError } from './errors.js';
import type { SqlParams } from './sql-params.js';

/** A value equality, `$ne`, `$in` and `$contains` compare against. */
export type FilterScalar = string | number | boolean | null;
/** A bound for `$gt`/`$gte`/`$lt`/`$lte`: numbers compare numerically, strings (and Dates, as ISO 8601) lexically. */
export type FilterRangeValue = number | string | Date;

/** Comparison operators on one metadata key. Several in one object are ANDed. */
export interface FilterOperators {
  /** Equal to (same as giving the value directly). */
  $eq?: FilterScalar | Date;
  /** Not equal to; also matches documents without the key. */
  $ne?: FilterScalar | Date;
  /** Equal to one of the values (1 to 1000 of them). */
  $in?: readonly (FilterScalar | Date)[];
  /** Equal to none of the values; also matches documents without the key. */
  $nin?: readonly (FilterScalar | Date)[];
  $gt?: FilterRangeValue;
  $gte?: FilterRangeValue;
  $lt?: FilterRangeValue;
  $lte?: FilterRangeValue;
  /** The key is present (even with a JSON null) / absent. */
  $exists?: boolean;
  /** The key holds an array containing the value (or every one of the values). */
  $contains?: FilterScalar | readonly FilterScalar[];
}

/** What a metadata key may be matched against: a value (equality), operators, or nested keys. */
export type FilterCondition = FilterScalar | Date | FilterOperators | { readonly [key: string]: FilterCondition };

/**
 * A metadata filter. Keys are metadata paths (`"author.name"`, or nested objects
 * `{ author: { name: … } }`); segments match `[A-Za-z0-9_][A-Za-z0-9_-]{0,63}`. Several keys are
 * ANDed. `$and` / `$or` take filters, `$not` one filter.
 *
 * @example
 * { lang: 'en', year: { $gte: 2020 }, $or: [{ tags: { $contains: 'pg' } }, { 'author.name': { $in: ['Ann', 'Bo'] } }] }
 */
export type MetadataFilter = {
  readonly $and?: readonly MetadataFilter[];
  readonly $or?: readonly MetadataFilter[];
  readonly $not?: MetadataFilter;
} & { readonly [key: string]: FilterCondition | readonly MetadataFilter[] | MetadataFilter | undefined };

/** A metadata key segment: letters, digits, `_` and `-`, not starting with `-`, at most 64 characters. */
export const FILTER_KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
const MAX_PATH_DEPTH = 8;
const MAX_NESTING = 10;
const MAX_CLAUSES = 256;
const MAX_IN_VALUES = 1000;

const COMPARISON_OPERATORS = new Set(['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists', '$contains']);
const RANGE_SQL: Readonly<Record<string, string>> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isScalar(value: unknown): value is FilterScalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** JSON text of a scalar (Dates as their ISO string), for containment documents. */
function scalarJson(value: FilterScalar | Date): string {
  return JSON.stringify(value instanceof Date ? value.toISOString() : value);
}

/**
 * `{"a":{"b":<inner>}}` for path [a, b]. Built as text with JSON.stringify'd keys so that keys
 * such as `__proto__` stay plain JSON keys (an object literal would treat them as prototypes).
 */
function nestJson(path: readonly string[], inner: string): string {
  let json = inner;
  for (let i = path.length - 1; i >= 0; i--) json = `{${JSON.stringify(path[i])}:${json}}`;
  return json;
}

class FilterCompiler {
  readonly issues: ValidationIssue[] = [];
  #clauses = 0;

  constructor(
    private readonly params: SqlParams,
    private readonly column: string,
  ) {}

  private issue(path: string, message: string): string {
    this.issues.push({ path, message });
    return 'FALSE';
  }

  /** Whether every string among `values` can travel in jsonb (core's text rule); records an issue for each that cannot. */
  private storable(values: readonly unknown[], at: string, indexed: boolean): boolean {
    let ok = true;
    values.forEach((value, i) => {
      const problem = typeof value === 'string' ? textIssue(value) : undefined;
      if (problem === undefined) return;
      this.issue(indexed ? `${at}[${i}]` : at, problem);
      ok = false;
    });
    return ok;
  }

  private countClause(where: string): boolean {
    this.#clauses++;
    if (this.#clauses === MAX_CLAUSES + 1) this.issue(where, `too many conditions (at most ${MAX_CLAUSES})`);
    return this.#clauses <= MAX_CLAUSES;
  }

  /** A filter object: its keys ANDed. */
  filter(value: unknown, where: string, depth: number): string {
    if (depth > MAX_NESTING) return this.issue(where, `nested more than ${MAX_NESTING} levels deep`);
    if (!isPlainObject(value)) return this.issue(where, 'must be an object of conditions');
    const parts: string[] = [];
    for (const [key, condition] of Object.entries(value)) {
      const at = where ? `${where}.${key}` : key;
      if (condition === undefined) continue;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(condition) || condition.length === 0) {
          parts.push(this.issue(at, `${key} takes a non-empty array of filters`));
          continue;
        }
        const inner = condition.map((f, i) => this.filter(f, `${at}[${i}]`, depth + 1));
        parts.push(`(${inner.join(key === '$and' ? ' AND ' : ' OR ')})`);
      } else if (key === '$not') {
        parts.push(`NOT (${this.filter(condition, at, depth + 1)})`);
      } else if (key.startsWith('$')) {
        parts.push(this.issue(at, `unknown operator "${key}" at filter level (use $and, $or, $not, or a metadata key)`));
      } else {
        const path = this.path(key, at, []);
        if (path) parts.push(this.condition(path, condition, at, depth + 1));
      }
    }
    return parts.length === 0 ? 'TRUE' : parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
  }

  /** Splits and checks a (possibly dotted) key, appended to `prefix`. */
  private path(key: string, at: string, prefix: readonly string[]): string[] | undefined {
    const segments = key.split('.');
    const bad = segments.find((s) => !FILTER_KEY_PATTERN.test(s));
    if (bad !== undefined) {
      this.issue(at, `key segment ${JSON.stringify(bad.slice(0, 80))} is not allowed (letters, digits, _ and -, at most 64 characters)`);
      return undefined;
    }
    const path = [...prefix, ...segments];
    if (path.length > MAX_PATH_DEPTH) {
      this.issue(at, `path is deeper than ${MAX_PATH_DEPTH} keys`);
      return undefined;
    }
    return path;
  }

  private condition(path: string[], condition: unknown, at: string, depth: number): string {
    if (depth > MAX_NESTING) return this.issue(at, `nested more than ${MAX_NESTING} levels deep`);
    if (isScalar(condition) || condition instanceof Date) {
      if (condition instanceof Date && Number.isNaN(condition.getTime())) return this.issue(at, 'is an invalid Date');
      return this.equals(path, condition, at);
    }
    if (Array.isArray(condition)) {
      return this.issue(at, 'an array is not a value to compare with: use { $in: [...] } for one of several values, { $contains: ... } for array members');
    }
    if (!isPlainObject(condition)) return this.issue(at, `cannot compare with ${typeof condition === 'number' ? String(condition) : typeof condition}`);
    const keys = Object.keys(condition);
    if (keys.length === 0) return this.issue(at, 'an empty object matches nothing in particular; give a value or operators');
    const operatorKeys = keys.filter((k) => k.startsWith('$'));
    if (operatorKeys.length > 0 && operatorKeys.length < keys.length) return this.issue(at, 'mixes operators ($…) with nested keys');
    if (operatorKeys.length === 0) {
      // Nested keys: { author: { name: 'x' } } is "author.name" = 'x'.
      const parts: string[] = [];
      for (const [key, inner] of Object.entries(condition)) {
        if (inner === undefined) continue;
        const sub = this.path(key, `${at}.${key}`, path);
        if (sub) parts.push(this.condition(sub, inner, `${at}.${key}`, depth + 1));
      }
      return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
    }
    const parts: string[] = [];
    for (const [op, operand] of Object.entries(condition)) {
      if (operand === undefined) continue;
      parts.push(this.operator(path, op, operand, `${at}.${op}`));
    }
    return parts.length === 1 ? parts[0]! : `(${parts.join(' AND ')})`;
  }

  private equals(path: string[], value: FilterScalar | Date, at: string): string {
    if (!this.storable([value], at, false)) return 'FALSE';
    if (!this.countClause(at)) return 'FALSE';
    return `${this.column} @> ${this.params.add(nestJson(path, scalarJson(value)), 'jsonb')}`;
  }

  private operator(path: string[], op: string, operand: unknown, at: string): string {
    if (!COMPARISON_OPERATORS.has(op)) return this.issue(at, `unknown operator "${op}"`);
    if (!this.countClause(at)) return 'FALSE';
    switch (op) {
      case '$eq':
      case '$ne': {
        if (!isScalar(operand) && !(operand instanceof Date)) return this.issue(at, 'takes a string, number, boolean, null or Date');
        if (!this.storable([operand], at, false)) return 'FALSE';
        const sql = `${this.column} @> ${this.params.add(nestJson(path, scalarJson(operand)), 'jsonb')}`;
        return op === '$eq' ? sql : `NOT (${sql})`;
      }
      case '$in':
      case '$nin': {
        if (!Array.isArray(operand) || operand.length === 0 || operand.length > MAX_IN_VALUES) {
          return this.issue(at, `takes an array of 1 to ${MAX_IN_VALUES} values`);
        }
        const bad = operand.findIndex((v) => !isScalar(v) && !(v instanceof Date));
        if (bad >= 0) return this.issue(`${at}[${bad}]`, 'must be a string, number, boolean, null or Date');
        if (!this.storable(operand, at, true)) return 'FALSE';
        const docs = operand.map((v) => nestJson(path, scalarJson(v as FilterScalar | Date)));
        const sql = `${this.column} @> ANY(${this.params.add(docs, 'jsonb[]')})`;
        return op === '$in' ? sql : `NOT (${sql})`;
      }
      case '$contains': {
        const members = Array.isArray(operand) ? operand : [operand];
        if (members.length === 0 || members.length > MAX_IN_VALUES || !members.every(isScalar)) {
          return this.issue(at, 'takes a value or an array of 1 to 1000 strings, numbers, booleans or nulls');
        }
        if (!this.storable(members, at, Array.isArray(operand))) return 'FALSE';
        const json = `[${members.map((v) => JSON.stringify(v)).join(',')}]`;
        return `${this.column} @> ${this.params.add(nestJson(path, json), 'jsonb')}`;
      }
      case '$exists': {
        if (typeof operand !== 'boolean') return this.issue(at, 'takes true or false');
        return `(${this.column} #> ${this.params.add(path, 'text[]')}) IS ${operand ? 'NOT ' : ''}NULL`;
      }
      default: {
        // $gt / $gte / $lt / $lte: compare only values of the bound's JSON type (jsonb orders
        // across types, so `true > 5` would otherwise hold).
        let bound: number | string;
        if (typeof operand === 'number' && Number.isFinite(operand)) bound = operand;
        else if (typeof operand === 'string') bound = operand;
        else if (operand instanceof Date && !Number.isNaN(operand.getTime())) bound = operand.toISOString();
        else return this.issue(at, 'takes a finite number, a string or a valid Date');
        if (!this.storable([bound], at, false)) return 'FALSE';
        const type = typeof bound === 'number' ? 'number' : 'string';
        const value = `(${this.column} #> ${this.params.add(path, 'text[]')})`;
        // CASE rather than AND: the planner's default selectivity for jsonb_typeof(…) = '…' is
        // 0.5%, which makes it pick exact scans of whole collections for filters that keep most
        // rows; an opaque boolean expression is estimated at 50% and leaves the index in play.
        return `CASE WHEN jsonb_typeof(${value}) = '${type}' THEN ${value} ${RANGE_SQL[op]} ${this.params.add(JSON.stringify(bound), 'jsonb')} ELSE false END`;
      }
    }
  }
}

/**
 * Translates a metadata filter into a SQL boolean expression over `column`, adding its values to
 * `params`. Undefined or `{}` gives `TRUE`. Throws InvalidFilterError listing every problem.
 */
export function compileFilter(filter: unknown, params: SqlParams, column = 'd.metadata'): string {
  if (filter === undefined) return 'TRUE';
  const compiler = new FilterCompiler(params, column);
  const sql = compiler.filter(filter, '', 0);
  if (compiler.issues.length > 0) throw new InvalidFilterError(compiler.issues);
  return sql;
}

/** True when the filter has no conditions at all (undefined or `{}`). */
export function isEmptyFilter(filter: MetadataFilter | undefined): boolean {
  return filter === undefined || Object.values(filter).every((v) => v === undefined);
}

/**
 * Whether the GIN(metadata jsonb_path_ops) index can find a (valid) filter's rows: some ANDed
 * condition is containment (equality, $eq, $in, $contains), or every branch of an $or is. Range,
 * $exists and negated conditions cannot use it; counting their matches means reading the whole
 * collection, so filtered search does not try to (see exactFilterLimit).
 */
export function filterUsesMetadataIndex(filter: MetadataFilter | undefined): boolean {
  return isPlainObject(filter) && Object.entries(filter).some(([key, condition]) => entryUsesIndex(key, condition));
}

function entryUsesIndex(key: string, condition: unknown): boolean {
  if (key === '$and') return Array.isArray(condition) && condition.some((f) => filterUsesMetadataIndex(f as MetadataFilter));
  if (key === '$or') return Array.isArray(condition) && condition.length > 0 && condition.every((f) => filterUsesMetadataIndex(f as MetadataFilter));
  if (key.startsWith('$')) return false;
  return conditionUsesIndex(condition);
}

function conditionUsesIndex(condition: unknown): boolean {
  if (isScalar(condition) || condition instanceof Date) return true;
  if (!isPlainObject(condition)) return false;
  return Object.entries(condition).some(([key, inner]) =>
    key.startsWith('$') ? key === '$eq' || key === '$in' || key === '$contains' : conditionUsesIndex(inner),
  );
}
