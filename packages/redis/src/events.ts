// The typed change events Cairn publishes, validated on receipt: a malformed message is dropped
// and counted, never handed to a handler.
import { z } from 'zod';
import { IdSchema, idSchema, TenantIdSchema } from '@cairn/core';

// @cairn/core's rules: the ids and the tenant id of an event are those of the rows it is about.
const tenantId = TenantIdSchema;
const id = IdSchema;

/** The zod schema every event is checked against, on publish and on receipt. */
export const CairnEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('checkpoint.saved'), tenantId, threadId: id, namespace: idSchema({ allowEmpty: true }), checkpointId: id }),
  z.object({ type: z.literal('checkpoint.deleted'), tenantId, threadId: id, checkpointId: id.optional() }),
  z.object({ type: z.literal('object.updated'), tenantId, objectType: id, id, version: z.number().int().nonnegative() }),
  z.object({ type: z.literal('object.deleted'), tenantId, objectType: id, id }),
  z.object({ type: z.enum(['session.updated', 'session.expired', 'session.deleted']), tenantId, sessionId: id }),
]);

/** A change somewhere in Cairn, as published on a notification channel. */
export type CairnEvent = z.infer<typeof CairnEventSchema>;

/** Channel names: letters, digits and `: _ . -` (the same on Redis and PostgreSQL). */
export const channelSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9:_.-]+$/, 'letters, digits and : _ . - only');

/** Patterns: a channel name where `*` matches any run of characters. */
export const patternSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9:_.*-]+$/, 'letters, digits, : _ . - and * only');

/** The anchored RegExp of a (validated) channel pattern, for client-side matching. */
export function patternToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`);
}
