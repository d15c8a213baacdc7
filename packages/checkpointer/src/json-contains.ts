// jsonb containment (`@>`) in JavaScript, so the memory backend filters metadata exactly as
// PostgreSQL does: objects match when every filter key is contained, arrays when every filter
// element is contained in some element, scalars when equal.
import type { JsonValue } from './types.js';

/** PostgreSQL's `target @> filter` for JSON values. */
export function jsonContains(target: JsonValue | undefined, filter: JsonValue): boolean {
  if (target === undefined) return false;
  if (Array.isArray(filter)) {
    // A top-level array contains a scalar filter too (`'[1,2]' @> '1'`) — only at the top level
    // in PostgreSQL; nested use below always compares arrays with arrays.
    if (!Array.isArray(target)) return false;
    return filter.every((f) => target.some((t) => jsonContains(t, f)));
  }
  if (filter !== null && typeof filter === 'object') {
    if (target === null || typeof target !== 'object' || Array.isArray(target)) return false;
    return Object.entries(filter).every(([key, value]) => Object.hasOwn(target, key) && jsonContains(target[key], value));
  }
  return target === filter;
}
