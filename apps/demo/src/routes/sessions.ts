// Sessions: a user's conversation with the app (the objects package's SessionManager).
import { z } from 'zod';
import type { SessionRecord } from '@cairn/cairn';
import { notFound } from '../http-errors.js';
import type { DemoApp, DemoContext } from '../context.js';
import { ErrorSchema, IdParam, JsonObject } from './schemas.js';

export const SessionSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    metadata: JsonObject,
    createdAt: z.string(),
    updatedAt: z.string(),
    lastActivityAt: z.string(),
    expiresAt: z.string().nullable(),
  })
  .meta({ id: 'Session' });

function toSession(record: SessionRecord): z.infer<typeof SessionSchema> {
  return {
    id: record.id,
    userId: record.userId,
    metadata: record.metadata,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    lastActivityAt: record.lastActivityAt.toISOString(),
    expiresAt: record.expiresAt?.toISOString() ?? null,
  };
}

export function sessionRoutes(app: DemoApp, { cairn }: DemoContext): void {
  const tags = ['sessions'];

  app.post('/api/sessions', {
    schema: {
      tags,
      summary: 'Create a session',
      body: z.object({
        userId: z.string().min(1).max(200),
        metadata: JsonObject.optional(),
        ttlSeconds: z.number().int().min(1).max(31_536_000).optional().describe('Lifetime; absent: never expires'),
      }),
      response: { 201: SessionSchema, 400: ErrorSchema },
    },
    handler: async (request, reply) => {
      const session = await cairn.sessions.create(request.body);
      return reply.status(201).send(toSession(session));
    },
  });

  app.get('/api/sessions', {
    schema: {
      tags,
      summary: "List a user's sessions, newest first",
      querystring: z.object({
        userId: z.string().min(1).max(200),
        limit: z.coerce.number().int().min(1).max(100).default(20),
        cursor: z.string().max(4096).optional(),
      }),
      response: { 200: z.object({ sessions: z.array(SessionSchema), nextCursor: z.string().nullable() }), 400: ErrorSchema },
    },
    handler: async (request) => {
      const { userId, limit, cursor } = request.query;
      const page = await cairn.sessions.listByUser(userId, { limit, cursor: cursor ?? null });
      return { sessions: page.items.map(toSession), nextCursor: page.nextCursor };
    },
  });

  app.get('/api/sessions/:id', {
    schema: { tags, summary: 'Get a session (touches its last activity)', params: IdParam, response: { 200: SessionSchema, 404: ErrorSchema } },
    handler: async (request) => {
      const session = await cairn.sessions.get(request.params.id);
      if (!session) throw notFound('Session', request.params.id);
      return toSession(await cairn.sessions.update(session.id, { touch: true }));
    },
  });

  app.delete('/api/sessions/:id', {
    schema: { tags, summary: 'Delete a session with its threads and their checkpoints', params: IdParam, response: { 204: z.null(), 404: ErrorSchema } },
    handler: async (request, reply) => {
      if (!(await cairn.sessions.delete(request.params.id))) throw notFound('Session', request.params.id);
      return reply.status(204).send(null);
    },
  });
}
