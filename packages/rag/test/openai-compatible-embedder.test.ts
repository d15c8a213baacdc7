// OpenAICompatibleEmbedder over real HTTP against a local implementation of /v1/embeddings.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { ValidationError } from '@cairn/core';
import {
  createRag,
  DimensionMismatchError,
  EmbeddingRequestError,
  EmptyTextError,
  LocalHashEmbedder,
  OpenAICompatibleEmbedder,
  type OpenAICompatibleEmbedderOptions,
} from '../src/index.js';
import { startEmbeddingsServer, type EmbeddingsServer } from './embeddings-server.js';

const API_KEY = 'sk-test-secret-0123456789';

describe('OpenAICompatibleEmbedder', () => {
  let server: EmbeddingsServer;
  const reference = new LocalHashEmbedder({ dimensions: 384 });
  const make = (options: Partial<OpenAICompatibleEmbedderOptions> = {}) =>
    new OpenAICompatibleEmbedder({ baseUrl: server.baseUrl, apiKey: API_KEY, model: 'text-embedding-3-small', dimensions: 384, retryBaseDelayMs: 1, ...options });

  beforeAll(async () => {
    server = await startEmbeddingsServer({ apiKey: API_KEY });
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.forceDimensions(undefined);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('embeds in batches, in input order, sending model, dimensions and the key', async () => {
    const texts = Array.from({ length: 10 }, (_, i) => `text number ${i}`);
    const vectors = await make({ batchSize: 3 }).embedDocuments(texts);
    expect(vectors).toEqual(texts.map((t) => reference.embedSync(t)));
    expect(server.requests.map((r) => r.body.input.length)).toEqual(expect.arrayContaining([3, 3, 3, 1]));
    expect(server.requests[0]).toMatchObject({ authorization: `Bearer ${API_KEY}`, body: { model: 'text-embedding-3-small', dimensions: 384, encoding_format: 'float' } });
    expect(await make().embedQuery('a query')).toEqual(reference.embedSync('a query'));
  });

  it('adds query and document prefixes, and can leave out the dimensions field', async () => {
    const e = make({ sendDimensions: false, queryPrefix: 'query: ', documentPrefix: 'passage: ' });
    await e.embedQuery('q');
    await e.embedDocuments(['d']);
    expect(server.requests.map((r) => r.body.input[0])).toEqual(['query: q', 'passage: d']);
    expect(server.requests.every((r) => r.body.dimensions === undefined)).toBe(true);
  });

  it('decodes base64 answers to the same vectors', async () => {
    const [v] = await make({ encodingFormat: 'base64' }).embedDocuments(['same vector']);
    const expected = reference.embedSync('same vector');
    v!.forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 6));
  });

  it('retries rate limits, server errors and dropped connections, then succeeds', async () => {
    const e = make();
    server.script({ status: 429, headers: { 'retry-after': '0' } }, { status: 503 }, { destroy: true });
    expect(await e.embedQuery('persistent')).toEqual(reference.embedSync('persistent'));
    expect(e.stats()).toMatchObject({ requests: 4, retries: 3 });
  });

  it('honours retry-after-ms over its own backoff', async () => {
    // A backoff of up to a minute would outlast the test; the server asks for 5 ms.
    const e = make({ retryBaseDelayMs: 60_000, retryMaxDelayMs: 600_000 });
    server.script({ status: 429, headers: { 'retry-after-ms': '5' } });
    expect(await e.embedQuery('patient')).toHaveLength(384);
  });

  it('gives up after maxRetries with the last status', async () => {
    server.script(...Array.from({ length: 3 }, () => ({ status: 500 })));
    const err = await make({ maxRetries: 2 })
      .embedQuery('doomed')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingRequestError);
    expect(err).toMatchObject({ code: 'EMBEDDING_REQUEST_FAILED', status: 500, attempts: 3, category: 'unavailable' });
  });

  it.each([400, 409])('does not retry HTTP %i, and reports it as invalid input', async (status) => {
    server.script({ status }); // a retry would get a normal answer and succeed
    const e = make();
    const err = await e.embedQuery('refused').catch((caught: unknown) => caught);
    expect(err).toBeInstanceOf(EmbeddingRequestError);
    expect(err).toMatchObject({ status, attempts: 1, category: 'invalid_input' });
    expect(server.requests).toHaveLength(1);
    expect(e.stats()).toMatchObject({ requests: 1, retries: 0 });
  });

  it('does not retry client errors, and never echoes the API key', async () => {
    const err = await make({ apiKey: 'sk-wrong-key' })
      .embedQuery('x')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 401, attempts: 1 });
    expect((err as Error).message).toContain('Incorrect API key provided');
    expect((err as Error).message).not.toContain('sk-wrong-key');
    expect(JSON.stringify(make())).not.toContain(API_KEY);
  });

  it('times out a silent server and retries', async () => {
    server.script({ delayMs: 300 });
    const e = make({ timeoutMs: 50, maxRetries: 1 });
    expect(await e.embedQuery('slow then fine')).toHaveLength(384);
    expect(e.stats().retries).toBe(1);
    server.script({ delayMs: 300 }, { delayMs: 300 });
    await expect(make({ timeoutMs: 50, maxRetries: 1 }).embedQuery('slow')).rejects.toThrow(/no answer within 50 ms/);
  });

  it('checks the dimension and the shape of every answer', async () => {
    server.forceDimensions(256);
    await expect(make().embedQuery('x')).rejects.toBeInstanceOf(DimensionMismatchError);
    server.forceDimensions(undefined);
    server.script({ raw: 'not json' });
    await expect(make({ maxRetries: 0 }).embedQuery('x')).rejects.toMatchObject({ code: 'EMBEDDING_RESPONSE_INVALID' });
    server.script({ raw: JSON.stringify({ data: [{ index: 0, embedding: [1, null] }] }) });
    await expect(make({ maxRetries: 0 }).embedQuery('x')).rejects.toMatchObject({ code: 'EMBEDDING_RESPONSE_INVALID' });
    server.script({ raw: JSON.stringify({ data: [] }) });
    await expect(make({ maxRetries: 0 }).embedDocuments(['a', 'b'])).rejects.toMatchObject({ code: 'EMBEDDING_RESPONSE_INVALID' });
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const slow = await startEmbeddingsServer({ latencyMs: 20 });
    try {
      const e = new OpenAICompatibleEmbedder({ baseUrl: slow.baseUrl, model: 'm', dimensions: 384, batchSize: 2, concurrency: 2 });
      await e.embedDocuments(Array.from({ length: 16 }, (_, i) => `t${i}`));
      expect(slow.requests).toHaveLength(8);
      expect(slow.maxInFlight()).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it('spaces requests to the rate limit', async () => {
    const e = make({ requestsPerMinute: 1200, batchSize: 1, concurrency: 4 }); // one per 50 ms
    const started = performance.now();
    await e.embedDocuments(['a', 'b', 'c', 'd']);
    // A causal bound, not a speed: the fourth request cannot leave before three slots have passed
    // (gaps between arrivals are not checked, a loaded machine delays one arrival and shrinks the next gap).
    const last = Math.max(...server.requests.map((r) => r.at));
    expect(server.requests).toHaveLength(4);
    expect(last - started).toBeGreaterThanOrEqual(145);
  });

  it('stops waiting when aborted', async () => {
    server.script({ status: 503, headers: { 'retry-after': '600' } });
    const controller = new AbortController();
    const pending = make({ retryMaxDelayMs: 600_000 }).embedQuery('x', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user cancelled')), 20);
    await expect(pending).rejects.toThrow('user cancelled');
  });

  it('refuses empty texts before sending anything, and bad options', async () => {
    await expect(make().embedDocuments(['fine', ' '])).rejects.toBeInstanceOf(EmptyTextError);
    expect(server.requests).toHaveLength(0);
    expect(() => new OpenAICompatibleEmbedder({ baseUrl: 'ftp://x', model: 'm', dimensions: 3 })).toThrow(ValidationError);
  });

  describe('behind a collection', () => {
    let db: CairnDb;
    beforeAll(async () => {
      db = await createTestDb();
    });
    afterAll(async () => {
      await db?.close();
    });

    it('embeds documents on upsert and queries on search', async () => {
      const rag = createRag(db, { embedder: make({ batchSize: 2 }) });
      const kb = await rag.collection('kb');
      await kb.upsert([
        { id: 'pg', content: 'PostgreSQL stores vectors with pgvector' },
        { id: 'redis', content: 'Redis caches sessions' },
        { id: 'cook', content: 'Slow cooked tomato sauce' },
      ]);
      expect(server.requests).toHaveLength(2);
      const [hit] = await kb.search('pgvector vectors', { k: 1 });
      expect(hit!.id).toBe('pg');
    });
  });
});
