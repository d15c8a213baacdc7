// rag's metadata filters are Cairn's one filter language (@cairn/core's filter-language.ts, its
// operators in filter-operators.ts) with the standard operators and core's default limits, compiled
// over `documents.metadata` by @cairn/db's compileFilter. Equality, $in and $contains become jsonb
// containment (`@>`), which the GIN(metadata jsonb_path_ops) index serves.
import { FILTER_KEY_PATTERN, filterLanguage, filterUsesIndex, isEmptyFilter, type Filter } from '@cairn/core';
import { compileFilter as compileFilterSql, type SqlParams } from '@cairn/db';

export { FILTER_KEY_PATTERN, isEmptyFilter };
export type { FilterCondition, FilterOperators, FilterScalar, FilterRangeValue } from '@cairn/core';

/**
 * A metadata filter: core's `Filter`. Keys are metadata paths (`"author.name"`, or nested objects
 * `{ author: { name: … } }`); segments match `[A-Za-z0-9_][A-Za-z0-9_-]{0,63}`, at most 8 of them.
 * Several keys are ANDed. `$and` / `$or` take filters, `$not` one filter.
 *
 * @example
 * { lang: 'en', year: { $gte: 2020 }, $or: [{ tags: { $contains: 'pg' } }, { 'author.name': { $in: ['Ann', 'Bo'] } }] }
 */
export type MetadataFilter = Filter;

/** rag's filter language: the standard operators, at most 8 path segments, 10 levels, 256 conditions and 1000 values per list. */
const METADATA_FILTERS = filterLanguage();

/**
 * Translates a metadata filter into a SQL boolean expression over `column`, adding its values to
 * `params`. Undefined or `{}` gives `TRUE`. Throws InvalidFilterError listing every problem.
 */
export function compileFilter(filter: unknown, params: SqlParams, column = 'd.metadata'): string {
  return compileFilterSql(METADATA_FILTERS.parse(filter), column, params);
}

/**
 * Whether the GIN(metadata jsonb_path_ops) index can find a (valid) filter's rows: some ANDed
 * condition is containment (equality, $eq, $in, $contains), or every branch of an $or is. Range,
 * $exists and negated conditions cannot use it; counting their matches means reading the whole
 * collection, so filtered search does not try to (see exactFilterLimit).
 */
export function filterUsesMetadataIndex(filter: MetadataFilter | undefined): boolean {
  return filter !== undefined && filterUsesIndex(METADATA_FILTERS.parse(filter));
}
