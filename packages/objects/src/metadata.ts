// Validation of session and thread metadata: a zod schema of the application's choosing (any JSON
// object by default, core's JsonObjectSchema), checked on write and on read like object data. The
// caller's metadata passes core's JSON rule before the schema sees it (MetadataInputSchema, in the
// managers' input schemas) and the schema's output passes it again before it is written.
import type { z } from 'zod';
import { ValidationError, toValidationIssues, type JsonObject } from '@cairn/core';
import { StoredObjectInvalidError } from './errors.js';
import { storedJsonIssues } from './json.js';

/** Validates metadata before it is written; returns the parsed value. */
export function metadataForWrite<M extends JsonObject>(schema: z.ZodType<M>, value: unknown, what: string): M {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(what, toValidationIssues(result.error).map((i) => ({ ...i, path: i.path ? `metadata.${i.path}` : 'metadata' })), { cause: result.error });
  const issues = storedJsonIssues(result.data, 'metadata');
  if (issues.length > 0) throw new ValidationError(what, issues);
  return result.data;
}

/** Validates stored metadata on read; a row that no longer matches raises StoredObjectInvalidError. */
export function metadataFromRow<M extends JsonObject>(schema: z.ZodType<M>, value: unknown, type: 'Session' | 'Thread' | 'Message', id: string): M {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issues = toValidationIssues(result.error).map((i) => ({ ...i, path: i.path ? `metadata.${i.path}` : 'metadata' }));
    throw new StoredObjectInvalidError({ type, id, version: 0, issues }, { cause: result.error });
  }
  return result.data;
}
