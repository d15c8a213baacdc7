// How @cairn/objects applies @cairn/core's one JSON rule (core's json-value.ts) to what it stores
// in jsonb: object data, session and thread metadata, filter values. The rule itself (no NUL, no
// lone surrogates, no __proto__ key, finite numbers, plain objects, bounded depth, checked without
// recursion) lives in core; this module only names the two leniencies objects has always had, both
// of which read back as the collection's schema expects: a Date is written as its ISO string (which
// `z.coerce.date()` reads back) and a property whose value is undefined is omitted (as zod's
// `optional()` reads it back).
import { jsonIssues, jsonObjectSchema, type JsonObject, type JsonRuleOptions, type ValidationIssue } from '@cairn/core';
import type { z } from 'zod';

/** Core's JSON rule as objects applies it to what it stores. */
const STORED_JSON: JsonRuleOptions = { allowDates: true, allowUndefinedProperties: true };

/** Why `value` cannot be stored in jsonb and read back (empty when it can); `path` prefixes each issue. */
export function storedJsonIssues(value: unknown, path = ''): ValidationIssue[] {
  return jsonIssues(value, { ...STORED_JSON, path });
}

/**
 * Metadata as the caller passes it, before the application's metadata schema sees it: an object
 * that passes the stored-JSON rule, checked in place (zod records would rebuild it and drop a
 * `__proto__` key; a recursive schema would overflow the stack on deep input).
 */
export const MetadataInputSchema: z.ZodType<JsonObject> = jsonObjectSchema(STORED_JSON);
