// The HTTP API over real HTTP: a server on a free port, a fresh PostgreSQL database, the test Redis.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ErrorSchema } from '../src/routes/schemas.js';
import { SessionSchema } from '../src/routes/sessions.js';
import { CheckpointSummarySchema, ThreadSchema } from '../src/routes/threads.js';
import { http, openEventStream, startTestServer, type ReceivedEvent, type RunningServer } from './helpers.js';

// What the tests read of the answers: the routes' own schemas where they are exported, else the part a test looks at.
const Created = z.object({ id: z.string() });
const Checkpoints = z.object({ checkpoints: z.array(CheckpointSummarySchema) });
const Run = z.object({
  steps: z.array(z.string()),
  completed: z.boolean(),
  checkpointIds: z.array(z.string()),
  state: z.object({ answer: z.string(), sources: z.array(z.object({ title: z.string() })) }),
});
const Hits = z.object({ results: z.array(z.object({ sourceId: z.string(), score: z.number(), scoreKind: z.string() })) });
const Issues = ErrorSchema.required({ issues: true });
const issuePaths = (body: z.infer<typeof Issues>) => body.issues.map((i) => i.path).sort();

let server: RunningServer;
let base: string;
let sessionId: string;

beforeAll(async () => {
  server = await startTestServer({ redis: true, seed: true });
  base = server.url;
  const session = await http(base, 'POST', '/api/sessions', { userId: 'api-user', metadata: { via: 'test' } });
  sessionId = session.parse(Created).id;
});

afterAll(async () => {
  await server?.close();
});

async function newThread(title: string): Promise<string> {
  const { status, body } = await http(base, 'POST', '/api/threads', { userId: 'api-user', sessionId, title });
  expect(status).toBe(201);
  return Created.parse(body).id;
}

async function checkpoints(threadId: string): Promise<z.infer<typeof CheckpointSummarySchema>[]> {
  const { status, body } = await http(base, 'GET', `/api/threads/${threadId}/checkpoints`);
  expect(status).toBe(200);
  return Checkpoints.parse(body).checkpoints;
}

describe('the page and the API description', () => {
  it('serves the web page and its assets', async () => {
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Cairn demo');
    const script = await fetch(new URL('/assets/app.js', base));
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(new URL('/assets/../package.json', base))).status).toBe(404);
  });

  it('publishes an OpenAPI document generated from the route schemas', async () => {
    const response = await http(base, 'GET', '/openapi.json');
    expect(response.status).toBe(200);
    const { openapi, paths } = response.parse(z.object({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) }));
    expect(openapi).toMatch(/^3\./);
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/api/sessions',
        '/api/threads',
        '/api/threads/{id}/runs',
        '/api/threads/{id}/checkpoints',
        '/api/threads/{id}/rewind',
        '/api/threads/{id}/fork',
        '/api/threads/{id}/diff',
        '/api/threads/{id}/events',
        '/api/documents',
        '/api/documents/upload',
        '/api/search',
        '/api/health',
      ]),
    );
    expect(paths['/api/search']).toMatchObject({
      post: { requestBody: { content: { 'application/json': { schema: { properties: { mode: { enum: ['hybrid', 'vector', 'text'] } } } } } } },
    });
    expect(paths['/']).toBeUndefined();
  });

  it('reports PostgreSQL, pgvector and Redis in its health', async () => {
    const { status, body } = await http(base, 'GET', '/api/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, status: 'ok', postgres: { ok: true, embedded: false }, pgvector: { ok: true }, redis: { configured: true, ok: true }, model: 'template' });
    const health = z.object({ pgvector: z.object({ version: z.string() }), notifications: z.object({ transport: z.string() }) }).parse(body);
    expect(health.pgvector.version).toMatch(/^0\.\d+/);
    expect(health.notifications.transport).toBe('redis');
  });

  it('exposes Prometheus metrics', async () => {
    const response = await fetch(new URL('/metrics', base));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('cairn_checkpointer_operations_total');
  });
});

describe('sessions and threads', () => {
  it('creates, reads and lists sessions', async () => {
    const response = await http(base, 'POST', '/api/sessions', { userId: 'someone', ttlSeconds: 3600 });
    expect(response.status).toBe(201);
    const created = response.parse(SessionSchema);
    expect(created.expiresAt).not.toBeNull();
    const read = await http(base, 'GET', `/api/sessions/${created.id}`);
    expect(read.body).toMatchObject({ id: created.id, userId: 'someone' });
    const list = await http(base, 'GET', '/api/sessions?userId=someone');
    expect(list.parse(z.object({ sessions: z.array(SessionSchema) })).sessions.map((s) => s.id)).toEqual([created.id]);
    expect((await http(base, 'DELETE', `/api/sessions/${created.id}`)).status).toBe(204);
    expect((await http(base, 'GET', `/api/sessions/${created.id}`)).status).toBe(404);
  });

  it('rejects invalid input with every issue listed', async () => {
    const response = await http(base, 'POST', '/api/sessions', { userId: '', ttlSeconds: -1, extra: true });
    expect(response.status).toBe(400);
    const error = response.parse(Issues);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(issuePaths(error)).toEqual(['ttlSeconds', 'userId']);
  });

  it('creates threads in a session and lists them newest first', async () => {
    const first = await newThread('first');
    const second = await newThread('second');
    const bySession = await http(base, 'GET', `/api/threads?sessionId=${sessionId}`);
    expect(bySession.parse(z.object({ threads: z.array(ThreadSchema) })).threads.map((t) => t.id).slice(0, 2)).toEqual([second, first]);
    const renamed = await http(base, 'PATCH', `/api/threads/${first}`, { title: 'renamed' });
    expect(renamed.parse(ThreadSchema).title).toBe('renamed');
    expect((await http(base, 'GET', '/api/threads')).status).toBe(400);
  });

  it('refuses a thread in a session that does not exist', async () => {
    const { status, body } = await http(base, 'POST', '/api/threads', { userId: 'api-user', sessionId: 'no-such-session' });
    expect(status).toBe(404);
    expect(ErrorSchema.parse(body).code).toBe('SESSION_NOT_FOUND');
  });
});

describe('the workflow, time travel and forks', () => {
  it('runs the workflow: one checkpoint per step, answer grounded in the seeded documents', async () => {
    const threadId = await newThread('workflow');
    const response = await http(base, 'POST', `/api/threads/${threadId}/runs`, { question: 'How does a rewind of checkpoints work?' });
    expect(response.status).toBe(200);
    const body = response.parse(Run);
    expect(body.steps).toEqual(['receive', 'plan', 'retrieve', 'draft', 'review', 'answer']);
    expect(body.completed).toBe(true);
    expect(body.state.sources[0]?.title).toBe('Checkpoints and time travel');
    expect(body.state.answer).toContain('[Checkpoints and time travel]');
    const list = await checkpoints(threadId);
    expect(list.map((c) => c.checkpointId)).toEqual([...body.checkpointIds].reverse());
    expect(list.map((c) => c.node)).toEqual(['answer', 'review', 'draft', 'retrieve', 'plan', 'receive']);
  });

  it('shows a state and diffs two states as JSON Patch', async () => {
    const threadId = await newThread('diff');
    const run = await http(base, 'POST', `/api/threads/${threadId}/runs`, { question: 'What is hybrid search?' });
    const [receive, , , , , answer] = run.parse(Run).checkpointIds;
    const state = await http(base, 'GET', `/api/threads/${threadId}/checkpoints/${receive}`);
    expect(state.body).toMatchObject({ checkpointId: receive, node: 'receive', state: { question: 'What is hybrid search?', answer: '' } });
    const diff = await http(base, 'GET', `/api/threads/${threadId}/diff?from=${receive}&to=${answer}`);
    expect(diff.status).toBe(200);
    // Loose, so that the equality below sees every key an operation has.
    const { operations } = diff.parse(z.object({ operations: z.array(z.looseObject({ path: z.string() })) }));
    expect(operations.map((op) => op.path)).toEqual(expect.arrayContaining(['/node', '/answer', '/draft', '/messages/1']));
    expect(operations.find((op) => op.path === '/node')).toEqual({ op: 'replace', path: '/node', value: 'answer' });
    expect((await http(base, 'GET', `/api/threads/${threadId}/checkpoints/nope`)).status).toBe(404);
  });

  it('rewinds to an earlier checkpoint and resumes from there', async () => {
    const threadId = await newThread('rewind');
    const run = (await http(base, 'POST', `/api/threads/${threadId}/runs`, { question: 'How are objects versioned?' })).parse(Run);
    const retrieveId = run.checkpointIds[2];

    const rewind = await http(base, 'POST', `/api/threads/${threadId}/rewind`, { checkpointId: retrieveId });
    expect(rewind.status).toBe(200);
    expect(rewind.body).toMatchObject({ rewoundTo: retrieveId, rewoundFrom: run.checkpointIds[5] });
    const rewound = rewind.parse(z.object({ checkpointId: z.string() }));
    const thread = await http(base, 'GET', `/api/threads/${threadId}`);
    expect(thread.body).toMatchObject({ latest: { checkpointId: rewound.checkpointId, node: 'retrieve', parentId: retrieveId, metadata: { source: 'rewind' } } });

    const resumed = (await http(base, 'POST', `/api/threads/${threadId}/runs`, {})).parse(Run);
    expect(resumed.steps).toEqual(['draft', 'review', 'answer']);
    expect(resumed.state.answer).toBe(run.state.answer);
    const again = await http(base, 'POST', `/api/threads/${threadId}/runs`, {});
    expect(again.status).toBe(409);
    expect(again.parse(ErrorSchema).code).toBe('NOTHING_TO_RESUME');
    // The abandoned branch is still in the history: 6 + 1 rewind + 3 resumed.
    expect(await checkpoints(threadId)).toHaveLength(10);
  });

  it('forks a new thread from any checkpoint', async () => {
    const threadId = await newThread('fork source');
    const run = (await http(base, 'POST', `/api/threads/${threadId}/runs`, { question: 'What does Redis cache?' })).parse(Run);
    const planId = run.checkpointIds[1];
    const response = await http(base, 'POST', `/api/threads/${threadId}/fork`, { checkpointId: planId, title: 'forked' });
    expect(response.status).toBe(201);
    const fork = response.parse(z.object({ thread: ThreadSchema, checkpointId: z.string() }));
    expect(fork.thread).toMatchObject({ title: 'forked', sessionId, metadata: { forkedFrom: { threadId, checkpointId: planId } } });
    const forkId = fork.thread.id;
    const forkCheckpoints = await checkpoints(forkId);
    expect(forkCheckpoints).toHaveLength(1);
    expect(forkCheckpoints[0]).toMatchObject({ checkpointId: fork.checkpointId, node: 'plan' });
    // The fork's history leads back into the source thread.
    const history = await http(base, 'GET', `/api/threads/${forkId}/history`);
    expect(history.parse(z.object({ checkpoints: z.array(z.object({ threadId: z.string() })) })).checkpoints.map((c) => c.threadId)).toEqual([forkId, threadId, threadId]);
    // It resumes independently; the source thread is untouched.
    const resumed = (await http(base, 'POST', `/api/threads/${forkId}/runs`, {})).parse(Run);
    expect(resumed.steps).toEqual(['retrieve', 'draft', 'review', 'answer']);
    expect(await checkpoints(threadId)).toHaveLength(6);
  });

  it('streams each saved checkpoint of a running thread over server-sent events', async () => {
    const threadId = await newThread('live');
    const stream = await openEventStream(new URL(`/api/threads/${threadId}/events`, base));
    try {
      // `ready` is sent once the subscription is in place.
      await stream.until((events) => events.some((e) => e.event === 'ready'));
      const run = (await http(base, 'POST', `/api/threads/${threadId}/runs`, { question: 'Tell me about cairns on trails' })).parse(Run);
      const events = await stream.until((all) => all.filter((e) => e.event === 'checkpoint').length >= 6);
      expect(events[0]).toEqual({ event: 'ready', data: { threadId } });
      const Saved = z.object({ type: z.string(), threadId: z.string(), checkpointId: z.string() });
      const saved = events.filter((e) => e.event === 'checkpoint').map((e) => Saved.parse(e.data));
      expect(saved.every((e) => e.type === 'checkpoint.saved' && e.threadId === threadId)).toBe(true);
      expect(saved.map((e) => e.checkpointId)).toEqual(run.checkpointIds);
    } finally {
      stream.close();
    }
  });

  it('answers 404 for unknown threads and 400 for bad run input', async () => {
    expect((await http(base, 'POST', '/api/threads/nope/runs', { question: 'x' })).status).toBe(404);
    const threadId = await newThread('bad input');
    const bad = await http(base, 'POST', `/api/threads/${threadId}/runs`, { question: '', stepDelayMs: 99_999 });
    expect(bad.status).toBe(400);
    expect(issuePaths(bad.parse(Issues))).toEqual(['question', 'stepDelayMs']);
  });
});

describe('documents and search', () => {
  it('ingests pasted text and uploaded files, chunked, and lists the sources', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `Paragraph ${i} talks about glaciers, moraines and erratic boulders left by ice.`).join('\n\n');
    const pasted = await http(base, 'POST', '/api/documents', { title: 'Glaciers', text: long, tags: ['geology'] });
    expect(pasted.status).toBe(201);
    expect(pasted.body).toMatchObject({ id: 'glaciers', title: 'Glaciers', tags: ['geology'], version: 1 });
    expect(pasted.parse(z.object({ chunks: z.number() })).chunks).toBeGreaterThan(1);

    const upload = await http(base, 'POST', '/api/documents/upload?filename=volcano-notes.md&tags=geology,fire', '# Volcano notes\n\nMagma rises through vents; lava flows cool into basalt.', {
      'content-type': 'application/octet-stream',
    });
    expect(upload.status).toBe(201);
    expect(upload.body).toMatchObject({ title: 'Volcano notes', filename: 'volcano-notes.md', tags: ['geology', 'fire'], chunks: 1 });

    const again = await http(base, 'POST', '/api/documents', { title: 'Glaciers', text: 'Glaciers carve valleys.', tags: ['geology'] });
    expect(again.body).toMatchObject({ id: 'glaciers', chunks: 1, version: 2 });

    const list = await http(base, 'GET', '/api/documents');
    const ids = list.parse(z.object({ sources: z.array(z.object({ id: z.string() })) })).sources.map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(['glaciers', 'volcano-notes', 'sample-hybrid-search']));
  });

  it('streams change notifications of other components, such as a new source, over /api/events', async () => {
    const stream = await openEventStream(new URL('/api/events', base));
    try {
      await stream.until((events) => events.some((e) => e.event === 'ready'));
      await http(base, 'POST', '/api/documents', { title: 'Live notes', text: 'Written while someone listens.' });
      const isLiveNotes = (e: ReceivedEvent) => e.event === 'change' && z.object({ id: z.literal('live-notes') }).safeParse(e.data).success;
      const events = await stream.until((all) => all.some(isLiveNotes));
      expect(events[0]).toEqual({ event: 'ready', data: { transport: 'redis' } });
      expect(events.find(isLiveNotes)?.data).toEqual({
        channel: 'cairn:objects',
        type: 'object.updated',
        tenantId: 'default',
        objectType: 'DemoSource',
        id: 'live-notes',
        version: 1,
      });
    } finally {
      stream.close();
    }
  });

  it('refuses binary and empty uploads', async () => {
    const binary = await http(base, 'POST', '/api/documents/upload?filename=x.bin', new Uint8Array([0, 1, 2, 0]), { 'content-type': 'application/octet-stream' });
    expect(binary.status).toBe(400);
    expect(binary.parse(ErrorSchema).code).toBe('NOT_TEXT');
    const empty = await http(base, 'POST', '/api/documents/upload?filename=x.txt', '   ', { 'content-type': 'text/plain' });
    expect(empty.parse(ErrorSchema).code).toBe('EMPTY_DOCUMENT');
  });

  it('searches by vector, by full text and by both, with scores', async () => {
    for (const mode of ['vector', 'text', 'hybrid'] as const) {
      const response = await http(base, 'POST', '/api/search', { query: 'reciprocal rank fusion of full-text and vector rankings', mode, k: 3 });
      expect(response.status).toBe(200);
      const { results } = response.parse(Hits);
      expect(results.length).toBeGreaterThan(0);
      expect(results[0]?.sourceId).toBe('sample-hybrid-search');
      const scores = results.map((r) => r.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(results[0]?.scoreKind).toBe(mode === 'vector' ? 'cosine similarity' : 'reciprocal rank fusion');
    }
  });

  it('filters by source and by tag', async () => {
    const bySource = await http(base, 'POST', '/api/search', { query: 'cairn trail checkpoint', mode: 'vector', k: 10, where: { sourceId: 'sample-trail-cairns' } });
    const sourceHits = bySource.parse(Hits).results;
    expect(sourceHits.length).toBeGreaterThan(0);
    expect(new Set(sourceHits.map((r) => r.sourceId))).toEqual(new Set(['sample-trail-cairns']));
    const byTag = await http(base, 'POST', '/api/search', { query: 'lava basalt glaciers', mode: 'hybrid', k: 10, where: { tag: 'fire' } });
    expect(byTag.parse(Hits).results.map((r) => r.sourceId)).toEqual(['volcano-notes']);
  });

  it('deletes a source with its chunks', async () => {
    expect((await http(base, 'DELETE', '/api/documents/volcano-notes')).status).toBe(204);
    const search = await http(base, 'POST', '/api/search', { query: 'lava basalt magma', mode: 'text', k: 10 });
    expect(search.parse(Hits).results.map((r) => r.sourceId)).not.toContain('volcano-notes');
    expect((await http(base, 'DELETE', '/api/documents/volcano-notes')).status).toBe(404);
  });

  it('rejects bad search input', async () => {
    const { status, body } = await http(base, 'POST', '/api/search', { query: ' ', k: 0, mode: 'fuzzy' });
    expect(status).toBe(400);
    expect(issuePaths(Issues.parse(body))).toEqual(['k', 'mode', 'query']);
  });
});
