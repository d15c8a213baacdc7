// The page itself, its assets, health, metrics and the OpenAPI document.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { DemoApp, DemoContext } from '../context.js';

/** The web page's files, next to src/ and dist/ alike. */
const PUBLIC_DIR = new URL('../../public/', import.meta.url);

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const HealthSchema = z
  .object({
    ok: z.boolean(),
    status: z.enum(['ok', 'degraded', 'down']),
    tenantId: z.string(),
    postgres: z.object({ ok: z.boolean(), latencyMs: z.number(), version: z.string().nullable(), embedded: z.boolean(), error: z.string().optional() }),
    pgvector: z.object({ ok: z.boolean(), version: z.string().nullable(), error: z.string().optional() }),
    redis: z.object({ configured: z.boolean(), ok: z.boolean(), latencyMs: z.number().optional(), state: z.string().optional(), error: z.string().optional() }),
    notifications: z.object({ transport: z.string() }),
    checkedAt: z.string(),
    model: z.string(),
  })
  .meta({ id: 'Health' });

/** Reads the page's files once; they are small and never change while the server runs. */
export async function loadAssets(): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of ['index.html', ...Object.keys(ASSETS)]) files.set(name, await readFile(new URL(name, PUBLIC_DIR)));
  return files;
}

export function metaRoutes(app: DemoApp, { cairn, workflow, hub }: DemoContext, assets: Map<string, Buffer>): void {
  app.get('/', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(assets.get('index.html')),
  );

  app.get('/assets/:file', { schema: { hide: true, params: z.object({ file: z.string().max(100) }) } }, async (request, reply) => {
    const type = ASSETS[request.params.file];
    const body = type ? assets.get(request.params.file) : undefined;
    if (!type || !body) return reply.status(404).type('text/plain').send('not found');
    return reply.type(type).header('cache-control', 'no-cache').send(body);
  });

  app.get('/api/health', {
    schema: { tags: ['meta'], summary: 'PostgreSQL, pgvector and Redis status', response: { 200: HealthSchema, 503: HealthSchema } },
    handler: async (_request, reply) => {
      const health = await cairn.health();
      const body = { ...health, checkedAt: health.checkedAt.toISOString(), model: workflow.modelName };
      return reply.status(health.ok ? 200 : 503).send(body);
    },
  });

  app.get('/metrics', {
    schema: { tags: ['meta'], summary: 'Prometheus metrics (checkpointer operations, latencies, errors)', produces: ['text/plain'] },
    handler: async (_request, reply) => {
      const registry = cairn.metricsRegistry;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  });

  app.get('/api/events', {
    schema: {
      tags: ['meta'],
      summary: "Server-sent events: every change notification of this tenant (objects, sessions, checkpoints), from any instance",
      description: 'Fed by the change notifier (Redis pub/sub, or PostgreSQL LISTEN/NOTIFY without Redis). Event name `change`, data `{ channel, ...event }`.',
      produces: ['text/event-stream'],
    },
    handler: async (request, reply) => {
      const stream = hub.open(request, reply);
      const notifier = cairn.notifier;
      if (!notifier) {
        stream.send('ready', { transport: 'off' });
        return;
      }
      const unsubscribe = await notifier.subscribe('cairn:*', (channel, event) => {
        if (event.tenantId === cairn.tenantId) stream.send('change', { channel, ...event });
      });
      stream.send('ready', { transport: cairn.notificationTransport });
      void stream.closed.then(() => unsubscribe()).catch((error: unknown) => request.log.warn({ err: error }, 'unsubscribe failed'));
    },
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
