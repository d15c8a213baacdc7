// The operators of Cairn's one filter language, each defined once: how its operand is checked,
// what it means in JavaScript (the evaluator memory implementations use) and in SQL (the compiler
// in @cairn/db asks each operator for its fragment), and whether a GIN jsonb_path_ops index can
// answer it. To add an operator, add an entry here and its rows to the cases in filter-cases.ts:
// the evaluator's unit test and @cairn/db's PostgreSQL test both run every row, so the two sides
// cannot drift.
//
// The SQL lives here beside the JavaScript rather than in @cairn/db because the two are one
// definition: splitting them would make adding an operator a change in two packages that nothing
// ties together but the shared cases. The fragments cannot hold a value: an operator only sees the
// column expression and `param()`, which turns every value into a bind parameter.
import { textIssue } from './input-rules.js';
import { jsonIssues, type JsonPrimitive, type JsonValue } from './json-value.js';
import { compareWithBound, jsonbEquals, jsonContains, jsonPathValue } from './json-match.js';

/** The casts a filter's bind parameter may carry. */
export type FilterSqlCast = 'jsonb' | 'jsonb[]' | 'text[]';

/** What an operator may use to write its SQL: the filtered jsonb expression and bind parameters. */
export interface FilterSqlTarget {
  /** The jsonb expression being filtered (`d.metadata`, `data`): Cairn's own SQL, never input. */
  readonly column: string;
  /** Adds a bind parameter and returns its placeholder with the cast (`$3::jsonb`). */
  param(value: string | readonly string[], cast: FilterSqlCast): string;
}

/** Where an operator reports a problem with its operand: `at` is the operand's path in the filter. */
export type ReportIssue = (at: string, message: string) => void;

/** Limits an operator's parse respects (from the language options). */
export interface OperandLimits {
  /** Most values in a list operand ($in, $nin, $contains). */
  readonly maxValues: number;
}

/** One operator of the filter language. */
export interface FilterOperatorDefinition<Operand> {
  /** Checks and normalises an operand (Dates become ISO strings); reports problems and returns undefined when it is bad. */
  parse(operand: unknown, at: string, report: ReportIssue, limits: OperandLimits): Operand | undefined;
  /** Whether `document` (the whole jsonb value) matches the condition at `path`. */
  matches(document: JsonValue | undefined, path: readonly string[], operand: Operand): boolean;
  /** The condition as a SQL boolean expression over `target.column`. */
  sql(target: FilterSqlTarget, path: readonly string[], operand: Operand): string;
  /** A GIN (jsonb_path_ops) index on the column can find the rows this condition keeps. */
  readonly usesIndex: boolean;
  /** The SQL can be NULL (a missing path), so a negation must treat NULL as false. */
  readonly sqlMayBeNull: boolean;
}

const SCALAR_MESSAGE = 'takes a string, number, boolean, null or Date';

function isPrimitive(value: unknown): value is JsonPrimitive {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** A scalar operand (a Date as its ISO string), or undefined when it is none. */
function scalarOperand(value: unknown): JsonPrimitive | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return isPrimitive(value) ? value : undefined;
}

/**
 * Whether every string among `values` can travel in jsonb (core's text rule: no NUL, no lone
 * surrogate); reports each that cannot, at `at[i]` when the operand is a list.
 */
function storable(values: readonly JsonPrimitive[], at: string, indexed: boolean, report: ReportIssue): boolean {
  let ok = true;
  values.forEach((value, i) => {
    const problem = typeof value === 'string' ? textIssue(value) : undefined;
    if (problem === undefined) return;
    report(indexed ? `${at}[${i}]` : at, problem);
    ok = false;
  });
  return ok;
}

/**
 * `{"a":{"b":<inner>}}` for path [a, b], as JSON text. Built as text with JSON.stringify'd keys so
 * that a key such as `__proto__` stays a plain JSON key (an object literal would make it a prototype).
 */
export function nestJson(path: readonly string[], inner: string): string {
  let json = inner;
  for (let i = path.length - 1; i >= 0; i--) json = `{${JSON.stringify(path[i])}:${json}}`;
  return json;
}

/** The value `nestJson` describes, for the evaluator (null-prototype objects, for the same reason). */
function nestValue(path: readonly string[], inner: JsonValue): JsonValue {
  let value = inner;
  for (let i = path.length - 1; i >= 0; i--) {
    const node = Object.create(null) as { [key: string]: JsonValue };
    Object.defineProperty(node, path[i]!, { value, enumerable: true, writable: true, configurable: true });
    value = node;
  }
  return value;
}

const containsScalar = (document: JsonValue | undefined, path: readonly string[], value: JsonPrimitive) => jsonContains(document, nestValue(path, value));
const containsScalarSql = (t: FilterSqlTarget, path: readonly string[], value: JsonPrimitive) => `${t.column} @> ${t.param(nestJson(path, JSON.stringify(value)), 'jsonb')}`;

function parseScalar(operand: unknown, at: string, report: ReportIssue): JsonPrimitive | undefined {
  const value = scalarOperand(operand);
  if (value === undefined) {
    report(at, operand instanceof Date ? 'is an invalid Date' : SCALAR_MESSAGE);
    return undefined;
  }
  return storable([value], at, false, report) ? value : undefined;
}

function parseList(operand: unknown, at: string, report: ReportIssue, limits: OperandLimits): JsonPrimitive[] | undefined {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length > limits.maxValues) {
    report(at, `takes an array of 1 to ${limits.maxValues} values`);
    return undefined;
  }
  const values = (operand as unknown[]).map(scalarOperand);
  const bad = values.findIndex((v) => v === undefined);
  if (bad >= 0) {
    report(`${at}[${bad}]`, 'must be a string, number, boolean, null or Date');
    return undefined;
  }
  const list = values as JsonPrimitive[];
  return storable(list, at, true, report) ? list : undefined;
}

const listSql = (t: FilterSqlTarget, path: readonly string[], values: readonly JsonPrimitive[]) =>
  `${t.column} @> ANY(${t.param(
    values.map((v) => nestJson(path, JSON.stringify(v))),
    'jsonb[]',
  )})`;
const inList = (document: JsonValue | undefined, path: readonly string[], values: readonly JsonPrimitive[]) => values.some((v) => containsScalar(document, path, v));

function parseBound(operand: unknown, at: string, report: ReportIssue): number | string | undefined {
  let bound: number | string;
  if (typeof operand === 'number' && Number.isFinite(operand)) bound = operand;
  else if (typeof operand === 'string') bound = operand;
  else if (operand instanceof Date && !Number.isNaN(operand.getTime())) bound = operand.toISOString();
  else {
    report(at, 'takes a finite number, a string or a valid Date');
    return undefined;
  }
  return storable([bound], at, false, report) ? bound : undefined;
}

/**
 * `$gt` / `$gte` / `$lt` / `$lte`: compare only values of the bound's JSON type (jsonb orders across
 * types, so `true > 5` would otherwise hold).
 */
function range(op: '>' | '>=' | '<' | '<='): FilterOperatorDefinition<number | string> {
  return {
    parse: parseBound,
    matches: (document, path, bound) => compareWithBound(jsonPathValue(document, path), bound, op),
    sql(t, path, bound) {
      const type = typeof bound === 'number' ? 'number' : 'string';
      const value = `(${t.column} #> ${t.param(path, 'text[]')})`;
      // CASE rather than AND: the planner's default selectivity for jsonb_typeof(…) = '…' is
      // 0.5%, which makes it pick exact scans of whole collections for filters that keep most
      // rows; an opaque boolean expression is estimated at 50% and leaves the index in play.
      return `CASE WHEN jsonb_typeof(${value}) = '${type}' THEN ${value} ${op} ${t.param(JSON.stringify(bound), 'jsonb')} ELSE false END`;
    },
    usesIndex: false,
    sqlMayBeNull: false,
  };
}

/** A JSON value operand, checked by core's JSON rule. */
function parseJson(operand: unknown, at: string, report: ReportIssue): JsonValue | undefined {
  const issues = jsonIssues(operand, { path: at });
  for (const issue of issues) report(issue.path, issue.message);
  return issues.length === 0 ? (operand as JsonValue) : undefined;
}

/**
 * The operator table. `$eq`, `$in` and `$contains` (and `$jsonContains`) are jsonb containment,
 * which a GIN (jsonb_path_ops) index answers; the others read the value at the path.
 */
export const FILTER_OPERATORS = {
  /** Equal to a scalar (the same as giving the value directly). */
  $eq: {
    parse: parseScalar,
    matches: containsScalar,
    sql: containsScalarSql,
    usesIndex: true,
    sqlMayBeNull: false,
  } satisfies FilterOperatorDefinition<JsonPrimitive>,
  /** Not equal to a scalar; also matches documents without the path. */
  $ne: {
    parse: parseScalar,
    matches: (document, path, value) => !containsScalar(document, path, value),
    sql: (t, path, value) => `NOT (${containsScalarSql(t, path, value)})`,
    usesIndex: false,
    sqlMayBeNull: false,
  } satisfies FilterOperatorDefinition<JsonPrimitive>,
  /** Equal to one of 1 to `maxValues` scalars. */
  $in: {
    parse: parseList,
    matches: inList,
    sql: listSql,
    usesIndex: true,
    sqlMayBeNull: false,
  } satisfies FilterOperatorDefinition<JsonPrimitive[]>,
  /** Equal to none of the scalars; also matches documents without the path. */
  $nin: {
    parse: parseList,
    matches: (document, path, values) => !inList(document, path, values),
    sql: (t, path, values) => `NOT (${listSql(t, path, values)})`,
    usesIndex: false,
    sqlMayBeNull: false,
  } satisfies FilterOperatorDefinition<JsonPrimitive[]>,
  $gt: range('>'),
  $gte: range('>='),
  $lt: range('<'),
  $lte: range('<='),
  /** The path is present (even holding a JSON null) / absent. */
  $exists: {
    parse(operand, at, report) {
      if (typeof operand === 'boolean') return operand;
      report(at, 'takes true or false');
      return undefined;
    },
    matches: (document, path, present) => (jsonPathValue(document, path) !== undefined) === present,
    sql: (t, path, present) => `(${t.column} #> ${t.param(path, 'text[]')}) IS ${present ? 'NOT ' : ''}NULL`,
    usesIndex: false,
    sqlMayBeNull: false,
  } satisfies FilterOperatorDefinition<boolean>,
  /** The path holds an array containing the scalar (or every one of the scalars, given an array). */
  $contains: {
    parse(operand, at, report, limits) {
      const members = Array.isArray(operand) ? (operand as unknown[]) : [operand];
      if (members.length === 0 || members.length > limits.maxValues || !members.every(isPrimitive)) {
        report(at, `takes a value or an array of 1 to ${limits.maxValues} strings, numbers, booleans or nulls`);
        return undefined;
      }
      return storable(members, at, Array.isArray(operand), report) ? members : undefined;
    },
    matches: (document, path, members) => jsonContains(document, nestValue(path, members)),
    sql: (t, path, members) => `${t.column} @> ${t.param(nestJson(path, JSON.stringify(members)), 'jsonb')}`,
    usesIndex: true,
    sqlMayBeNull: false,
  } satisfies FilterOperatorDefinition<JsonPrimitive[]>,
  /**
   * The value at the path contains this JSON value (jsonb `@>`: objects their keys, arrays their
   * elements in any order): an object store's `where`, a checkpoint list's metadata filter.
   */
  $jsonContains: {
    parse: parseJson,
    matches: (document, path, value) => jsonContains(document, nestValue(path, value)),
    sql: (t, path, value) => `${t.column} @> ${t.param(nestJson(path, JSON.stringify(value)), 'jsonb')}`,
    usesIndex: true,
    sqlMayBeNull: false,
  } satisfies FilterOperatorDefinition<JsonValue>,
  /**
   * The value at the path (numeric segments index arrays) equals this JSON value exactly (jsonb
   * `=`: an array only the same array): an object store's `equals`.
   */
  $jsonEquals: {
    parse: parseJson,
    matches: (document, path, value) => {
      const found = jsonPathValue(document, path);
      return found !== undefined && jsonbEquals(found, value);
    },
    sql: (t, path, value) => `${t.column} #> ${t.param(path, 'text[]')} = ${t.param(JSON.stringify(value), 'jsonb')}`,
    usesIndex: false,
    sqlMayBeNull: true,
  } satisfies FilterOperatorDefinition<JsonValue>,
} as const;

/** The name of an operator of the filter language. */
export type FilterOperatorName = keyof typeof FILTER_OPERATORS;

/** The (normalised) operand an operator's conditions hold. */
export type FilterOperand<Name extends FilterOperatorName> = (typeof FILTER_OPERATORS)[Name] extends FilterOperatorDefinition<infer Operand> ? Operand : never;

/** Every operator's name, in table order. */
export const FILTER_OPERATOR_NAMES = Object.keys(FILTER_OPERATORS) as FilterOperatorName[];

/** Looks an operator up by a name from input; undefined for anything that is not one (`toString`, `__proto__`). */
export function filterOperator(name: string): FilterOperatorDefinition<unknown> | undefined {
  return Object.hasOwn(FILTER_OPERATORS, name) ? FILTER_OPERATORS[name as FilterOperatorName] : undefined;
}
