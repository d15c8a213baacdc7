// LangChain PGVectorStore's metadata filters in Cairn's filter language, for code ported from it.
// PGVectorStore's form: `{ key: value }` (equality), and per key an object of operators `in`,
// `notIn`, `arrayContains` (the array holds any of the values), `gt`, `gte`, `lt`, `lte`, `neq`.
// Its forms cannot be told apart from Cairn's by looking (`{ price: { gt: 5 } }` is also Cairn's
// nested equality on `price.gt`), so converting is explicit: this function, or the store's
// `filterSyntax: 'pgvectorstore'`.
import { InvalidFilterError } from '@cairn/core';
import type { MetadataFilter } from './filter.js';

/** A filter as LangChain's PGVectorStore takes it. */
export type PGVectorStoreFilter = Record<string, unknown>;

const OPERATORS: Readonly<Record<string, string>> = { in: '$in', notIn: '$nin', gt: '$gt', gte: '$gte', lt: '$lt', lte: '$lte', neq: '$ne' };

/**
 * Converts a PGVectorStore filter into Cairn's (`{ a: { in: [1, 2] } }` → `{ a: { $in: [1, 2] } }`,
 * `arrayContains: [x, y]` → `$or` of `$contains`). One difference remains: PGVectorStore compares
 * values as text (`metadata->>'n' = '5'` matches 5 and "5"), Cairn compares JSON values (5 matches
 * only the number 5). Unknown operators raise InvalidFilterError.
 */
export function fromPGVectorStoreFilter(filter: PGVectorStoreFilter): MetadataFilter {
  const and: Record<string, unknown>[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      and.push({ [key]: value });
      continue;
    }
    const ops: Record<string, unknown> = {};
    for (const [op, operand] of Object.entries(value)) {
      if (op === 'arrayContains') {
        if (!Array.isArray(operand) || operand.length === 0) throw new InvalidFilterError([{ path: `${key}.arrayContains`, message: 'must be a non-empty array' }]);
        and.push({ $or: operand.map((v: unknown) => ({ [key]: { $contains: v } })) });
        continue;
      }
      const cairn = OPERATORS[op];
      if (cairn === undefined) throw new InvalidFilterError([{ path: `${key}.${op}`, message: 'is not a PGVectorStore filter operator (in, notIn, arrayContains, gt, gte, lt, lte, neq)' }]);
      ops[cairn] = operand;
    }
    if (Object.keys(ops).length > 0) and.push({ [key]: ops });
  }
  return (and.length === 1 ? and[0]! : { $and: and }) as MetadataFilter;
}
