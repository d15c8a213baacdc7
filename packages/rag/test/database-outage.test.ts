// A private PostgreSQL stopped under a running Rag: writes, reads, searches and index management
// fail with StorageUnavailableError after the retries (never a raw ECONNREFUSED), a stream with
// IngestError caused by one, and once the server is back the same Rag and collection work again.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StorageUnavailableError } from '@cairn/core';
import { createDb, type CairnDb } from '@cairn/db';
import { startPostgresServer, type DisposablePostgresServer } from '@cairn/db/testing';
import { createRag, IngestError, LocalHashEmbedder, type PgVectorCollection, type Rag } from '../src/index.js';
import { recordUncaughtExceptions } from './uncaught-exceptions.js';

const ATTEMPTS = 3;
const uncaught = recordUncaughtExceptions();
const setup: { server?: DisposablePostgresServer; db?: CairnDb; rag?: Rag } = {};

beforeAll(async () => {
  setup.server = await startPostgresServer();
  setup.db = await createDb({ url: setup.server.url, retry: { maxAttempts: ATTEMPTS, initialDelayMs: 1, maxDelayMs: 5 }, onConnectionError: () => undefined });
  setup.rag = createRag(setup.db, { tenantId: 'outage', embedder: new LocalHashEmbedder() });
}, 60_000);

afterAll(async () => {
  await setup.rag?.close();
  await setup.db?.close();
  await setup.server?.destroy();
  uncaught.stop();
});

const query = new LocalHashEmbedder().embedSync('postgres vectors');

describe('a stopped PostgreSQL', () => {
  it('fails every call with StorageUnavailableError, and the same Rag works again after the restart', async () => {
    const { server, rag } = setup as Required<typeof setup>;
    const kb: PgVectorCollection = await rag.collection('kb', { batchSize: 2 });
    await kb.upsert([
      { id: 'pg', content: 'PostgreSQL stores vectors with pgvector' },
      { id: 'redis', content: 'Redis caches sessions' },
    ]);
    expect((await kb.search('postgres vectors', { k: 1 }))[0]!.id).toBe('pg');

    await server.stop();
    const calls: [string, () => Promise<unknown>][] = [
      ['upsert (one batch)', () => kb.upsert([{ id: 'new', content: 'written during the outage' }])],
      ['upsert (a transaction of batches)', () => kb.upsert(['a', 'b', 'c'].map((id) => ({ id, content: `document ${id}` })))],
      ['update', () => kb.update([{ id: 'pg', metadata: { checked: true } }])],
      ['delete', () => kb.delete(['redis'])],
      ['get', () => kb.get(['pg'])],
      ['list', () => kb.list()],
      ['count', () => kb.count()],
      ['search', () => kb.search('postgres vectors')],
      ['searchByVector', () => kb.searchByVector(query)],
      ['hybridSearch', () => kb.hybridSearch('postgres vectors')],
      ['explainSearch', () => kb.explainSearch(query)],
      ['listCollections', () => rag.listCollections()],
      ['listIndexes', () => rag.listIndexes()],
      ['createIndex', () => kb.createIndex({ type: 'ivfflat', lists: 1 })],
      ['dropIndex', () => rag.dropIndex('cairn_rag_anything')],
    ];
    // What each call settled with, by label: a result would show up as a mismatch, as would a raw driver error.
    const settled: Record<string, unknown> = {};
    for (const [label, call] of calls) settled[label] = await call().catch((e: unknown) => e);
    const unavailable = expect.objectContaining({ name: 'StorageUnavailableError', category: 'unavailable', attempts: ATTEMPTS });
    expect(settled).toEqual(Object.fromEntries(calls.map(([label]) => [label, unavailable])));
    for (const rebuildIndexes of [false, true]) {
      const error = await kb.upsertStream([{ id: 'streamed', content: 'streamed during the outage' }], { rebuildIndexes }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IngestError);
      expect(error).toMatchObject({ upserted: 0, category: 'unavailable' });
      expect((error as IngestError).cause).toBeInstanceOf(StorageUnavailableError);
    }

    await server.start();
    expect(await kb.upsert([{ id: 'after', content: 'PostgreSQL is back with its vectors' }])).toMatchObject({ inserted: 1 });
    expect((await kb.search('postgres vectors', { k: 3 })).map((h) => h.id).sort()).toEqual(['after', 'pg', 'redis']);
    expect(await rag.listCollections()).toMatchObject([{ name: 'kb', count: 3, settings: { dimensions: 384 } }]);
    expect(await uncaught.settle()).toEqual([]);
  });
});
