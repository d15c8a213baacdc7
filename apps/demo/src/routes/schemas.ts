// zod schemas shared by several routes. Each `.meta({ id })` becomes a named component of the
// OpenAPI document.
import { z } from 'zod';

/** Any JSON value. */
export const JsonValue: z.ZodType<unknown> = z.unknown();

/** A JSON object (metadata). */
export const JsonObject = z.record(z.string(), z.json());

/** Path parameter of routes on one resource. */
export const IdParam = z.object({ id: z.string().min(1).max(512) });

/** The body of every error answer. */
export const ErrorSchema = z
  .object({
    statusCode: z.number().int(),
    code: z.string().describe('Stable machine-readable code, e.g. VALIDATION_FAILED, CHECKPOINT_NOT_FOUND'),
    error: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Error' });
