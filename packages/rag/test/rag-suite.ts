// The behaviour every database @cairn/rag runs on must show: PostgreSQL 15 + pgvector and the
// embedded PGlite run this same suite (postgres.test.ts, pglite.test.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CairnDb } from '@cairn/db';
import { ClosedError, ValidationError } from '@cairn/core';
import {
  createRag,
  DimensionMismatchError,
  DocumentNotFoundError,
  EmbedderRequiredError,
  EmptyTextError,
  IngestError,
  InvalidFilterError,
  InvalidVectorError,
  LocalHashEmbedder,
  UnknownLanguageError,
  type DocumentInput,
  type Embedder,
  type MetadataFilter,
  type PgVectorCollection,
  type Rag,
} from '../src/index.js';
import { clusteredVectors, cosineSimilarity, dot, l2, normalize, rng } from './fixtures.js';

export interface SuiteTarget {
  name: string;
  open(): Promise<CairnDb>;
}

interface Meta {
  n: number;
  tag: string;
  tags: string[];
  author: { name: string; age: number };
  date: string;
  flag: boolean;
  title: string;
  optional?: null;
  extra?: string;
  rare?: boolean;
  [key: string]: unknown;
}

const TAGS = ['red', 'green', 'blue'];
const AUTHORS = ['Ann', 'Bo', 'Cy', 'Di'];

function metaFor(i: number): Meta {
  return {
    n: i,
    tag: TAGS[i % 3]!,
    tags: i % 4 === 0 ? ['a', 'b'] : ['b'],
    author: { name: AUTHORS[i % 4]!, age: 20 + (i % 50) },
    date: new Date(Date.UTC(2024, 0, 1 + i)).toISOString(),
    flag: i % 2 === 0,
    title: `doc ${i}`,
    ...(i % 5 === 0 ? { optional: null } : {}),
    ...(i % 7 === 0 ? { extra: 'x' } : {}),
    ...(i % 100 === 42 ? { rare: true } : {}),
  };
}

// Each filter with the predicate it must agree with.
const FILTER_CASES: [string, MetadataFilter, (m: Meta) => boolean][] = [
  ['equality', { tag: 'red' }, (m) => m.tag === 'red'],
  ['number equality', { n: 5 }, (m) => m.n === 5],
  ['boolean equality', { flag: false }, (m) => !m.flag],
  ['JSON null equality', { optional: null }, (m) => 'optional' in m && m.optional === null],
  ['$gt', { n: { $gt: 100 } }, (m) => m.n > 100],
  ['a range', { n: { $gte: 10, $lt: 20 } }, (m) => m.n >= 10 && m.n < 20],
  ['a dotted path', { 'author.name': 'Bo' }, (m) => m.author.name === 'Bo'],
  ['nested keys with an operator', { author: { name: 'Bo', age: { $lte: 30 } } }, (m) => m.author.name === 'Bo' && m.author.age <= 30],
  ['$in', { tag: { $in: ['red', 'blue'] } }, (m) => m.tag === 'red' || m.tag === 'blue'],
  ['$nin', { tag: { $nin: ['red'] } }, (m) => m.tag !== 'red'],
  ['$ne', { tag: { $ne: 'green' } }, (m) => m.tag !== 'green'],
  ['$ne on a key some documents lack', { extra: { $ne: 'x' } }, (m) => m.extra !== 'x'],
  ['$exists true (a JSON null counts)', { optional: { $exists: true } }, (m) => 'optional' in m],
  ['$exists false', { extra: { $exists: false } }, (m) => !('extra' in m)],
  ['$or', { $or: [{ tag: 'red' }, { n: { $lt: 5 } }] }, (m) => m.tag === 'red' || m.n < 5],
  ['$and with $not', { $and: [{ flag: true }, { $not: { tag: 'red' } }] }, (m) => m.flag && m.tag !== 'red'],
  ['$contains one', { tags: { $contains: 'a' } }, (m) => m.tags.includes('a')],
  ['$contains all', { tags: { $contains: ['a', 'b'] } }, (m) => m.tags.includes('a') && m.tags.includes('b')],
  ['a Date range', { date: { $gte: new Date(Date.UTC(2024, 1, 1)) } }, (m) => m.date >= new Date(Date.UTC(2024, 1, 1)).toISOString()],
  ['a string range', { title: { $gt: 'doc 5' } }, (m) => m.title > 'doc 5'],
  ['a range on a value of another JSON type', { tag: { $gt: 5 } }, () => false],
  ['several keys (AND)', { tag: 'red', flag: true, n: { $lt: 60 } }, (m) => m.tag === 'red' && m.flag && m.n < 60],
];

const HOSTILE_FILTERS: [string, unknown][] = [
  ['a key with SQL in it', { "a'; DROP TABLE documents; --": 1 }],
  ['a key closing a quote', { 'x") OR 1=1 --': 1 }],
  ['a key with a JSON operator', { "metadata->>'x'": 1 }],
  ['an empty path segment', { 'a..b': 1 }],
  ['a key of 65 characters', { ['k'.repeat(65)]: 1 }],
  ['an unknown top-level operator', { $where: 'sleep(10)' }],
  ['an unknown comparison operator', { a: { $regex: '.*' } }],
  ['an empty $or', { $or: [] }],
  ['an array as a value', { a: [1, 2] }],
  ['$in without an array', { a: { $in: 'x' } }],
  ['a boolean range bound', { a: { $gt: true } }],
  ['operators mixed with keys', { a: { b: 1, $eq: 2 } }],
  ['a non-object filter', 'tag = 1'],
  ['an object value that is not plain', { a: new Map() }],
];

export function describeRagSuite(target: SuiteTarget): void {
  describe(`@cairn/rag on ${target.name}`, () => {
    let db: CairnDb;
    let rag: Rag;
    let dims: number;
    const embedder = new LocalHashEmbedder();

    beforeAll(async () => {
      db = await target.open();
      rag = createRag(db, { embedder });
      dims = embedder.dimensions;
    });
    afterAll(async () => {
      await rag?.close();
      await db?.close();
    });

    describe('documents', () => {
      let docs: PgVectorCollection<Meta>;
      const N = 120;
      const data = () => {
        const { vectors } = clusteredVectors(N, dims, { clusters: 6, seed: 11 });
        return vectors.map((v, i) => ({ id: `doc-${String(i).padStart(3, '0')}`, content: `Document number ${i} about ${TAGS[i % 3]} things`, metadata: metaFor(i), embedding: v }));
      };

      beforeAll(async () => {
        docs = await rag.collection<Meta>('filters');
        const result = await docs.upsert(data());
        expect(result).toEqual({ upserted: N, inserted: N, updated: 0, unchanged: 0, embedded: 0 });
      });

      it('counts and reads back what it stored, in the order asked', async () => {
        expect(await docs.count()).toBe(N);
        const got = await docs.get(['doc-005', 'missing', 'doc-001'], { includeEmbedding: true });
        expect(got.map((d) => d.id)).toEqual(['doc-005', 'doc-001']);
        expect(got[0]!.metadata).toEqual(metaFor(5));
        expect(got[0]!.embedding).toHaveLength(dims);
        expect(got[0]!.createdAt).toBeInstanceOf(Date);
      });

      it('reports replaced documents as updated and keeps their creation time', async () => {
        const [before] = await docs.get(['doc-007']);
        const again = data()
          .slice(0, 10)
          .map((d) => ({ ...d, content: `${d.content} (revised)` }));
        expect(await docs.upsert(again)).toEqual({ upserted: 10, inserted: 0, updated: 10, unchanged: 0, embedded: 0 });
        const [after] = await docs.get(['doc-007']);
        expect(after!.content).toMatch(/\(revised\)$/);
        expect(after!.createdAt).toEqual(before!.createdAt);
        expect(after!.updatedAt.getTime()).toBeGreaterThanOrEqual(before!.updatedAt.getTime());
        await docs.upsert(data().slice(0, 10));
      });

      it('leaves identical documents as they are: no new row version, updated_at kept', async () => {
        const ids = ['doc-020', 'doc-021', 'doc-022'];
        const stored = await docs.get(ids);
        const version = async () => (await db.pool.query<{ id: string; ctid: string }>(`SELECT id, ctid::text AS ctid FROM documents WHERE collection = 'filters' AND id = ANY($1) ORDER BY id`, [ids])).rows;
        const before = await version();
        const same = data().slice(20, 23);
        // Metadata with its keys in another order is the same JSON document.
        same[0] = { ...same[0]!, metadata: Object.fromEntries(Object.entries(same[0]!.metadata).reverse()) as Meta };
        const changed = { ...data()[23]!, metadata: { ...metaFor(23), score: -1 } };
        expect(await docs.upsert([...same, changed])).toEqual({ upserted: 4, inserted: 0, updated: 1, unchanged: 3, embedded: 0 });
        expect(await version()).toEqual(before);
        expect((await docs.get(ids)).map((d) => d.updatedAt)).toEqual(stored.map((d) => d.updatedAt));
        expect((await docs.get(['doc-023']))[0]!.metadata.score).toBe(-1);
        // A changed embedding alone is a change.
        const moved = { ...data()[20]!, embedding: data()[21]!.embedding };
        expect(await docs.upsert([moved])).toMatchObject({ updated: 1, unchanged: 0 });
        await docs.upsert(data().slice(20, 24));
      });

      it.each(FILTER_CASES)('filters by %s exactly as the predicate says', async (_label, where, predicate) => {
        const expected = Array.from({ length: N }, (_, i) => i)
          .filter((i) => predicate(metaFor(i)))
          .map((i) => `doc-${String(i).padStart(3, '0')}`);
        expect(await docs.count({ where })).toBe(expected.length);
        const listed = await docs.list({ where, limit: 1000 });
        expect(listed.map((d) => d.id)).toEqual(expected);
      });

      it.each(HOSTILE_FILTERS)('refuses %s with InvalidFilterError and touches nothing', async (_label, where) => {
        await expect(docs.count({ where: where as MetadataFilter })).rejects.toBeInstanceOf(where === 'tag = 1' ? ValidationError : InvalidFilterError);
        await expect(docs.delete({ where: where as MetadataFilter })).rejects.toThrow();
        expect(await docs.count()).toBe(N);
      });

      it('lists every problem of a bad filter at once', async () => {
        const err = await docs.count({ where: { 'bad key': 1, ok: { $foo: 1 }, $or: [] } }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidFilterError);
        expect((err as InvalidFilterError).issues.map((i) => i.path).sort()).toEqual(['$or', 'bad key', 'ok.$foo']);
        expect((err as InvalidFilterError).code).toBe('INVALID_FILTER');
      });

      it('pages through a collection by id', async () => {
        const first = await docs.list({ limit: 50 });
        const second = await docs.list({ limit: 50, after: first.at(-1)!.id });
        const third = await docs.list({ limit: 50, after: second.at(-1)!.id });
        expect([...first, ...second, ...third].map((d) => d.id)).toEqual(data().map((d) => d.id));
      });

      it('searches exactly by cosine with scores equal to cosine similarity', async () => {
        const query = normalize(data()[3]!.embedding.map((x, i) => x + (i % 2 ? 0.05 : -0.05)));
        const expected = data()
          .map((d) => ({ id: d.id, score: cosineSimilarity(d.embedding, query) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, 10);
        const hits = await docs.searchByVector(query, { k: 10, exact: true });
        expect(hits.map((h) => h.id)).toEqual(expected.map((e) => e.id));
        hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 5));
        const indexed = await docs.searchByVector(query, { k: 10 });
        expect(indexed.map((h) => h.id)).toEqual(expected.map((e) => e.id));
      });

      it('searches with a filter and a minimum score', async () => {
        const query = data()[0]!.embedding;
        const hits = await docs.searchByVector(query, { k: 5, where: { tag: 'blue', flag: true } });
        expect(hits).toHaveLength(5);
        for (const h of hits) expect(h.metadata.tag === 'blue' && h.metadata.flag).toBe(true);
        const all = await docs.searchByVector(query, { k: 50, exact: true });
        const cut = all[20]!.score;
        const above = await docs.searchByVector(query, { k: 50, minScore: cut });
        expect(above.map((h) => h.id)).toEqual(all.filter((h) => h.score >= cut).map((h) => h.id));
        await expect(docs.searchByVector(query, { maxDistance: 0.5 })).rejects.toBeInstanceOf(InvalidFilterError);
      });

      it('returns k results for a filter matching 1% of the documents', async () => {
        const rare = await rag.collection<Meta>('rare');
        const R = 400;
        const { vectors } = clusteredVectors(R, dims, { clusters: 8, seed: 5 });
        await rare.upsert(vectors.map((v, i) => ({ id: `r${i}`, content: `rare ${i}`, metadata: metaFor(i), embedding: v })));
        const matching = Array.from({ length: R }, (_, i) => i).filter((i) => metaFor(i).rare);
        expect(matching).toHaveLength(R / 100);
        const query = vectors[1]!;
        const exact = await rare.searchByVector(query, { k: matching.length, where: { rare: true }, exact: true });
        const hits = await rare.searchByVector(query, { k: matching.length, where: { rare: true } });
        expect(hits).toHaveLength(matching.length);
        expect(hits.map((h) => h.id)).toEqual(exact.map((h) => h.id));
      });

      it('deletes by id and by filter, and clear() empties only this collection', async () => {
        const scratch = await rag.collection<Meta>('scratch');
        await scratch.upsert(data().slice(0, 30));
        expect(await scratch.delete(['doc-000', 'doc-001', 'nope'])).toBe(2);
        expect(await scratch.delete({ where: { tag: 'red' } })).toBe(9);
        await expect(scratch.delete({ where: {} })).rejects.toBeInstanceOf(InvalidFilterError);
        expect(await scratch.count()).toBe(19);
        expect(await scratch.clear()).toBe(19);
        expect(await scratch.count()).toBe(0);
        expect(await docs.count()).toBe(N);
      });

      it('keeps tenants apart', async () => {
        const other = await rag.forTenant('tenant-b').collection<Meta>('filters');
        expect(await other.count()).toBe(0);
        await other.upsert([{ id: 'doc-000', content: 'tenant b', embedding: data()[0]!.embedding, metadata: metaFor(0) }]);
        expect((await other.get(['doc-000']))[0]!.content).toBe('tenant b');
        expect((await docs.get(['doc-000']))[0]!.content).not.toBe('tenant b');
        expect((await rag.forTenant('tenant-b').listCollections()).map((c) => c.name)).toEqual(['filters']);
      });
    });

    describe('writes that must not happen', () => {
      let col: PgVectorCollection;
      const good = (id: string, v: number[]): DocumentInput => ({ id, content: `text ${id}`, embedding: v });

      beforeAll(async () => {
        col = await rag.collection('guarded', { batchSize: 2 });
        await col.upsert([good('keep', normalize(Array.from({ length: dims }, (_, i) => i + 1)))]);
      });

      const unit = () => normalize(Array.from({ length: dims }, (_, i) => (i % 3) - 1));
      const cases: [string, () => DocumentInput, new (...args: never[]) => Error][] = [
        ['a vector of the wrong dimension', () => good('bad', [1, 2, 3]), DimensionMismatchError],
        ['NaN in a vector', () => good('bad', unit().map((x, i) => (i === 7 ? Number.NaN : x))), InvalidVectorError],
        ['Infinity in a vector', () => good('bad', unit().map((x, i) => (i === 3 ? Number.POSITIVE_INFINITY : x))), InvalidVectorError],
        ['a value beyond float4', () => good('bad', unit().map((x, i) => (i === 3 ? 1e39 : x))), InvalidVectorError],
        ['a zero vector under cosine', () => good('bad', new Array<number>(dims).fill(0)), InvalidVectorError],
        ['empty text', () => ({ ...good('bad', unit()), content: '   ' }), EmptyTextError],
        ['a NUL character in the text', () => ({ ...good('bad', unit()), content: 'a\u0000b' }), ValidationError],
        ['a NUL character in metadata', () => ({ ...good('bad', unit()), metadata: { k: 'a\u0000' } }), ValidationError],
        ['metadata that is not JSON', () => ({ ...good('bad', unit()), metadata: { when: new Date() } }), ValidationError],
        ['an empty id', () => good('', unit()), ValidationError],
      ];

      it.each(cases)('refuses a batch with %s and writes none of it', async (_label, bad, type) => {
        const batch = [good('ok-1', unit()), good('ok-2', unit()), good('ok-3', unit()), bad()];
        await expect(col.upsert(batch)).rejects.toBeInstanceOf(type);
        expect((await col.list()).map((d) => d.id)).toEqual(['keep']);
      });

      it('rolls back every batch when the database refuses one', async () => {
        // Valid input that PostgreSQL itself refuses, in the second batch: this test's own trigger
        // rejects one row (the input rules leave no value of rag's own that PostgreSQL would refuse).
        await db.pool.query(
          `CREATE FUNCTION test_refuse_ok_4() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
            `IF NEW.collection = 'guarded' AND NEW.id = 'ok-4' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$`,
        );
        await db.pool.query(`CREATE TRIGGER test_refuse_ok_4 BEFORE INSERT OR UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION test_refuse_ok_4()`);
        try {
          const batch = [good('ok-1', unit()), good('ok-2', unit()), good('ok-3', unit()), good('ok-4', unit())];
          await expect(col.upsert(batch)).rejects.toThrow(/refused by the test trigger/);
          expect((await col.list()).map((d) => d.id)).toEqual(['keep']);
        } finally {
          await db.pool.query(`DROP TRIGGER test_refuse_ok_4 ON documents`);
          await db.pool.query(`DROP FUNCTION test_refuse_ok_4()`);
        }
      });

      it('refuses to search with a bad vector or empty text', async () => {
        await expect(col.searchByVector([1, 2])).rejects.toBeInstanceOf(DimensionMismatchError);
        await expect(col.searchByVector(unit().map(() => Number.NaN))).rejects.toBeInstanceOf(InvalidVectorError);
        await expect(col.search('  ')).rejects.toBeInstanceOf(EmptyTextError);
        await expect(col.hybridSearch('')).rejects.toBeInstanceOf(EmptyTextError);
      });

      it('refuses updates of missing documents and changes nothing', async () => {
        const err = await col.update([{ id: 'keep', metadata: { x: 1 } }, { id: 'ghost', metadata: { x: 1 } }]).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DocumentNotFoundError);
        expect((err as DocumentNotFoundError).ids).toEqual(['ghost']);
        expect((await col.get(['keep']))[0]!.metadata).toEqual({});
      });

      it('needs an embedder for text without vectors', async () => {
        const bare = await createRag(db).collection('bare', { dimensions: dims });
        await expect(bare.upsert([{ id: 'a', content: 'no vector' }])).rejects.toBeInstanceOf(EmbedderRequiredError);
        await expect(bare.search('anything')).rejects.toBeInstanceOf(EmbedderRequiredError);
        expect(await bare.count()).toBe(0);
      });

      it('refuses a dimension other than the one the collection registered, and an embedder of another size', async () => {
        const bare = createRag(db);
        await bare.collection('wide', { dimensions: 48 });
        await expect(bare.collection('wide', { dimensions: 64 })).rejects.toMatchObject({ code: 'COLLECTION_SETTINGS_CONFLICT', stored: { dimensions: 48 }, requested: { dimensions: 64 } });
        const err = await bare.collection('wide', { embedder: new LocalHashEmbedder({ dimensions: 64 }) }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DimensionMismatchError);
        expect(err).toMatchObject({ expected: 48, actual: 64 });
        expect((err as Error).message).toContain('holds 48-dimensional vectors');
      });

      it('refuses an unknown text search language', async () => {
        await expect(rag.collection('x', { language: 'klingon' })).rejects.toBeInstanceOf(UnknownLanguageError);
      });

      it('refuses collection names and tenant ids outside the pattern', async () => {
        await expect(rag.collection("x'; DROP TABLE documents; --")).rejects.toBeInstanceOf(ValidationError);
        expect(() => rag.forTenant('')).toThrow(ValidationError);
      });
    });

    describe('metrics', () => {
      const M = 40;
      it.each([
        ['cosine', (a: number[], b: number[]) => cosineSimilarity(a, b), true],
        ['l2', (a: number[], b: number[]) => l2(a, b), false],
        ['inner_product', (a: number[], b: number[]) => dot(a, b), true],
      ] as const)('ranks and scores by %s', async (metric, score, higherIsBetter) => {
        // No index ensured: l2 and inner-product indexes for 384 dimensions would take every later
        // 384-dimension row of this suite into two more HNSW graphs (see the README, indexes per dimension).
        const col = await rag.collection(`metric-${metric}`, { metric, vectorIndex: false });
        const random = rng(3);
        // Not normalised, so the three metrics disagree.
        const vectors = Array.from({ length: M }, () => Array.from({ length: dims }, () => random() * 2 - 0.5));
        await col.upsert(vectors.map((v, i) => ({ id: `m${i}`, content: `m ${i}`, embedding: v })));
        const query = Array.from({ length: dims }, () => random() - 0.3);
        const expected = vectors
          .map((v, i) => ({ id: `m${i}`, s: score(v, query) }))
          .sort((a, b) => (higherIsBetter ? b.s - a.s : a.s - b.s))
          .slice(0, 8);
        const hits = await col.searchByVector(query, { k: 8 });
        expect(hits.map((h) => h.id)).toEqual(expected.map((e) => e.id));
        hits.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.s, 3));
        if (metric === 'l2') {
          const near = await col.searchByVector(query, { k: 8, maxDistance: hits[3]!.score });
          expect(near.map((h) => h.id)).toEqual(expected.slice(0, 4).map((e) => e.id));
          await expect(col.searchByVector(query, { minScore: 1 })).rejects.toBeInstanceOf(InvalidFilterError);
        }
      });
    });

    describe('hybrid search', () => {
      let col: PgVectorCollection<{ lang: string }>;
      const q = () => normalize(Array.from({ length: dims }, (_, i) => Math.sin(i + 1)));
      const away = (seed: number) => normalize(Array.from({ length: dims }, (_, i) => Math.cos(i * seed + seed)));

      beforeAll(async () => {
        col = await rag.collection<{ lang: string }>('hybrid', { language: 'english' });
        const query = q();
        await col.upsert([
          { id: 'text-only', content: 'PostgreSQL vector search with pgvector', metadata: { lang: 'en' }, embedding: away(3) },
          { id: 'vector-only', content: 'Gardening tips for tomatoes', metadata: { lang: 'en' }, embedding: query },
          { id: 'both', content: 'pgvector turns PostgreSQL into a vector database', metadata: { lang: 'en' }, embedding: normalize(query.map((x, i) => x + 0.3 * Math.cos(i))) },
          { id: 'other-lang', content: 'pgvector und PostgreSQL', metadata: { lang: 'de' }, embedding: normalize(query.map((x, i) => x + 0.2 * Math.sin(i * 7))) },
          ...Array.from({ length: 20 }, (_, i) => ({ id: `filler-${i}`, content: `Unrelated note ${i} about cooking`, metadata: { lang: 'en' }, embedding: away(10 + i) })),
        ]);
      });

      it('ranks a document found by both searches first and scores by weighted RRF', async () => {
        const hits = await col.hybridSearch('pgvector postgresql', { vector: q(), k: 5, where: { lang: 'en' } });
        expect(hits[0]!.id).toBe('both');
        expect(hits.map((h) => h.id)).toEqual(expect.arrayContaining(['both', 'text-only', 'vector-only']));
        for (const h of hits) {
          const expected = (h.vectorRank ? 1 / (60 + h.vectorRank) : 0) + (h.textRank ? 1 / (60 + h.textRank) : 0);
          expect(h.score).toBeCloseTo(expected, 10);
        }
        const vectorOnly = hits.find((h) => h.id === 'vector-only')!;
        expect(vectorOnly.vectorRank).toBe(1);
        expect(vectorOnly.textRank).toBeNull();
        expect(vectorOnly.vectorScore).toBeCloseTo(1, 5);
        expect(hits.some((h) => h.id === 'other-lang')).toBe(false);
      });

      it('follows the weights and the RRF constant', async () => {
        const vectorFirst = await col.hybridSearch('pgvector postgresql', { vector: q(), k: 3, weights: { vector: 1, text: 0 }, where: { lang: 'en' } });
        expect(vectorFirst.map((h) => h.id)).toEqual(['vector-only', 'both', expect.any(String)]);
        expect(vectorFirst.every((h) => h.textRank === null)).toBe(true);
        const textOnly = await createRag(db).collection('hybrid').then((c) => c.hybridSearch('pgvector postgresql', { k: 5, weights: { vector: 0, text: 1 }, where: { lang: 'en' } }));
        expect(textOnly.map((h) => h.id).sort()).toEqual(['both', 'text-only']);
        const weighted = await col.hybridSearch('pgvector postgresql', { vector: q(), k: 5, rrfK: 10, weights: { vector: 2, text: 0.5 } });
        for (const h of weighted) {
          expect(h.score).toBeCloseTo((h.vectorRank ? 2 / (10 + h.vectorRank) : 0) + (h.textRank ? 0.5 / (10 + h.textRank) : 0), 10);
        }
      });

      it('searches text in the collection language (stemming) and embeds the query when no vector is given', async () => {
        const english = await col.hybridSearch('databases', { k: 3, weights: { vector: 0, text: 1 } });
        expect(english.map((h) => h.id)).toEqual(['both']);
        const simple = await rag.collection('hybrid-simple', { language: 'simple' });
        await simple.upsert([{ id: 'a', content: 'one vector database' }]);
        expect(await simple.hybridSearch('databases', { k: 3, weights: { vector: 0, text: 1 } })).toEqual([]);
        const embedded = await simple.hybridSearch('vector database', { k: 3 });
        expect(embedded[0]).toMatchObject({ id: 'a', vectorRank: 1, textRank: 1 });
      });

      it('follows content changes in both the text and the vector index', async () => {
        const live = await rag.collection('hybrid-live');
        await live.upsert([{ id: 'a', content: 'apples and pears' }, { id: 'b', content: 'cherries' }]);
        expect(await live.update([{ id: 'b', content: 'bananas and mangoes', metadata: { fruit: true } }])).toBe(1);
        const hits = await live.hybridSearch('bananas', { k: 1 });
        expect(hits[0]).toMatchObject({ id: 'b', vectorRank: 1, textRank: 1, metadata: { fruit: true } });
        await live.update([{ id: 'b', metadata: { ripe: true } }], { mergeMetadata: true });
        expect((await live.get(['b']))[0]!.metadata).toEqual({ fruit: true, ripe: true });
      });
    });

    describe('re-ingesting unchanged documents', () => {
      /** The suite's embedder under another id, counting the texts it is asked to embed. */
      const counting = (id: string) => {
        const texts: string[] = [];
        const wrapped: Embedder = {
          dimensions: embedder.dimensions,
          id,
          embedDocuments: (t) => {
            texts.push(...t);
            return embedder.embedDocuments(t);
          },
          embedQuery: (t) => embedder.embedQuery(t),
        };
        return { embedder: wrapped, texts };
      };
      const corpus = () => Array.from({ length: 6 }, (_, i) => ({ id: `r${i}`, content: `reusable document ${i} about ${TAGS[i % 3]}`, metadata: { i } }));

      it('embeds only new or changed content; identical documents are not rewritten', async () => {
        const v1 = counting('counting@1');
        const col = await rag.collection('reuse', { embedder: v1.embedder });
        expect(await col.upsert(corpus())).toEqual({ upserted: 6, inserted: 6, updated: 0, unchanged: 0, embedded: 6 });
        const before = await col.get(['r0', 'r1'], { includeEmbedding: true });

        const next = corpus();
        next[1] = { ...next[1]!, metadata: { i: 100 } };
        next[2] = { ...next[2]!, content: 'reusable document 2, rewritten' };
        v1.texts.length = 0;
        expect(await col.upsert(next)).toEqual({ upserted: 6, inserted: 0, updated: 2, unchanged: 4, embedded: 1 });
        expect(v1.texts).toEqual(['reusable document 2, rewritten']);
        const after = await col.get(['r0', 'r1'], { includeEmbedding: true });
        expect(after.map((d) => d.embedding)).toEqual(before.map((d) => d.embedding));
        expect(after[0]!.updatedAt).toEqual(before[0]!.updatedAt);
        expect(after[1]!.metadata).toEqual({ i: 100 });

        // Another embedder (another id) does not trust vectors it did not compute.
        const v2 = counting('counting@2');
        const col2 = await rag.collection('reuse', { embedder: v2.embedder });
        expect(await col2.upsert(next)).toMatchObject({ updated: 6, unchanged: 0, embedded: 6 });
        expect(v2.texts).toHaveLength(6);
        // …and asking not to reuse re-embeds (the vectors being equal, nothing is rewritten).
        v2.texts.length = 0;
        expect(await col2.upsert(next, { reuseEmbeddings: false })).toMatchObject({ unchanged: 6, embedded: 6 });
        expect(v2.texts).toHaveLength(6);
        // A vector given by the caller carries no embedder: the next upsert without one embeds again.
        await col2.upsert([{ ...next[0]!, embedding: before[0]!.embedding! }]);
        v2.texts.length = 0;
        expect(await col2.upsert([next[0]!])).toMatchObject({ updated: 1, embedded: 1 });
        // update() records the embedder it used, so its content is reusable too.
        await col2.update([{ id: 'r3', content: 'reusable document 3, updated' }]);
        v2.texts.length = 0;
        expect(await col2.upsert([{ ...next[3]!, content: 'reusable document 3, updated' }])).toMatchObject({ unchanged: 1, embedded: 0 });
        expect(v2.texts).toEqual([]);
        await expect(col2.upsert(next, { reuseEmbeddings: 'yes' } as never)).rejects.toBeInstanceOf(ValidationError);
      });

      it('reuses stored vectors in a streaming ingest and inside a bulk load', async () => {
        const v1 = counting('counting@stream');
        const col = await rag.collection('reuse-stream', { embedder: v1.embedder });
        await col.upsertStream(corpus(), { batchSize: 2 });
        v1.texts.length = 0;
        expect(await col.upsertStream(corpus(), { batchSize: 2 })).toMatchObject({ upserted: 6, unchanged: 6, embedded: 0 });
        // In a bulk load the dropped indexes lock the table: the lookup must go through its transaction.
        const changed = corpus().map((d, i) => (i === 5 ? { ...d, content: 'changed in bulk' } : d));
        expect(await col.upsertStream(changed, { batchSize: 2, rebuildIndexes: true })).toMatchObject({ upserted: 6, updated: 1, unchanged: 5, embedded: 1 });
        expect(v1.texts).toEqual(['changed in bulk']);
      });
    });

    describe('streaming ingest', () => {
      it('ingests an async source in bounded memory with progress', async () => {
        const col = await rag.collection('stream');
        const total = 600;
        const batchSize = 50;
        let pulled = 0;
        let committed = 0;
        let maxOutstanding = 0;
        const progress: number[] = [];
        async function* source() {
          for (let i = 0; i < total; i++) {
            pulled++;
            maxOutstanding = Math.max(maxOutstanding, pulled - committed);
            yield { id: `s${i}`, content: `streamed document ${i} about ${TAGS[i % 3]}` };
          }
        }
        const result = await col.upsertStream(source(), {
          batchSize,
          concurrency: 2,
          onProgress: (p) => {
            committed = p.upserted;
            progress.push(p.upserted);
          },
        });
        expect(result).toMatchObject({ upserted: total, inserted: total, batches: total / batchSize });
        expect(progress).toHaveLength(total / batchSize);
        expect(progress.at(-1)).toBe(total);
        // In flight at most `concurrency` batches plus the one being filled.
        expect(maxOutstanding).toBeLessThanOrEqual(3 * batchSize);
        expect(await col.count()).toBe(total);
      });

      it('bulk-loads with rebuildIndexes: indexes dropped and re-created unchanged, the last version of a repeated id wins', async () => {
        const col = await rag.collection('bulk');
        await col.upsert([{ id: 'old', content: 'already here before the load' }]);
        const before = (await rag.listIndexes()).map((i) => i.definition).sort();
        expect(before.length).toBeGreaterThan(0);
        const progress: number[] = [];
        function* source() {
          for (let i = 0; i < 120; i++) yield { id: `k${i}`, content: `bulk document ${i} about ${TAGS[i % 3]}`, metadata: { i } };
          yield { id: 'k7', content: 'the second version of seven', metadata: { i: 7, version: 2 } };
        }
        const result = await col.upsertStream(source(), { batchSize: 25, concurrency: 2, rebuildIndexes: true, maintenanceWorkMem: '64MB', onProgress: (p) => progress.push(p.upserted) });
        expect(result).toMatchObject({ upserted: 121, batches: 5 });
        expect(progress.at(-1)).toBe(121);
        expect(await col.count()).toBe(121);
        expect((await col.get(['k7']))[0]).toMatchObject({ content: 'the second version of seven', metadata: { i: 7, version: 2 } });
        const after = await rag.listIndexes();
        expect(after.map((i) => i.definition).sort()).toEqual(before);
        expect(after.every((i) => i.valid)).toBe(true);
        const hits = await col.search('the second version of seven', { k: 1 });
        expect(hits[0]!.id).toBe('k7');
      });

      it('rolls a failed bulk load back whole, indexes included', async () => {
        const col = await rag.collection('bulk-bad');
        await col.upsert([{ id: 'keep', content: 'kept through the failed load' }]);
        const before = (await rag.listIndexes()).map((i) => i.definition).sort();
        function* source() {
          for (let i = 0; i < 60; i++) yield { id: `x${i}`, content: i === 45 ? '' : `doc ${i}` };
        }
        const err = await col.upsertStream(source(), { batchSize: 10, concurrency: 1, rebuildIndexes: true }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IngestError);
        expect((err as IngestError).cause).toBeInstanceOf(EmptyTextError);
        expect((err as IngestError).upserted).toBe(0);
        expect(await col.count()).toBe(1);
        expect((await rag.listIndexes()).map((i) => i.definition).sort()).toEqual(before);
        await expect(col.upsertStream([], { maintenanceWorkMem: '64MB' })).rejects.toBeInstanceOf(ValidationError);
      });

      it('stops at a bad document, keeping the committed batches and reporting them', async () => {
        const col = await rag.collection('stream-bad');
        function* source() {
          for (let i = 0; i < 100; i++) yield { id: `b${i}`, content: i === 55 ? '' : `doc ${i}` };
        }
        const err = await col.upsertStream(source(), { batchSize: 10, concurrency: 1 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IngestError);
        expect((err as IngestError).cause).toBeInstanceOf(EmptyTextError);
        expect((err as IngestError).upserted).toBe(50);
        expect(await col.count()).toBe(50);
      });
    });

    it('refuses to work once closed', async () => {
      const own = createRag(db, { embedder });
      const col = await own.collection('closing');
      await own.close();
      await expect(col.count()).rejects.toBeInstanceOf(ClosedError);
      await expect(own.collection('x')).rejects.toBeInstanceOf(ClosedError);
    });
  });
}
