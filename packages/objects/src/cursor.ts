// Opaque keyset-pagination cursors: base64url JSON of the sort key of the last row returned, plus
// what it was sorted by, so a cursor used with another ordering is refused instead of skipping rows.
import { z } from 'zod';
import { ValidationError } from '@cairn/core';

const CursorSchema = z.tuple([z.string().max(64), z.union([z.string().max(64), z.null()]), z.string().max(512)]);

/** Encodes `[sortKeyName, sortValue, id]`. */
export function encodeCursor(order: string, value: string | null, id: string): string {
  return Buffer.from(JSON.stringify([order, value, id]), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by encodeCursor for the same `order`; throws ValidationError otherwise.
 * Orders on a timestamp need a valid timestamp value; orders on the id alone carry none.
 */
export function decodeCursor(cursor: string, order: string): { value: string | null; id: string } {
  const byId = order.startsWith('id:');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('cursor', [{ path: 'cursor', message: 'is not a cursor returned by this API' }]);
  }
  const result = CursorSchema.safeParse(parsed);
  if (!result.success) throw new ValidationError('cursor', [{ path: 'cursor', message: 'is not a cursor returned by this API' }]);
  const [cursorOrder, value, id] = result.data;
  if (cursorOrder !== order) {
    throw new ValidationError('cursor', [{ path: 'cursor', message: `was made for ordering ${cursorOrder}, not ${order}` }]);
  }
  if (!byId && (value === null || Number.isNaN(Date.parse(value)))) {
    throw new ValidationError('cursor', [{ path: 'cursor', message: 'holds an invalid timestamp' }]);
  }
  return { value, id };
}

/** One page of a listing. `nextCursor` is null on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}
