// Opaque keyset-pagination cursors: base64url JSON of the sort key of the last row returned, plus
// what it was sorted by, so a cursor used with another ordering is refused instead of skipping rows.
// A cursor comes back from the caller, so it is input like any other: what it decodes to must pass
// the rules of what it carries (core's id rule for the id, the exact timestamp format this module
// writes), or a tampered cursor would reach PostgreSQL as a NUL (22021) or a timestamp it refuses.
import { z } from 'zod';
import { IdSchema, ValidationError } from '@cairn/core';

// What Date.prototype.toISOString writes for the years PostgreSQL's timestamptz holds (1 to 9999 here).
const ISO_TIMESTAMP = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const CursorSchema = z.tuple([z.string().max(64), z.union([z.string().max(64), z.null()]), IdSchema]);

/** Whether `value` is a timestamp as encodeCursor writes it (and not, say, `1`, which Date.parse reads as 2001). */
function isCursorTimestamp(value: string): boolean {
  if (!ISO_TIMESTAMP.test(value)) return false;
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}

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
  if (!byId && (value === null || !isCursorTimestamp(value))) {
    throw new ValidationError('cursor', [{ path: 'cursor', message: 'holds an invalid timestamp' }]);
  }
  return { value, id };
}

/** One page of a listing. `nextCursor` is null on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}
