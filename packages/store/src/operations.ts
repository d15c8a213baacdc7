// A batch's operations, checked and normalised before anything runs: which kind each is, its
// namespace, its parsed filter, its limits and TTL. Both backends execute this plan, so they
// accept and refuse exactly the same input.
import type { Operation } from '@langchain/langgraph-checkpoint';
import { ValidationError, jsonIssues, parseFilter, textIssue, type FilterNode, type JsonObject } from '@cairn/core';
import { parseFieldPath, type FieldPath } from './field-paths.js';
import { WILDCARD, checkNamespace, namespacePath } from './namespace.js';

/** A put's TTL: minutes, `null` for never expiring, undefined for the store's default. */
export type TtlMinutes = number | null | undefined;

export interface PlannedGet {
  readonly kind: 'get';
  readonly namespace: string;
  readonly key: string;
  readonly refreshTtl: boolean | undefined;
}

export interface PlannedSearch {
  readonly kind: 'search';
  /** Labels; empty for everything. */
  readonly prefix: readonly string[];
  readonly filter: FilterNode;
  readonly limit: number;
  readonly offset: number;
  readonly query: string | undefined;
  readonly refreshTtl: boolean | undefined;
}

export interface PlannedPut {
  readonly kind: 'put';
  readonly namespace: string;
  readonly key: string;
  /** null deletes. */
  readonly value: JsonObject | null;
  /** undefined: the index config's fields; false: no vectors; else these paths. */
  readonly index: false | readonly FieldPath[] | undefined;
  readonly ttl: TtlMinutes;
}

export interface PlannedList {
  readonly kind: 'list';
  readonly conditions: readonly { matchType: 'prefix' | 'suffix'; path: readonly string[] }[];
  readonly maxDepth: number | undefined;
  readonly limit: number;
  readonly offset: number;
}

export type PlannedOperation = PlannedGet | PlannedSearch | PlannedPut | PlannedList;

/** The extra fields Cairn's operations take beside LangGraph's (a put's `ttl`, a read's `refreshTtl`). */
export interface OperationExtras {
  ttl?: number | null;
  refreshTtl?: boolean;
}

function key(value: unknown, at: string): string {
  const issue = textIssue(value);
  if (issue !== undefined) throw new ValidationError('store key', [{ path: at, message: issue }]);
  return value as string;
}

function count(value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError('store operation', [{ path: what, message: `must be an integer from ${min} to ${max}` }]);
  }
  return value;
}

function refresh(value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new ValidationError('store operation', [{ path: 'refreshTtl', message: 'must be true or false' }]);
  return value;
}

function ttl(value: unknown): TtlMinutes {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError('store put', [{ path: 'ttl', message: 'must be a positive number of minutes, or null for no expiry' }]);
  }
  return value;
}

function value(input: unknown): JsonObject | null {
  if (input === null) return null;
  if (typeof input !== 'object' || Array.isArray(input)) throw new ValidationError('store value', [{ path: '', message: 'must be an object (or null to delete)' }]);
  const issues = jsonIssues(input);
  if (issues.length > 0) throw new ValidationError('store value', issues);
  return input as JsonObject;
}

function index(input: unknown): false | FieldPath[] | undefined {
  if (input === undefined || input === null || input === false) return input === false ? false : undefined;
  if (!Array.isArray(input)) throw new ValidationError('store put', [{ path: 'index', message: 'must be false or an array of field paths' }]);
  return (input as unknown[]).map((p, i) => {
    const parsed = typeof p === 'string' ? parseFieldPath(p) : undefined;
    if (!parsed) throw new ValidationError('store put', [{ path: `index[${i}]`, message: 'is not a field path' }]);
    return parsed;
  });
}

/** Checks and normalises one operation. */
export function planOperation(op: Operation & OperationExtras, maxLimit: number): PlannedOperation {
  if (op === null || typeof op !== 'object') throw new ValidationError('store operation', [{ path: '', message: 'must be an operation object' }]);
  if ('namespacePrefix' in op) {
    return {
      kind: 'search',
      prefix: checkNamespace(op.namespacePrefix, { allowEmpty: true, allowReservedRoot: true }),
      filter: parseFilter(op.filter ?? undefined),
      limit: count(op.limit, 10, 0, maxLimit, 'limit'),
      offset: count(op.offset, 0, 0, Number.MAX_SAFE_INTEGER, 'offset'),
      query: op.query === undefined || op.query === null || op.query === '' ? undefined : key(op.query, 'query'),
      refreshTtl: refresh(op.refreshTtl),
    };
  }
  if ('value' in op) {
    const namespace = checkNamespace(op.namespace, { allowReservedRoot: true });
    return { kind: 'put', namespace: namespacePath(namespace), key: key(op.key, 'key'), value: value(op.value), index: index(op.index), ttl: ttl(op.ttl) };
  }
  if ('key' in op && 'namespace' in op) {
    const namespace = checkNamespace(op.namespace, { allowReservedRoot: true });
    return { kind: 'get', namespace: namespacePath(namespace), key: key(op.key, 'key'), refreshTtl: refresh(op.refreshTtl) };
  }
  if ('limit' in op || 'matchConditions' in op || 'maxDepth' in op) {
    const conditions = (op.matchConditions ?? []).map((c) => {
      if (c.matchType !== 'prefix' && c.matchType !== 'suffix') throw new ValidationError('store operation', [{ path: 'matchConditions', message: 'matchType must be prefix or suffix' }]);
      const labels = checkNamespace(c.path, { allowEmpty: true, allowReservedRoot: true });
      return { matchType: c.matchType, path: labels };
    });
    return {
      kind: 'list',
      conditions,
      maxDepth: op.maxDepth === undefined || op.maxDepth === null ? undefined : count(op.maxDepth, 0, 1, 1000, 'maxDepth'),
      limit: count(op.limit, 100, 0, maxLimit, 'limit'),
      offset: count(op.offset, 0, 0, Number.MAX_SAFE_INTEGER, 'offset'),
    };
  }
  throw new ValidationError('store operation', [{ path: '', message: 'is none of get, search, put or listNamespaces' }]);
}

/** Whether a wildcard-free condition path (the common case, answerable by the namespace index). */
export function hasWildcard(path: readonly string[]): boolean {
  return path.includes(WILDCARD);
}
