// Compiles a parsed filter (core's filter language) to a SQL boolean expression over one jsonb
// column. The structure (and / or / not) is written here; each condition's fragment comes from its
// operator in core's table, which can only reach the column expression and bind parameters, so a
// key or a value from input never becomes SQL text. Containment conditions stay `column @> $n`,
// the form a GIN (jsonb_path_ops) index answers.
import { CairnError, filterOperator, type FilterNode, type FilterSqlCast, type FilterSqlTarget } from '@cairn/core';

/** Positional parameters for SQL built in pieces (filters, CTEs): every value becomes `$n`, never text. */
export class SqlParams {
  readonly values: unknown[];

  /** Starts after `values` already bound (`$1`..`$n` of a statement's fixed part). */
  constructor(values: readonly unknown[] = []) {
    this.values = [...values];
  }

  /** Adds a value and returns its placeholder, with `cast` (a type name from Cairn's code, never user input) appended. */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
}

/** A column reference or `alias.column`: what `compileFilter` accepts as the filtered expression. */
const COLUMN_PATTERN = /^(?:[a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$/;

/**
 * The filter as a SQL boolean expression over the jsonb `column`, its values added to `params`.
 * A filter that keeps everything is `TRUE`. `column` is Cairn's own SQL (`d.metadata`, `data`).
 */
export function compileFilter(filter: FilterNode, column: string, params: SqlParams): string {
  if (!COLUMN_PATTERN.test(column)) throw new CairnError('INVALID_FILTER_COLUMN', `Not a column to filter: ${JSON.stringify(column)}`);
  const target: FilterSqlTarget = { column, param: (value: string | readonly string[], cast: FilterSqlCast) => params.add(value, cast) };
  return compile(filter, target).sql;
}

interface Compiled {
  sql: string;
  /** The expression can be NULL (see FilterOperatorDefinition.sqlMayBeNull). */
  mayBeNull: boolean;
}

function compile(node: FilterNode, target: FilterSqlTarget): Compiled {
  switch (node.kind) {
    case 'and':
    case 'or': {
      if (node.nodes.length === 0) return { sql: node.kind === 'and' ? 'TRUE' : 'FALSE', mayBeNull: false };
      const parts = node.nodes.map((n) => compile(n, target));
      const mayBeNull = parts.some((p) => p.mayBeNull);
      if (parts.length === 1) return parts[0]!;
      return { sql: `(${parts.map((p) => p.sql).join(node.kind === 'and' ? ' AND ' : ' OR ')})`, mayBeNull };
    }
    case 'not': {
      const inner = compile(node.node, target);
      // NOT NULL is NULL (the row is dropped) where the evaluator's negation keeps it: a condition
      // that can be NULL is negated as "not true".
      return { sql: inner.mayBeNull ? `(${inner.sql}) IS NOT TRUE` : `NOT (${inner.sql})`, mayBeNull: false };
    }
    default: {
      const operator = filterOperator(node.operator)!;
      return { sql: operator.sql(target, node.path, node.operand), mayBeNull: operator.sqlMayBeNull };
    }
  }
}
