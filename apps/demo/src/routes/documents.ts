// Documents: paste text or upload a file (chunked and embedded), list and delete sources, and
// search the chunks by vector, full text or both (hybrid), with optional metadata filters.
import path from 'node:path';
import { z } from 'zod';
import { HttpError, notFound } from '../http-errors.js';
import type { DemoApp, DemoContext } from '../context.js';
import { SEARCH_MODES, titleFromText, type SourceInfo } from '../library.js';
import { ErrorSchema, IdParam } from './schemas.js';

const SourceSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    filename: z.string().nullable(),
    tags: z.array(z.string()),
    chunks: z.number().int(),
    bytes: z.number().int(),
    ingestedAt: z.string(),
    version: z.number().int().describe('Object version: re-ingesting a source bumps it'),
  })
  .meta({ id: 'Source' });

const SearchHitSchema = z
  .object({
    id: z.string().describe('Chunk id: <sourceId>#<n>'),
    sourceId: z.string(),
    title: z.string(),
    chunk: z.number().int(),
    content: z.string(),
    score: z.number(),
    scoreKind: z.string().describe('What the score means: cosine similarity (vector) or fused reciprocal-rank score (hybrid, text)'),
    metadata: z.record(z.string(), z.json()),
  })
  .meta({ id: 'SearchHit' });

const Tags = z.array(z.string().trim().min(1).max(50)).max(20);
const SourceIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'must be 1-100 letters, digits, _ . - (starting with a letter or digit)');

const toSource = (s: SourceInfo): z.infer<typeof SourceSchema> => s;

export function documentRoutes(app: DemoApp, { library }: DemoContext): void {
  const tags = ['documents'];

  app.post('/api/documents', {
    schema: {
      tags,
      summary: 'Ingest pasted text: chunked, embedded and stored (re-ingesting an id replaces it)',
      body: z.object({
        title: z.string().trim().min(1).max(200),
        text: z.string().min(1).max(2_000_000),
        tags: Tags.default([]),
        id: SourceIdSchema.optional().describe('Source id; default: derived from the title'),
        filename: z.string().max(300).optional(),
      }),
      response: { 201: SourceSchema, 400: ErrorSchema },
    },
    handler: async (request, reply) => reply.status(201).send(toSource(await library.ingest(request.body))),
  });

  app.post('/api/documents/upload', {
    schema: {
      tags,
      summary: 'Upload a text file (raw body, UTF-8): chunked, embedded and stored',
      description: 'Send the file as the request body with Content-Type application/octet-stream, text/plain or text/markdown.',
      querystring: z.object({
        filename: z.string().trim().min(1).max(300),
        title: z.string().trim().min(1).max(200).optional(),
        tags: z.string().max(500).optional().describe('Comma-separated'),
      }),
      response: { 201: SourceSchema, 400: ErrorSchema, 415: ErrorSchema },
    },
    handler: async (request, reply) => {
      if (!Buffer.isBuffer(request.body)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the file as application/octet-stream, text/plain or text/markdown');
      const text = new TextDecoder('utf-8', { fatal: false }).decode(request.body);
      if (text.includes('\u0000')) throw new HttpError(400, 'NOT_TEXT', 'The file is not text (it contains NUL bytes)');
      if (text.trim() === '') throw new HttpError(400, 'EMPTY_DOCUMENT', 'The file is empty');
      const filename = path.basename(request.query.filename);
      const tagList = (request.query.tags ?? '').split(',').map((t) => t.trim()).filter(Boolean);
      const source = await library.ingest({ title: request.query.title ?? titleFromText(text, filename), text, filename, tags: tagList });
      return reply.status(201).send(toSource(source));
    },
  });

  app.get('/api/documents', {
    schema: { tags, summary: 'Ingested sources, newest first', response: { 200: z.object({ sources: z.array(SourceSchema), chunks: z.number().int() }) } },
    handler: async () => {
      const [sources, chunks] = await Promise.all([library.list(), library.chunkTotal()]);
      return { sources: sources.map(toSource), chunks };
    },
  });

  app.delete('/api/documents/:id', {
    schema: { tags, summary: 'Delete a source and its chunks', params: IdParam, response: { 204: z.null(), 404: ErrorSchema } },
    handler: async (request, reply) => {
      if (!(await library.delete(request.params.id))) throw notFound('Source', request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.post('/api/search', {
    schema: {
      tags,
      summary: 'Search the chunks: vector, full text, or hybrid (both, fused by reciprocal rank)',
      body: z.object({
        query: z.string().trim().min(1).max(1000),
        mode: z.enum(SEARCH_MODES).default('hybrid'),
        k: z.number().int().min(1).max(50).default(5),
        where: z
          .object({ sourceId: z.string().min(1).max(100).optional(), tag: z.string().min(1).max(50).optional() })
          .strict()
          .optional()
          .describe('Metadata filter: only chunks of this source and/or with this tag'),
        minScore: z.number().min(-1).max(1).optional().describe('Vector mode only: minimum cosine similarity'),
      }),
      response: { 200: z.object({ results: z.array(SearchHitSchema), tookMs: z.number(), mode: z.string() }), 400: ErrorSchema },
    },
    handler: async (request) => ({ ...(await library.search(request.body)), mode: request.body.mode }),
  });
}
