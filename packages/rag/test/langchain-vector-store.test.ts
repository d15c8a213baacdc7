// CairnVectorStore as LangChain code uses it: add, search with filters, retriever, MMR, delete.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Document } from '@langchain/core/documents';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { ValidationError } from '@cairn/core';
import { createRag, LocalHashEmbedder } from '../src/index.js';
import { CairnVectorStore, embedderFromLangChain, embedderToLangChain } from '../src/langchain.js';

describe('CairnVectorStore (LangChain)', () => {
  let db: CairnDb;
  const embeddings = embedderToLangChain(new LocalHashEmbedder());

  beforeAll(async () => {
    db = await createTestDb();
  });
  afterAll(async () => {
    await db?.close();
  });

  it('adds documents and finds them by similarity, with filters and scores', async () => {
    const store = await CairnVectorStore.initialize(embeddings, { db, collectionName: 'lc' });
    const ids = await store.addDocuments(
      [
        new Document({ pageContent: 'PostgreSQL with pgvector stores embeddings', metadata: { lang: 'en', year: 2024 } }),
        new Document({ pageContent: 'Redis is an in-memory cache', metadata: { lang: 'en', year: 2020 } }),
        new Document({ id: 'fixed-id', pageContent: 'pgvector ist eine Erweiterung für PostgreSQL', metadata: { lang: 'de', year: 2024 } }),
      ],
    );
    expect(ids).toHaveLength(3);
    expect(ids[2]).toBe('fixed-id');
    const [top] = await store.similaritySearchWithScore('pgvector embeddings', 1);
    expect(top![0].pageContent).toBe('PostgreSQL with pgvector stores embeddings');
    expect(top![0].id).toBe(ids[0]);
    expect(top![1]).toBeGreaterThan(0.3);
    const german = await store.similaritySearch('pgvector PostgreSQL', 5, { lang: 'de' });
    expect(german.map((d) => d.id)).toEqual(['fixed-id']);
    const recent = await store.similaritySearch('cache', 5, { year: { $gte: 2024 } });
    expect(recent.map((d): unknown => d.metadata['year'])).toEqual([2024, 2024]);
  });

  it('works as a retriever and with maximal marginal relevance', async () => {
    const store = await CairnVectorStore.fromTexts(
      ['cats purr', 'cats purr loudly', 'cats purr softly', 'dogs bark'],
      [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }],
      embeddings,
      { rag: createRag(db), collectionName: 'lc-mmr' },
    );
    const retrieved = await store.asRetriever({ k: 2, filter: { n: { $lte: 3 } } }).invoke('cats purr');
    expect(retrieved).toHaveLength(2);
    expect(retrieved[0]!.pageContent).toBe('cats purr');
    const diverse = await store.maxMarginalRelevanceSearch('cats purr', { k: 2, fetchK: 4, lambda: 0.1 }, undefined);
    expect(diverse.map((d) => d.pageContent)).toContain('dogs bark');
  });

  it('deletes by ids and by filter, and validates its arguments', async () => {
    const col = await createRag(db).collection('lc-del', { dimensions: 384 });
    const store = new CairnVectorStore(embeddings, { collection: col });
    await store.addVectors(
      [await embeddings.embedQuery('one'), await embeddings.embedQuery('two'), await embeddings.embedQuery('three')],
      [new Document({ pageContent: 'one', metadata: { keep: true } }), new Document({ pageContent: 'two', metadata: { keep: false } }), new Document({ pageContent: 'three', metadata: { keep: false } })],
      { ids: ['1', '2', '3'] },
    );
    await store.delete({ ids: ['1'] });
    await store.delete({ filter: { keep: false } });
    expect(await col.count()).toBe(0);
    await expect(store.delete({})).rejects.toBeInstanceOf(ValidationError);
    await expect(store.addVectors([[1]], [])).rejects.toBeInstanceOf(ValidationError);
  });

  it('runs end to end with 1536-dimension embeddings, taking the dimension from the embeddings (a probe) or their `dimensions`', async () => {
    // A stand-in for OpenAI's text-embedding-3-small: 1536 dimensions, deterministic, no network.
    let calls = 0;
    const hash = embedderToLangChain(new LocalHashEmbedder({ dimensions: 1536 }));
    const openaiLike = {
      embedDocuments: (texts: string[]) => ((calls += 1), hash.embedDocuments(texts)),
      embedQuery: (text: string) => ((calls += 1), hash.embedQuery(text)),
    };
    const store = await CairnVectorStore.initialize(openaiLike, { db, collectionName: 'lc-1536' });
    expect(calls).toBe(1);
    expect(store.collection.dimensions).toBe(1536);
    await store.addDocuments([
      new Document({ pageContent: 'PostgreSQL with pgvector stores embeddings', metadata: { lang: 'en' } }),
      new Document({ pageContent: 'Redis is an in-memory cache', metadata: { lang: 'en' } }),
      new Document({ pageContent: 'pgvector ist eine Erweiterung für PostgreSQL', metadata: { lang: 'de' } }),
    ]);
    const [top] = await store.similaritySearchWithScore('pgvector embeddings', 1);
    expect(top![0].pageContent).toBe('PostgreSQL with pgvector stores embeddings');
    expect((await store.similaritySearch('PostgreSQL', 3, { lang: 'de' })).map((d) => d.pageContent)).toEqual(['pgvector ist eine Erweiterung für PostgreSQL']);
    expect((await createRag(db).listIndexes()).map((i) => i.name)).toContain('cairn_rag_hnsw_cosine_half_1536');
    // Embeddings that declare their size are not probed.
    calls = 0;
    const declared = Object.assign(openaiLike, { dimensions: 1536 });
    const again = await CairnVectorStore.initialize(declared, { db, collectionName: 'lc-1536' });
    expect(calls).toBe(0);
    expect((await again.similaritySearch('in-memory cache', 1))[0]!.pageContent).toBe('Redis is an in-memory cache');
    // A 384-dimension model on the 1536 collection is refused at initialize.
    await expect(CairnVectorStore.initialize(embeddings, { db, collectionName: 'lc-1536' })).rejects.toMatchObject({
      code: 'COLLECTION_SETTINGS_CONFLICT',
      stored: { dimensions: 1536 },
      requested: { dimensions: 384 },
    });
  });

  it("takes PGVectorStore's filters and returns its raw distance when asked, or both numbers", async () => {
    const ported = await CairnVectorStore.fromTexts(
      ['postgres tuning', 'postgres backups', 'redis eviction', 'postgres replication'],
      [{ year: 2021, tags: ['db'] }, { year: 2023, tags: ['db', 'ops'] }, { year: 2024, tags: ['cache'] }, { year: 2025, tags: ['ops'] }],
      embeddings,
      { db, collectionName: 'lc-ported', filterSyntax: 'pgvectorstore', scoreNormalization: 'distance' },
    );
    const recent = await ported.similaritySearch('postgres', 5, { year: { gte: 2023, lt: 2025 } });
    expect(recent.map((d) => d.pageContent).sort()).toEqual(['postgres backups', 'redis eviction']);
    const tagged = await ported.similaritySearch('postgres', 5, { tags: { arrayContains: ['ops'] }, year: { neq: 2025 } });
    expect(tagged.map((d) => d.pageContent)).toEqual(['postgres backups']);
    const [[doc, distance]] = (await ported.similaritySearchWithScore('postgres tuning', 1)) as [[Document, number]];
    expect(doc.pageContent).toBe('postgres tuning');
    // PGVectorStore's default: the raw cosine distance, lower is closer (here the same text: 0).
    expect(distance).toBeCloseTo(0, 5);
    const [both] = await ported.similaritySearchVectorWithScoreAndDistance(await embeddings.embedQuery('postgres backups'), 1);
    expect(both!.score).toBeCloseTo(1 - both!.distance, 6);
    await ported.delete({ filter: { year: { lt: 2023 } } });
    expect(await ported.collection.count()).toBe(3);
  });

  it('bridges LangChain embeddings into Cairn collections', async () => {
    const embedder = embedderFromLangChain(embeddings, { dimensions: 384, id: 'lc-hash' });
    const col = await createRag(db, { embedder }).collection('lc-bridge');
    await col.upsert([{ id: 'a', content: 'bridged text' }]);
    expect((await col.search('bridged', { k: 1 }))[0]!.id).toBe('a');
  });
});
