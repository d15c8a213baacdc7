// JSON types and the checks that keep stored data plain JSON, plus the zod schemas for the
// identifiers every query carries (tenant, type, id).
import { z } from 'zod';
import { ValidationError, type ValidationIssue } from '@cairn/core';

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/** Any JSON value (what a `jsonb` column holds). */
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** zod schema of an arbitrary JSON value. */
export const JsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(JsonValueSchema), z.record(z.string(), JsonValueSchema)]),
);

/** zod schema of a JSON object. */
export const JsonObjectSchema: z.ZodType<JsonObject> = z.record(z.string(), JsonValueSchema);

/** Tenant ids: short, printable, no separators that could confuse keys or logs. */
export const TenantIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/, 'must be 1-128 characters: letters, digits, _ . : @ - (starting with a letter or digit)');

/** Object type names (`UserProfile`, `billing.Invoice`). */
export const TypeNameSchema = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 characters: letters, digits, _ . : - (starting with a letter)');

/**
 * Object, session and thread ids: any text up to 512 characters except NUL (PostgreSQL text cannot
 * hold it). Ids are always sent as bind parameters, so quotes and SQL fragments are just text.
 */
export const IdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(512, 'must be at most 512 characters')
  .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');

/** A version number as the caller passes it (0 = "must not exist yet"). */
export const ExpectedVersionSchema = z.number().int().min(0);

/** Parses a single identifier, throwing ValidationError naming `what`. Faster than parseInput for hot paths. */
export function checkId(id: unknown, what = 'id'): string {
  if (typeof id === 'string' && id.length > 0 && id.length <= 512 && !id.includes('\u0000')) return id;
  const result = IdSchema.safeParse(id);
  throw new ValidationError(what, result.success ? [{ path: '', message: 'invalid id' }] : result.error.issues.map((i) => ({ path: '', message: i.message })));
}

/**
 * Checks that `value` survives JSON encoding unchanged (Dates are allowed: they become ISO strings,
 * which `z.coerce.date()` reads back). Returns the issues found; empty when the value is plain JSON.
 * Why: JSON.stringify silently turns NaN into null, drops undefined array slots and writes Maps as
 * `{}`; a store that promises exact round trips must refuse those instead.
 */
export function jsonIssues(value: unknown, path = '', issues: ValidationIssue[] = [], depth = 0): ValidationIssue[] {
  if (issues.length >= 10) return issues;
  if (depth > 200) {
    issues.push({ path, message: 'is nested too deeply (or circular)' });
    return issues;
  }
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return issues;
    case 'number':
      if (!Number.isFinite(value)) issues.push({ path, message: `${value} is not representable in JSON` });
      return issues;
    case 'object':
      break;
    default:
      issues.push({ path, message: `a ${typeof value} is not representable in JSON` });
      return issues;
  }
  if (value === null || value instanceof Date) return issues;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) issues.push({ path: `${path}[${i}]`, message: 'undefined is not representable in JSON' });
      else jsonIssues(item, `${path}[${i}]`, issues, depth + 1);
    }
    return issues;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    issues.push({ path, message: `a ${(value as object).constructor?.name ?? 'class instance'} is not plain JSON data` });
    return issues;
  }
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    // undefined properties are dropped by JSON and by zod's optional(); they round-trip as absent.
    if (item !== undefined) jsonIssues(item, path ? `${path}.${key}` : key, issues, depth + 1);
  }
  return issues;
}
