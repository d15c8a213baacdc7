// Threads and their checkpoints: create and list threads, run the agent workflow on one, walk its
// checkpoint timeline, diff two states, rewind, fork, and follow it live over server-sent events.
import jsonPatch from 'fast-json-patch';
import { z } from 'zod';
import type { Checkpoint, ThreadRecord } from '@cairn/cairn';
import { HttpError, notFound } from '../http-errors.js';
import type { DemoApp, DemoContext } from '../context.js';
import { nodeOf, type AgentState } from '../workflow.js';
import { ErrorSchema, IdParam, JsonObject, JsonValue } from './schemas.js';

export const ThreadSchema = z
  .object({
    id: z.string(),
    sessionId: z.string().nullable(),
    userId: z.string(),
    title: z.string().nullable(),
    metadata: JsonObject,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Thread' });

export const CheckpointSummarySchema = z
  .object({
    checkpointId: z.string(),
    parentId: z.string().nullable(),
    step: z.number().int(),
    node: z.string().nullable().describe('The workflow node that wrote it'),
    createdAt: z.string(),
    metadata: JsonObject,
  })
  .meta({ id: 'CheckpointSummary' });

export const CheckpointSchema = CheckpointSummarySchema.extend({ threadId: z.string(), state: JsonValue }).meta({ id: 'Checkpoint' });

const PatchOperationSchema = z
  .object({ op: z.enum(['add', 'remove', 'replace', 'move', 'copy', 'test']), path: z.string(), from: z.string().optional(), value: JsonValue.optional() })
  .meta({ id: 'PatchOperation' });

const CheckpointParams = z.object({ id: z.string().min(1).max(512), checkpointId: z.string().min(1).max(512) });

function toThread(record: ThreadRecord): z.infer<typeof ThreadSchema> {
  return {
    id: record.id,
    sessionId: record.sessionId,
    userId: record.userId,
    title: record.title,
    metadata: record.metadata,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

function toSummary(checkpoint: Checkpoint<AgentState>): z.infer<typeof CheckpointSummarySchema> {
  return {
    checkpointId: checkpoint.checkpointId,
    parentId: checkpoint.parentId,
    step: checkpoint.step,
    node: nodeOf(checkpoint) ?? null,
    createdAt: checkpoint.createdAt.toISOString(),
    metadata: checkpoint.metadata,
  };
}

export function threadRoutes(app: DemoApp, { cairn, workflow, checkpointer, hub, runs }: DemoContext): void {
  const tags = ['threads'];

  const requireThread = async (id: string): Promise<ThreadRecord> => {
    const thread = await cairn.threads.get(id);
    if (!thread) throw notFound('Thread', id);
    return thread;
  };
  const requireCheckpoint = async (threadId: string, checkpointId: string): Promise<Checkpoint<AgentState>> => {
    const checkpoint = await checkpointer.get(threadId, checkpointId);
    if (!checkpoint) throw new HttpError(404, 'CHECKPOINT_NOT_FOUND', `Checkpoint ${checkpointId} not found in thread ${threadId}`);
    return checkpoint;
  };

  app.post('/api/threads', {
    schema: {
      tags,
      summary: 'Create a thread',
      body: z.object({
        userId: z.string().min(1).max(200),
        sessionId: z.string().min(1).max(512).optional().describe('A live session of the same tenant'),
        title: z.string().max(200).optional(),
        metadata: JsonObject.optional(),
      }),
      response: { 201: ThreadSchema, 400: ErrorSchema, 404: ErrorSchema },
    },
    handler: async (request, reply) => {
      const thread = await cairn.threads.create(request.body);
      return reply.status(201).send(toThread(thread));
    },
  });

  app.get('/api/threads', {
    schema: {
      tags,
      summary: "List a user's or a session's threads, newest first",
      querystring: z
        .object({
          userId: z.string().min(1).max(200).optional(),
          sessionId: z.string().min(1).max(512).optional(),
          limit: z.coerce.number().int().min(1).max(100).default(20),
          cursor: z.string().max(4096).optional(),
        })
        .refine((q) => (q.userId === undefined) !== (q.sessionId === undefined), { message: 'give exactly one of userId and sessionId' }),
      response: { 200: z.object({ threads: z.array(ThreadSchema), nextCursor: z.string().nullable() }), 400: ErrorSchema },
    },
    handler: async (request) => {
      const { userId, sessionId, limit, cursor } = request.query;
      const options = { limit, cursor: cursor ?? null };
      const page = sessionId !== undefined ? await cairn.threads.listBySession(sessionId, options) : await cairn.threads.listByUser(userId!, options);
      return { threads: page.items.map(toThread), nextCursor: page.nextCursor };
    },
  });

  app.get('/api/threads/:id', {
    schema: {
      tags,
      summary: 'Get a thread and its latest checkpoint',
      params: IdParam,
      response: { 200: ThreadSchema.extend({ latest: CheckpointSummarySchema.nullable() }), 404: ErrorSchema },
    },
    handler: async (request) => {
      const thread = await requireThread(request.params.id);
      const latest = await checkpointer.get(thread.id);
      return { ...toThread(thread), latest: latest ? toSummary(latest) : null };
    },
  });

  app.patch('/api/threads/:id', {
    schema: {
      tags,
      summary: "Rename a thread or merge into its metadata",
      params: IdParam,
      body: z.object({ title: z.string().max(200).nullable().optional(), metadata: JsonObject.optional() }),
      response: { 200: ThreadSchema, 404: ErrorSchema },
    },
    handler: async (request) => {
      await requireThread(request.params.id);
      const { title, metadata } = request.body;
      return toThread(await cairn.threads.update(request.params.id, { ...(title !== undefined ? { title } : {}), ...(metadata ? { mergeMetadata: metadata } : {}) }));
    },
  });

  app.delete('/api/threads/:id', {
    schema: { tags, summary: 'Delete a thread and its checkpoints', params: IdParam, response: { 204: z.null(), 404: ErrorSchema } },
    handler: async (request, reply) => {
      if (!(await cairn.threads.delete(request.params.id))) throw notFound('Thread', request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.post('/api/threads/:id/runs', {
    schema: {
      tags,
      summary: 'Run the agent workflow on a thread',
      description:
        'With a question: a new turn (receive → plan → retrieve → draft → review → answer), one checkpoint per step. ' +
        'Without: resumes after the latest checkpoint (e.g. after a rewind or an interrupted run). Answers when the run ends.',
      params: IdParam,
      body: z.object({
        question: z.string().trim().min(1).max(2000).optional(),
        stepDelayMs: z.number().int().min(0).max(2000).default(0).describe('Pause between steps, to watch them arrive live'),
        maxSteps: z.number().int().min(1).max(20).optional().describe('Stop early (then resume with another run)'),
      }),
      response: {
        200: z.object({
          threadId: z.string(),
          steps: z.array(z.string()),
          checkpointIds: z.array(z.string()),
          completed: z.boolean(),
          model: z.string(),
          state: JsonValue,
        }),
        404: ErrorSchema,
        409: ErrorSchema,
      },
    },
    handler: async (request, reply) => {
      const thread = await requireThread(request.params.id);
      const controller = new AbortController();
      runs.add(controller);
      // A client that goes away mid-run stops the run between steps (what ran stays checkpointed):
      // the response closing before it was written means the connection is gone.
      const onClose = () => {
        if (!reply.raw.writableFinished) controller.abort();
      };
      reply.raw.once('close', onClose);
      try {
        const result = await workflow.run(thread.id, { ...request.body, signal: controller.signal });
        return { threadId: thread.id, ...result, model: workflow.modelName };
      } finally {
        reply.raw.off('close', onClose);
        runs.delete(controller);
      }
    },
  });

  app.get('/api/threads/:id/checkpoints', {
    schema: {
      tags,
      summary: "A thread's checkpoints, newest first",
      params: IdParam,
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(500).default(100),
        before: z.string().min(1).max(512).optional().describe('Only checkpoints older than this id'),
        node: z.string().max(50).optional().describe('Only checkpoints written by this node (metadata filter)'),
      }),
      response: { 200: z.object({ checkpoints: z.array(CheckpointSummarySchema) }), 404: ErrorSchema },
    },
    handler: async (request) => {
      await requireThread(request.params.id);
      const { limit, before, node } = request.query;
      const list = await checkpointer.list(request.params.id, { limit, ...(before ? { before } : {}), ...(node ? { metadata: { node } } : {}) });
      return { checkpoints: list.map(toSummary) };
    },
  });

  app.get('/api/threads/:id/checkpoints/:checkpointId', {
    schema: { tags, summary: 'One checkpoint with its state', params: CheckpointParams, response: { 200: CheckpointSchema, 404: ErrorSchema } },
    handler: async (request) => {
      const checkpoint = await requireCheckpoint(request.params.id, request.params.checkpointId);
      return { ...toSummary(checkpoint), threadId: checkpoint.threadId, state: checkpoint.state };
    },
  });

  app.get('/api/threads/:id/history', {
    schema: {
      tags,
      summary: 'The parent chain of a checkpoint (default: the latest), newest first, across forks',
      params: IdParam,
      querystring: z.object({ checkpointId: z.string().min(1).max(512).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: z.object({ checkpoints: z.array(CheckpointSummarySchema.extend({ threadId: z.string() })) }), 404: ErrorSchema },
    },
    handler: async (request) => {
      await requireThread(request.params.id);
      const chain = await checkpointer.history(request.params.id, request.query.checkpointId, { limit: request.query.limit });
      return { checkpoints: chain.map((c) => ({ ...toSummary(c), threadId: c.threadId })) };
    },
  });

  app.get('/api/threads/:id/diff', {
    schema: {
      tags,
      summary: 'The JSON Patch (RFC 6902) that turns one checkpoint state into another',
      params: IdParam,
      querystring: z.object({ from: z.string().min(1).max(512), to: z.string().min(1).max(512) }),
      response: { 200: z.object({ from: z.string(), to: z.string(), operations: z.array(PatchOperationSchema) }), 404: ErrorSchema },
    },
    handler: async (request) => {
      const [from, to] = await Promise.all([requireCheckpoint(request.params.id, request.query.from), requireCheckpoint(request.params.id, request.query.to)]);
      // compare() only produces add/remove/replace; its type also admits the library's internal `_get`.
      const operations = jsonPatch.compare(from.state as object, to.state as object) as z.infer<typeof PatchOperationSchema>[];
      return { from: from.checkpointId, to: to.checkpointId, operations };
    },
  });

  app.post('/api/threads/:id/rewind', {
    schema: {
      tags,
      summary: 'Time travel: make an earlier checkpoint the thread’s latest state again',
      description:
        'Writes a new checkpoint holding that checkpoint’s state, with it as parent; the next run continues from there. ' +
        'Nothing is deleted: the abandoned branch stays in the history.',
      params: IdParam,
      body: z.object({ checkpointId: z.string().min(1).max(512) }),
      response: { 200: z.object({ checkpointId: z.string(), rewoundTo: z.string(), rewoundFrom: z.string().nullable() }), 404: ErrorSchema, 409: ErrorSchema },
    },
    handler: async (request) => {
      const threadId = request.params.id;
      await requireThread(threadId);
      const target = await requireCheckpoint(threadId, request.body.checkpointId);
      const latest = await checkpointer.get(threadId);
      const rewoundFrom = latest?.checkpointId ?? null;
      const checkpointId = await checkpointer.put(threadId, target.state, {
        parentId: target.checkpointId,
        expectedLatestId: rewoundFrom,
        metadata: { ...target.metadata, source: 'rewind', rewoundTo: target.checkpointId, ...(rewoundFrom ? { rewoundFrom } : {}) },
      });
      return { checkpointId, rewoundTo: target.checkpointId, rewoundFrom };
    },
  });

  app.post('/api/threads/:id/fork', {
    schema: {
      tags,
      summary: 'Start a new thread from any checkpoint of this one',
      params: IdParam,
      body: z.object({ checkpointId: z.string().min(1).max(512), title: z.string().max(200).optional() }),
      response: { 201: z.object({ thread: ThreadSchema, checkpointId: z.string() }), 404: ErrorSchema },
    },
    handler: async (request, reply) => {
      const source = await requireThread(request.params.id);
      const target = await requireCheckpoint(source.id, request.body.checkpointId);
      const thread = await cairn.threads.create({
        userId: source.userId,
        sessionId: source.sessionId,
        title: request.body.title ?? `${source.title ?? source.id} (fork)`,
        metadata: { forkedFrom: { threadId: source.id, checkpointId: target.checkpointId } },
      });
      try {
        const fork = await checkpointer.fork(source.id, target.checkpointId, { newThreadId: thread.id });
        return reply.status(201).send({ thread: toThread(thread), checkpointId: fork.checkpointId });
      } catch (error) {
        // The thread row and the fork's checkpoint live in different components: undo the row.
        await cairn.threads.delete(thread.id).catch(() => undefined);
        throw error;
      }
    },
  });

  app.get('/api/threads/:id/events', {
    schema: {
      tags,
      summary: 'Server-sent events: every checkpoint saved or deleted on this thread (fed by change notifications)',
      params: IdParam,
      produces: ['text/event-stream'],
    },
    handler: async (request, reply) => {
      const thread = await requireThread(request.params.id);
      const stream = hub.open(request, reply);
      const unsubscribe = await checkpointer.subscribe(thread.id, (event) => {
        stream.send('checkpoint', event, 'checkpointId' in event ? event.checkpointId : undefined);
      });
      stream.send('ready', { threadId: thread.id });
      void stream.closed.then(() => unsubscribe()).catch((error: unknown) => request.log.warn({ err: error }, 'unsubscribe failed'));
    },
  });
}
