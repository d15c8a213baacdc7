// The demo's HTTP server: Fastify 5 with zod-validated routes (fastify-type-provider-zod), an
// OpenAPI document generated from the same schemas, the web page, and server-sent events.
import fastify, { type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Cairn, Checkpointer } from '@cairn/cairn';
import type { DemoApp, DemoContext } from './context.js';
import { errorHandler } from './http-errors.js';
import { DocumentLibrary } from './library.js';
import { TemplateModel, type AnswerModel } from './model.js';
import { documentRoutes } from './routes/documents.js';
import { loadAssets, metaRoutes } from './routes/meta.js';
import { sessionRoutes } from './routes/sessions.js';
import { threadRoutes } from './routes/threads.js';
import { SseHub } from './sse.js';
import { AgentWorkflow, type AgentState } from './workflow.js';

/** Options of buildServer(). */
export interface ServerOptions {
  /** Who writes the workflow's drafts. @defaultValue new TemplateModel() (deterministic) */
  model?: AnswerModel;
  /** Fastify's logger setting. @defaultValue false */
  logger?: FastifyServerOptions['logger'];
  /** Largest request body in bytes (uploads). @defaultValue 5 MiB */
  bodyLimit?: number;
  /** Documents collection name. @defaultValue 'demo-docs' */
  collection?: string;
}

/** A built server and the services behind it. */
export interface DemoServer {
  app: DemoApp;
  context: DemoContext;
}

/**
 * Builds the demo's Fastify app on a Cairn instance (which the caller owns and closes after the
 * app). Ready to `listen()` or `inject()`.
 */
export async function buildServer(cairn: Cairn, options: ServerOptions = {}): Promise<DemoServer> {
  const app = fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 5 * 1024 * 1024,
    // Idle keep-alive sockets must not hold up close(); event streams are ended by the hub.
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  // Uploads arrive as raw bytes; the route decodes them as UTF-8 text.
  app.addContentTypeParser(['application/octet-stream', 'text/plain', 'text/markdown'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Cairn demo API',
        version: '0.1.0',
        description: 'Sessions, threads, a checkpointed agent workflow with time travel, and document search, over the Cairn packages.',
      },
      tags: [
        { name: 'sessions', description: 'A user’s conversations' },
        { name: 'threads', description: 'Threads, the agent workflow, checkpoints, rewind and fork' },
        { name: 'documents', description: 'Ingest and search documents (pgvector + full text)' },
        { name: 'meta', description: 'Health and metrics' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  // One typed view of the checkpointer for the workflow's state (the umbrella's is `unknown`).
  const checkpointer = cairn.checkpointer as unknown as Checkpointer<AgentState>;
  const library = new DocumentLibrary(cairn, { collection: options.collection });
  await library.init();
  const workflow = new AgentWorkflow(checkpointer, (query, k) => library.retrieve(query, k), options.model ?? new TemplateModel());
  const context: DemoContext = { cairn, checkpointer, workflow, library, hub: new SseHub(), runs: new Set() };

  app.addHook('preClose', async () => {
    for (const run of context.runs) run.abort();
    context.hub.closeAll();
  });

  const assets = await loadAssets();
  metaRoutes(app, context, assets);
  sessionRoutes(app, context);
  threadRoutes(app, context);
  documentRoutes(app, context);
  await app.ready();
  return { app, context };
}

/** Starts listening; returns the URL to print (loopback addresses shown as localhost). */
export async function listen(app: DemoApp, options: { host: string; port: number }): Promise<string> {
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = ['127.0.0.1', '::1', '0.0.0.0', '::', 'localhost'].includes(options.host) ? 'localhost' : options.host;
  return `http://${host}:${port}/`;
}
