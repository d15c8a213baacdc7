// Row types for raw SQL, derived from prisma/schema.prisma by the schema's `rows` generator
// (generator/row-types.js), so a statement's row is checked against the schema at compile time.
import type { Tables } from './generated/rows.js';

export type { Tables };

/** A table's SQL name (`@@map`), e.g. `'checkpoints'`. */
export type TableName = keyof Tables;

/** A column's SQL name (`@map`) in table `T`. */
export type ColumnName<T extends TableName> = keyof Tables[T] & string;

/**
 * The row a statement returns when it selects columns `C` of table `T` under their own names,
 * each typed as node-postgres returns it. Naming a column the schema does not have is a type error,
 * so renaming or dropping a column in the schema fails the typecheck where rows use it.
 *
 * `Narrowed` replaces the types of some of those columns with what the caller knows about them
 * (a JSON column as the caller's metadata type); its keys must be columns in `C` too.
 *
 * @example
 * type ThreadRow = Row<'threads', 'id' | 'title' | 'created_at'>;
 * const { rows } = await db.pool.query<ThreadRow>('SELECT id, title, created_at FROM threads WHERE tenant_id = $1', [tenantId]);
 */
export type Row<
  T extends TableName,
  C extends ColumnName<T>,
  Narrowed extends Partial<Record<C, unknown>> & Record<Exclude<keyof Narrowed, C>, never> = Record<never, never>,
> = Omit<Pick<Tables[T], C>, keyof Narrowed> & Narrowed;
