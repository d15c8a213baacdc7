// Cairn's one filter language: the `$` syntax a caller writes (`{ lang: 'en', year: { $gte: 2020 },
// $or: [...] }`), its parse into a small tree of and / or / not over conditions, and the evaluator
// that answers a condition tree in JavaScript. The operators themselves are in filter-operators.ts;
// @cairn/db compiles the same tree to SQL. Every package that filters JSON (rag's metadata, the
// object store's `where` / `equals`, checkpoint metadata) builds this tree, so a filter means the
// same everywhere and a bad one is always an InvalidFilterError naming its path.
//
// The input is walked by hand rather than by a recursive zod schema: zod would rebuild the objects
// (dropping an own `__proto__` key) and recurse without bound on a filter nested 10,000 levels
// deep, where this walk stops at `maxNesting`. The language's options are a zod schema.
import { z } from 'zod';
import { InvalidFilterError, type ValidationIssue } from './errors.js';
import type { JsonPrimitive, JsonValue } from './json-value.js';
import { FILTER_OPERATOR_NAMES, filterOperator, type FilterOperand, type FilterOperatorName } from './filter-operators.js';

/** A value equality, `$ne`, `$in` and `$contains` compare against. */
export type FilterScalar = JsonPrimitive;
/** A bound for `$gt`/`$gte`/`$lt`/`$lte`: numbers compare numerically, strings (and Dates, as ISO 8601) by code point. */
export type FilterRangeValue = number | string | Date;

/** Comparison operators on one key. Several in one object are ANDed. */
export interface FilterOperators {
  /** Equal to (same as giving the value directly). */
  $eq?: FilterScalar | Date;
  /** Not equal to; also matches documents without the key. */
  $ne?: FilterScalar | Date;
  /** Equal to one of the values (1 to `maxValues`, default 1000, of them). */
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

/** What a key may be matched against: a value (equality), operators, or nested keys. */
export type FilterCondition = FilterScalar | Date | FilterOperators | { readonly [key: string]: FilterCondition };

/**
 * A filter in the `$` syntax. Keys are paths (`"author.name"`, or nested objects
 * `{ author: { name: … } }`) whose segments match the language's key pattern; several keys are
 * ANDed. `$and` / `$or` take filters, `$not` one filter.
 *
 * @example
 * { lang: 'en', year: { $gte: 2020 }, $or: [{ tags: { $contains: 'pg' } }, { 'author.name': { $in: ['Ann', 'Bo'] } }] }
 */
export type Filter = {
  readonly $and?: readonly Filter[];
  readonly $or?: readonly Filter[];
  readonly $not?: Filter;
} & { readonly [key: string]: FilterCondition | readonly Filter[] | Filter | undefined };

/** One condition of a parsed filter: an operator from the table, a path and its checked operand. */
export type FilterConditionNode = {
  [Name in FilterOperatorName]: { readonly kind: 'condition'; readonly operator: Name; readonly path: readonly string[]; readonly operand: FilterOperand<Name> };
}[FilterOperatorName];

/** A parsed filter. An `and` of no nodes is true, an `or` of none false. */
export type FilterNode =
  | { readonly kind: 'and'; readonly nodes: readonly FilterNode[] }
  | { readonly kind: 'or'; readonly nodes: readonly FilterNode[] }
  | { readonly kind: 'not'; readonly node: FilterNode }
  | FilterConditionNode;

/** The filter that keeps everything. */
export const MATCH_ALL: FilterNode = Object.freeze({ kind: 'and', nodes: Object.freeze<FilterNode[]>([]) });

/** A key segment by default: letters, digits, `_` and `-`, not starting with `-`, at most 64 characters. */
export const FILTER_KEY_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

/** The operators of the `$` syntax unless a language names others (the table's JSON operators are for callers' own syntaxes). */
export const STANDARD_FILTER_OPERATORS = ['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists', '$contains'] as const satisfies readonly FilterOperatorName[];

/** What a language built with `filterLanguage` accepts. */
export const FilterLanguageOptionsSchema = z
  .object({
    /** Operators the syntax accepts; any other `$` key is an unknown operator. @defaultValue STANDARD_FILTER_OPERATORS */
    operators: z.array(z.enum(FILTER_OPERATOR_NAMES as [FilterOperatorName, ...FilterOperatorName[]])).min(1).default([...STANDARD_FILTER_OPERATORS]),
    /** Pattern every path segment must match. @defaultValue FILTER_KEY_PATTERN */
    keyPattern: z.instanceof(RegExp).default(FILTER_KEY_PATTERN),
    /** How the key pattern reads in a message. @defaultValue 'letters, digits, _ and -, at most 64 characters' */
    keyRule: z.string().min(1).default('letters, digits, _ and -, at most 64 characters'),
    /** Most segments in one path. @defaultValue 8 */
    maxPathDepth: z.number().int().min(1).max(64).default(8),
    /** Deepest nesting of `$and` / `$or` / `$not` and nested keys. @defaultValue 10 */
    maxNesting: z.number().int().min(1).max(64).default(10),
    /** Most conditions in one filter. @defaultValue 256 */
    maxConditions: z.number().int().min(1).max(10_000).default(256),
    /** Most values in one `$in` / `$nin` / `$contains`. @defaultValue 1000 */
    maxValues: z.number().int().min(1).max(100_000).default(1000),
  })
  .strict();

/** Options of `filterLanguage`. */
export type FilterLanguageOptions = z.input<typeof FilterLanguageOptionsSchema>;

/** A filter language: the `$` syntax under one set of options. */
export interface FilterLanguage {
  /** The options in force, defaults applied. */
  readonly options: Readonly<z.output<typeof FilterLanguageOptionsSchema>>;
  /** Parses a filter; undefined or `{}` is MATCH_ALL. Throws InvalidFilterError listing every problem. */
  parse(filter: unknown): FilterNode;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isScalarValue(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) || value instanceof Date;
}

/** `and` of the nodes, the node itself when there is one (so SQL and messages stay as written). */
function allOf(nodes: FilterNode[]): FilterNode {
  return nodes.length === 1 ? nodes[0]! : { kind: 'and', nodes };
}

class FilterParser {
  readonly issues: ValidationIssue[] = [];
  #conditions = 0;
  readonly #operators: ReadonlySet<string>;

  constructor(private readonly options: FilterLanguage['options']) {
    this.#operators = new Set(options.operators);
  }

  private issue(path: string, message: string): undefined {
    this.issues.push({ path, message });
    return undefined;
  }

  private countCondition(at: string): boolean {
    this.#conditions++;
    if (this.#conditions === this.options.maxConditions + 1) this.issue(at, `too many conditions (at most ${this.options.maxConditions})`);
    return this.#conditions <= this.options.maxConditions;
  }

  /** A filter object: its keys ANDed. */
  filter(value: unknown, where: string, depth: number): FilterNode | undefined {
    if (depth > this.options.maxNesting) return this.issue(where, `nested more than ${this.options.maxNesting} levels deep`);
    if (!isPlainObject(value)) return this.issue(where, 'must be an object of conditions');
    const parts: FilterNode[] = [];
    for (const [key, condition] of Object.entries(value)) {
      const at = where ? `${where}.${key}` : key;
      if (condition === undefined) continue;
      let node: FilterNode | undefined;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(condition) || condition.length === 0) {
          node = this.issue(at, `${key} takes a non-empty array of filters`);
        } else {
          const inner = (condition as unknown[]).map((f, i) => this.filter(f, `${at}[${i}]`, depth + 1));
          if (inner.every((n) => n !== undefined)) node = inner.length === 1 ? inner[0] : { kind: key === '$and' ? 'and' : 'or', nodes: inner };
        }
      } else if (key === '$not') {
        const inner = this.filter(condition, at, depth + 1);
        if (inner) node = { kind: 'not', node: inner };
      } else if (key.startsWith('$')) {
        node = this.issue(at, `unknown operator "${key}" at filter level (use $and, $or, $not, or a key)`);
      } else {
        const path = this.path(key, at, []);
        if (path) node = this.condition(path, condition, at, depth + 1);
      }
      if (node) parts.push(node);
    }
    return allOf(parts);
  }

  /** Splits and checks a (possibly dotted) key, appended to `prefix`. */
  private path(key: string, at: string, prefix: readonly string[]): string[] | undefined {
    const segments = key.split('.');
    const bad = segments.find((s) => !this.options.keyPattern.test(s));
    if (bad !== undefined) return this.issue(at, `key segment ${JSON.stringify(bad.slice(0, 80))} is not allowed (${this.options.keyRule})`);
    const path = [...prefix, ...segments];
    if (path.length > this.options.maxPathDepth) return this.issue(at, `path is deeper than ${this.options.maxPathDepth} keys`);
    return path;
  }

  private condition(path: string[], condition: unknown, at: string, depth: number): FilterNode | undefined {
    if (depth > this.options.maxNesting) return this.issue(at, `nested more than ${this.options.maxNesting} levels deep`);
    if (isScalarValue(condition)) {
      if (condition instanceof Date && Number.isNaN(condition.getTime())) return this.issue(at, 'is an invalid Date');
      const before = this.issues.length;
      const operand = filterOperator('$eq')!.parse(condition, at, (p, m) => this.issue(p, m), this.options);
      if (this.issues.length > before || !this.countCondition(at)) return undefined;
      return { kind: 'condition', operator: '$eq', path, operand } as FilterConditionNode;
    }
    if (Array.isArray(condition)) {
      return this.issue(at, 'an array is not a value to compare with: use { $in: [...] } for one of several values, { $contains: ... } for array members');
    }
    if (!isPlainObject(condition)) return this.issue(at, `cannot compare with ${typeof condition === 'number' ? String(condition) : typeof condition}`);
    const keys = Object.keys(condition);
    if (keys.length === 0) return this.issue(at, 'an empty object matches nothing in particular; give a value or operators');
    const operatorKeys = keys.filter((k) => k.startsWith('$'));
    if (operatorKeys.length > 0 && operatorKeys.length < keys.length) return this.issue(at, 'mixes operators ($…) with nested keys');
    const parts: FilterNode[] = [];
    for (const [key, inner] of Object.entries(condition)) {
      if (inner === undefined) continue;
      const node = operatorKeys.length === 0 ? this.nested(path, key, inner, `${at}.${key}`, depth) : this.operator(path, key, inner, `${at}.${key}`);
      if (node) parts.push(node);
    }
    return allOf(parts);
  }

  /** Nested keys: `{ author: { name: 'x' } }` is `"author.name" = 'x'`. */
  private nested(prefix: string[], key: string, inner: unknown, at: string, depth: number): FilterNode | undefined {
    const path = this.path(key, at, prefix);
    return path && this.condition(path, inner, at, depth + 1);
  }

  private operator(path: string[], name: string, operand: unknown, at: string): FilterNode | undefined {
    const definition = this.#operators.has(name) ? filterOperator(name) : undefined;
    if (!definition) return this.issue(at, `unknown operator "${name}"`);
    if (!this.countCondition(at)) return undefined;
    const before = this.issues.length;
    const parsed = definition.parse(operand, at, (p, m) => this.issue(p, m), this.options);
    if (this.issues.length > before) return undefined;
    return { kind: 'condition', operator: name, path, operand: parsed } as FilterConditionNode;
  }
}

/** Builds a filter language: the `$` syntax with these operators and limits. Options are checked once, here. */
export function filterLanguage(options: FilterLanguageOptions = {}): FilterLanguage {
  const parsed = Object.freeze(FilterLanguageOptionsSchema.parse(options));
  return {
    options: parsed,
    parse(filter: unknown): FilterNode {
      if (filter === undefined) return MATCH_ALL;
      const parser = new FilterParser(parsed);
      const node = parser.filter(filter, '', 0);
      if (parser.issues.length > 0 || node === undefined) throw new InvalidFilterError(parser.issues);
      return node;
    },
  };
}

const DEFAULT_LANGUAGE = filterLanguage();

/** Parses a filter in the `$` syntax with the default options (STANDARD_FILTER_OPERATORS, FILTER_KEY_PATTERN). */
export function parseFilter(filter: unknown): FilterNode {
  return DEFAULT_LANGUAGE.parse(filter);
}

/**
 * One condition built by code rather than parsed from the `$` syntax (an object store's `where`,
 * a checkpoint list's metadata): the operand is checked by the operator as a parsed one would be,
 * with issues named under `at`. Throws InvalidFilterError.
 */
export function filterCondition<Name extends FilterOperatorName>(operator: Name, path: readonly string[], operand: unknown, at = ''): FilterConditionNode {
  const issues: ValidationIssue[] = [];
  const parsed = filterOperator(operator)!.parse(operand, at, (p, m) => issues.push({ path: p, message: m }), DEFAULT_LANGUAGE.options);
  if (issues.length > 0) throw new InvalidFilterError(issues);
  return { kind: 'condition', operator, path: [...path], operand: parsed } as FilterConditionNode;
}

/** The conditions ANDed (MATCH_ALL for none). */
export function allFilters(nodes: readonly FilterNode[]): FilterNode {
  return nodes.length === 0 ? MATCH_ALL : allOf([...nodes]);
}

/** True when the input filter has no conditions at all (undefined or `{}`, or only undefined keys). */
export function isEmptyFilter(filter: Filter | undefined): boolean {
  return filter === undefined || Object.values(filter).every((v) => v === undefined);
}

/**
 * Whether a GIN (jsonb_path_ops) index on the column can find a filter's rows: some ANDed
 * condition is containment (operators with `usesIndex`), or every branch of an `or` is. Range,
 * `$exists` and negated conditions cannot use it.
 */
export function filterUsesIndex(node: FilterNode): boolean {
  switch (node.kind) {
    case 'and':
      return node.nodes.some(filterUsesIndex);
    case 'or':
      return node.nodes.length > 0 && node.nodes.every(filterUsesIndex);
    case 'not':
      return false;
    default:
      return filterOperator(node.operator)!.usesIndex;
  }
}

/** Whether `document` (a whole jsonb value: metadata, an object's data) matches the filter, as PostgreSQL would answer. */
export function matchesFilter(node: FilterNode, document: JsonValue | undefined): boolean {
  switch (node.kind) {
    case 'and':
      return node.nodes.every((n) => matchesFilter(n, document));
    case 'or':
      return node.nodes.some((n) => matchesFilter(n, document));
    case 'not':
      return !matchesFilter(node.node, document);
    default:
      return filterOperator(node.operator)!.matches(document, node.path, node.operand);
  }
}
