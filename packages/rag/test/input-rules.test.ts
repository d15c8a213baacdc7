// The input rules on real PostgreSQL: ids, tenant ids, collection names, content, metadata, search
// texts and filter values that the driver would change or PostgreSQL would refuse are typed errors
// raised before the database; content too long for the text index is refused, or stored without
// one (longDocuments); and a seeded fuzz of the public write API finds only exact round trips or
// typed input errors (never a driver error, never a RangeError).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FULL_TEXT_MAX_BYTES, ValidationError } from '@cairn/core';
import { fuzzRoundTrips, hostileId, hostileJson, hostileKey, hostileString, jsonEqual, objectFromEntries, rejection } from '@cairn/core/testing';
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import { createRag, InvalidFilterError, LocalHashEmbedder, type Metadata, type MetadataFilter, type PgVectorCollection, type Rag } from '../src/index.js';
import { normalize } from './fixtures.js';

let db: CairnDb;
let rag: Rag;
let dims: number;
const embedder = new LocalHashEmbedder();

beforeAll(async () => {
  db = await createTestDb();
  rag = createRag(db, { embedder });
  dims = embedder.dimensions;
});
afterAll(async () => {
  await rag?.close();
  await db?.close();
});

/** A unit vector, different for each seed. */
function vector(seed: number): number[] {
  return normalize(Array.from({ length: dims }, (_, i) => Math.sin(seed * 7.3 + i) + (i === seed % dims ? 3 : 0)));
}

/** More distinct words than a tsvector holds: to_tsvector fails on this with `54000 string is too long for tsvector`. */
function overOneMegabyte(): string {
  return Array.from({ length: 300_000 }, (_, i) => `w${i.toString(36)}`).join(' ');
}

describe('lone surrogates', () => {
  it('are sent by node-postgres as U+FFFD, so two such ids are one key to PostgreSQL', async () => {
    // Why the rule exists: if this ever stops being true, the refusal below is still right, but say so.
    const { rows } = await db.pool.query<{ same: boolean }>('SELECT $1::text = $2::text AS same', ['doc\uD800', 'doc\uDBFF']);
    expect(rows[0]!.same).toBe(true);
  });

  it('in document ids are refused, so doc\\uD800 and doc\\uDBFF can never be one document', async () => {
    const col = await rag.collection('alias');
    for (const id of ['doc\uD800', 'doc\uDBFF', '\uDC00doc']) {
      const error = (await rejection(col.upsert([{ id, content: 'first', embedding: vector(1) }]))) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues).toEqual([{ path: '[0].id', message: expect.stringMatching(/lone surrogate/) }]);
      await expect(col.get([id])).rejects.toBeInstanceOf(ValidationError);
      await expect(col.update([{ id, content: 'second' }])).rejects.toBeInstanceOf(ValidationError);
      await expect(col.delete([id])).rejects.toBeInstanceOf(ValidationError);
      await expect(col.list({ after: id })).rejects.toBeInstanceOf(ValidationError);
    }
    expect(await col.count()).toBe(0);
    // The same characters as a well-formed pair are an ordinary id, distinct from U+FFFD.
    await col.upsert([
      { id: 'doc\uD800\uDC00', content: 'pair', embedding: vector(2) },
      { id: 'doc\uFFFD', content: 'replacement character', embedding: vector(3) },
    ]);
    expect((await col.get(['doc\uD800\uDC00'])).map((d) => d.content)).toEqual(['pair']);
    expect((await col.list()).map((d) => d.id).sort()).toEqual(['doc\uD800\uDC00', 'doc\uFFFD'].sort());
  });

  it('in tenant ids and collection names are refused, so one tenant can never read another’s documents', async () => {
    for (const tenantId of ['tenant\uD800', 'tenant\uDBFF']) {
      expect(() => createRag(db, { tenantId })).toThrow(ValidationError);
      expect(() => rag.forTenant(tenantId)).toThrow(/lone surrogate/);
    }
    await expect(rag.collection('notes\uD800')).rejects.toBeInstanceOf(ValidationError);
    // Core's tenant rule accepts `@` (rag's own pattern refused it), and so do collection names.
    const mailbox = await rag.forTenant('ann@example.com').collection('inbox@2024');
    await mailbox.upsert([{ id: 'm1', content: 'hello', embedding: vector(4) }]);
    expect((await mailbox.get(['m1']))[0]!.content).toBe('hello');
    expect(await rag.forTenant('ann@example.com').listCollections()).toMatchObject([{ name: 'inbox@2024', count: 1, settings: { dimensions: dims } }]);
  });

  it('in metadata are a ValidationError naming the path (PostgreSQL would answer 22P02)', async () => {
    const col = await rag.collection('surrogate-metadata');
    const error = (await rejection(col.upsert([{ id: 'a', content: 'x', metadata: { note: 'x\uD800' }, embedding: vector(5) }]))) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues).toEqual([{ path: '[0].metadata.note', message: expect.stringMatching(/lone surrogate/) }]);
    await expect(col.upsert([{ id: 'a', content: 'x', metadata: { ['k\uDBFF']: 1 }, embedding: vector(5) }])).rejects.toBeInstanceOf(ValidationError);
    expect(await col.count()).toBe(0);
  });
});

describe('ids over the byte bound', () => {
  it('refuses ids over 512 UTF-8 bytes even when they are under 512 characters, and keeps one at the bound', async () => {
    const col = await rag.collection('wide-ids');
    const wide = '東'.repeat(200); // 200 characters, 600 bytes
    const error = (await rejection(col.upsert([{ id: wide, content: 'x', embedding: vector(6) }]))) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues).toEqual([{ path: '[0].id', message: expect.stringMatching(/at most 512 bytes in UTF-8 \(is 600\)/) }]);
    await expect(col.get([wide])).rejects.toBeInstanceOf(ValidationError);
    await expect(col.update([{ id: wide, metadata: {} }])).rejects.toBeInstanceOf(ValidationError);
    await expect(col.delete([wide])).rejects.toBeInstanceOf(ValidationError);
    const full = '東'.repeat(170) + 'ab'; // 512 bytes
    await col.upsert([{ id: full, content: 'at the bound', embedding: vector(7) }]);
    expect((await col.get([full]))[0]!.content).toBe('at the bound');
    expect(await col.update([{ id: full, metadata: { ok: true } }])).toBe(1);
    expect(await col.delete([full])).toBe(1);
  });
});

describe('NUL characters', () => {
  let col: PgVectorCollection;
  beforeAll(async () => {
    col = await rag.collection('nul');
    await col.upsert([{ id: 'keep', content: 'kept text about databases', metadata: { tag: 'a', tags: ['x'] }, embedding: vector(8) }]);
  });

  it('in content and metadata are refused before anything is written', async () => {
    const cases: [unknown, string][] = [
      [{ id: 'b', content: 'a\u0000b', embedding: vector(9) }, '[0].content'],
      [{ id: 'b', content: 'ok', metadata: { k: 'a\u0000' }, embedding: vector(9) }, '[0].metadata.k'],
      [{ id: 'b', content: 'ok', metadata: { list: [1, '\u0000'] }, embedding: vector(9) }, '[0].metadata.list[1]'],
    ];
    for (const [doc, path] of cases) {
      const error = (await rejection(col.upsert([doc as never]))) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues).toEqual([{ path, message: expect.stringMatching(/NUL/) }]);
    }
    await expect(col.upsert([{ id: 'b', content: 'ok', metadata: { ['k\u0000']: 1 }, embedding: vector(9) }])).rejects.toThrow(/NUL/);
    await expect(col.update([{ id: 'keep', content: 'x\u0000' }])).rejects.toBeInstanceOf(ValidationError);
    await expect(col.update([{ id: 'keep', metadata: { tag: '\u0000' } }], { mergeMetadata: true })).rejects.toBeInstanceOf(ValidationError);
    expect(await col.list()).toEqual([expect.objectContaining({ id: 'keep', content: 'kept text about databases', metadata: { tag: 'a', tags: ['x'] } })]);
  });

  it('in search texts are a ValidationError (PostgreSQL would answer 22021), and so are lone surrogates', async () => {
    for (const text of ['data\u0000bases', 'data\uD800']) {
      const hybrid = await rejection(col.hybridSearch(text, { weights: { vector: 0, text: 1 } }));
      expect(hybrid).toBeInstanceOf(ValidationError);
      expect((hybrid as ValidationError).issues[0]!.message).toMatch(/NUL|lone surrogate/);
      await expect(col.hybridSearch(text)).rejects.toBeInstanceOf(ValidationError);
      await expect(col.search(text)).rejects.toBeInstanceOf(ValidationError);
    }
    expect((await col.hybridSearch('databases', { weights: { vector: 0, text: 1 } })).map((h) => h.id)).toEqual(['keep']);
  });

  it('in filter values are an InvalidFilterError naming the path, never a driver error', async () => {
    const cases: [MetadataFilter, string, RegExp][] = [
      [{ tag: 'a\u0000' }, 'tag', /NUL/],
      [{ tag: { $eq: '\uDC00' } }, 'tag.$eq', /lone surrogate/],
      [{ tag: { $in: ['a', 'b\u0000'] } }, 'tag.$in[1]', /NUL/],
      [{ tags: { $contains: 'x\uD800' } }, 'tags.$contains', /lone surrogate/],
      [{ tags: { $contains: ['x', '\u0000'] } }, 'tags.$contains[1]', /NUL/],
      [{ $or: [{ tag: 'a' }, { tag: { $gte: 'a\u0000' } }] }, '$or[1].tag.$gte', /NUL/],
    ];
    for (const [where, path, message] of cases) {
      for (const call of [() => col.list({ where }), () => col.count({ where }), () => col.searchByVector(vector(8), { where }), () => col.delete({ where })]) {
        const error = (await rejection(call())) as InvalidFilterError;
        expect(error).toBeInstanceOf(InvalidFilterError);
        expect(error.category).toBe('invalid_input');
        expect(error.issues).toEqual([{ path, message: expect.stringMatching(message) }]);
      }
    }
    expect(await col.count()).toBe(1);
  });
});

describe('nesting', () => {
  it('refuses metadata nested 10,000 levels deep with a ValidationError naming where, never a RangeError', async () => {
    const col = await rag.collection('deep');
    await col.upsert([{ id: 'a', content: 'shallow', metadata: { depth: 1 }, embedding: vector(10) }]);
    let deepObject: unknown = 1;
    for (let i = 0; i < 10_000; i += 1) deepObject = { d: deepObject };
    let deepArray: unknown = 'leaf';
    for (let i = 0; i < 10_000; i += 1) deepArray = [deepArray];
    for (const deep of [deepObject, deepArray]) {
      const error = (await rejection(col.upsert([{ id: 'b', content: 'deep', metadata: { deep }, embedding: vector(11) }]))) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues[0]!.message).toMatch(/nested deeper than 256 levels/);
      await expect(col.update([{ id: 'a', metadata: { deep } }])).rejects.toBeInstanceOf(ValidationError);
    }
    let deepFilter: MetadataFilter = { depth: 1 };
    for (let i = 0; i < 10_000; i += 1) deepFilter = { $not: deepFilter };
    await expect(col.list({ where: deepFilter })).rejects.toThrow(/nested more than 10 levels/);
    // 200 levels are stored and read back exactly.
    let chain: unknown = 'bottom';
    for (let i = 0; i < 200; i += 1) chain = { d: chain };
    expect(await col.update([{ id: 'a', metadata: { chain } }])).toBe(1);
    expect((await col.get(['a']))[0]!.metadata).toEqual({ chain });
  });
});

describe('__proto__ and other special keys in metadata', () => {
  it('refuses an own __proto__ key instead of dropping it, and keeps constructor and prototype exactly', async () => {
    const col = await rag.collection('proto');
    const proto = JSON.parse('{"__proto__":{"admin":true},"other":1}') as Metadata;
    const error = (await rejection(col.upsert([{ id: 'p', content: 'x', metadata: proto, embedding: vector(12) }]))) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues).toEqual([{ path: '[0].metadata.__proto__', message: expect.stringMatching(/__proto__/) }]);
    await expect(col.upsert([{ id: 'p', content: 'x', metadata: { nested: proto }, embedding: vector(12) }])).rejects.toBeInstanceOf(ValidationError);
    expect(await col.count()).toBe(0);
    const kept = JSON.parse('{"constructor":{"prototype":{"x":[1]}},"prototype":"p","toString":"s"}') as Metadata;
    await col.upsert([{ id: 'p', content: 'x', metadata: kept, embedding: vector(12) }]);
    expect((await col.get(['p']))[0]!.metadata).toEqual(kept);
    expect((await col.list({ where: { prototype: 'p', 'constructor.prototype.x': { $contains: 1 } } })).map((d) => d.id)).toEqual(['p']);
    await expect(col.update([{ id: 'p', metadata: proto }], { mergeMetadata: true })).rejects.toBeInstanceOf(ValidationError);
    expect((await col.get(['p']))[0]!.metadata).toEqual(kept);
  });
});

describe('documents too long for the text index (longDocuments)', () => {
  it("refuses content over FULL_TEXT_MAX_BYTES by default, naming the document and the ways out ('refuse')", async () => {
    const col = await rag.collection('long-refused');
    const huge = overOneMegabyte();
    const error = (await rejection(col.upsert([{ id: 'short', content: 'short', embedding: vector(13) }, { id: 'book', content: huge, embedding: vector(14) }]))) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.category).toBe('invalid_input');
    expect(error.issues).toEqual([{ path: 'documents[1].content', message: expect.stringContaining('document "book" has') }]);
    expect(error.message).toContain('chunkDocument()');
    expect(error.message).toContain("longDocuments: 'skip-text-index'");
    expect(error.details).toMatchObject({ id: 'book', maxBytes: FULL_TEXT_MAX_BYTES });
    expect(await col.count()).toBe(0);
    await col.upsert([{ id: 'short', content: 'short', embedding: vector(13) }]);
    await expect(col.update([{ id: 'short', content: huge, embedding: vector(13) }])).rejects.toThrow(/updates\[0\]\.content: document "short"/);
    expect((await col.get(['short']))[0]!.content).toBe('short');
  });

  it('indexes content at the bound: to_tsvector takes FULL_TEXT_MAX_BYTES of distinct words', async () => {
    const col = await rag.collection('long-at-bound');
    const words = overOneMegabyte().slice(0, FULL_TEXT_MAX_BYTES);
    await col.upsert([{ id: 'bound', content: words, embedding: vector(15) }]);
    expect((await col.hybridSearch('w1a2', { weights: { vector: 0, text: 1 } })).map((h) => h.id)).toEqual(['bound']);
  });

  it("stores content over 1 MB without a text index ('skip-text-index'): vector search finds it, text search does not, nothing fails", async () => {
    const col = await rag.collection('long-skipped', { longDocuments: 'skip-text-index' });
    const huge = overOneMegabyte();
    const result = await col.upsert([
      { id: 'book', content: huge, metadata: { kind: 'book' }, embedding: vector(16) },
      { id: 'note', content: 'w1a2 is a word the book has too', metadata: { kind: 'note' }, embedding: vector(17) },
    ]);
    expect(result).toMatchObject({ upserted: 2, inserted: 2 });
    expect((await col.get(['book']))[0]!.content).toBe(huge);
    const tsv = async (id: string) =>
      (await db.pool.query<{ indexed: boolean }>(`SELECT tsv IS NOT NULL AS indexed FROM documents WHERE collection = 'long-skipped' AND id = $1`, [id])).rows[0]!.indexed;
    expect(await tsv('book')).toBe(false);
    expect(await tsv('note')).toBe(true);
    expect((await col.searchByVector(vector(16), { k: 1 }))[0]!.id).toBe('book');
    expect((await col.hybridSearch('w1a2', { weights: { vector: 0, text: 1 } })).map((h) => h.id)).toEqual(['note']);
    const both = await col.hybridSearch('w1a2', { vector: vector(16), k: 2 });
    expect(both.find((h) => h.id === 'book')).toMatchObject({ vectorRank: 1, textRank: null });
    // The rule holds on every path that computes tsv.
    expect(await col.refreshTextIndex()).toBe(2);
    expect(await tsv('book')).toBe(false);
    expect(await col.update([{ id: 'note', content: huge, embedding: vector(17) }])).toBe(1);
    expect(await tsv('note')).toBe(false);
    expect(await col.update([{ id: 'note', content: 'short again' }])).toBe(1);
    expect(await tsv('note')).toBe(true);
    // The same collection through a handle that refuses: refreshTextIndex still cannot fail on the long one.
    expect(await (await rag.collection('long-skipped')).refreshTextIndex()).toBe(2);
  });

  it('validates the option', async () => {
    await expect(rag.collection('x', { longDocuments: 'truncate' as never })).rejects.toBeInstanceOf(ValidationError);
  });
});

// ------------------------------------------------------------------------------------- the fuzz

/** Ids: a third hostile, the rest valid but unusual, so that calls with several ids still reach the database. */
const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: hostileId },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', ' ', "'", '"', '\\', ',', '{', 'é', 'e\u0301', '東', '\u{1F680}', '\uFFFD', '\u00A0'), minLength: 1, maxLength: 12 }) },
);

/** Tenant ids and collection names: mostly valid slugs (with `@`), sometimes hostile strings. */
const slugArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('fuzz', 'fuzz-b', 'ann@example.com', 'a.b:c_d') },
  { weight: 1, arbitrary: hostileString({ maxLength: 8 }) },
);

/** Text long enough (in UTF-8) to pass the full-text bound, built once. */
const LONG_TEXT = 'long document text '.repeat(Math.ceil((FULL_TEXT_MAX_BYTES + 1000) / 19));

/** Content: hostile strings, ordinary sentences, and now and then a text over the full-text bound. */
const contentArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileString({ minLength: 0, maxLength: 30 }) },
  { weight: 3, arbitrary: fc.constantFrom('the quick brown fox', 'Ünïcödé tëxt', 'emoji \u{1F680} and \uFFFD') },
  { weight: 1, arbitrary: hostileString({ maxLength: 4 }).map((tail) => LONG_TEXT + tail) },
);

/** Metadata: an object of hostile keys and JSON-ish values, sometimes nested past the default depth. */
const metadataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.tuple(hostileKey, hostileJson({ maxChain: 3 })), { maxLength: 4 }).map((entries) => objectFromEntries(entries)) },
  { weight: 3, arbitrary: fc.array(fc.tuple(hostileKey, hostileJson({ nonJson: false, maxChain: 3 })), { maxLength: 3 }).map((entries) => objectFromEntries(entries)) },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 260 }).map((depth) => ({ deep: Array.from({ length: depth }).reduce<unknown>((inner) => ({ d: inner }), 1) })) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const targetArb = fc.record({ tenant: slugArb, collection: slugArb, longDocuments: fc.constantFrom('refuse' as const, 'skip-text-index' as const) });

interface FuzzDoc {
  id: string;
  content: string;
  metadata: unknown;
  /** Give the vector (else the collection's embedder computes it). */
  withVector: boolean;
}
const docArb: fc.Arbitrary<FuzzDoc> = fc.record({ id: idArb, content: contentArb, metadata: metadataArb, withVector: fc.boolean() });

type Target = { tenant: string; collection: string; longDocuments: 'refuse' | 'skip-text-index' };
type Call =
  | { kind: 'upsert'; target: Target; docs: FuzzDoc[] }
  | { kind: 'update'; target: Target; id: string; content: string | undefined; metadata: unknown; merge: boolean }
  | { kind: 'delete'; target: Target; ids: string[] }
  | { kind: 'deleteWhere'; target: Target; value: string };

const callArb: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ kind: fc.constant('upsert' as const), target: targetArb, docs: fc.array(docArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({
    kind: fc.constant('update' as const),
    target: targetArb,
    id: idArb,
    content: fc.option(contentArb, { nil: undefined }),
    metadata: metadataArb,
    merge: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('delete' as const), target: targetArb, ids: fc.array(idArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('deleteWhere' as const), target: targetArb, value: hostileString({ maxLength: 10 }) }),
);

/** The error must be Cairn's, about the input, and raised before PostgreSQL (not mapped from its refusal). */
describe('the public write API, fuzzed on PostgreSQL', () => {
  it('round-trips every upsert, update and delete exactly or refuses it with a typed input error', async () => {
    const outcomes = { roundTrips: 0, refused: 0 };
    let seed = 0;
    const open = (t: Target) => rag.forTenant(t.tenant).collection(t.collection, { longDocuments: t.longDocuments });
    const toInput = (d: FuzzDoc) => ({ id: d.id, content: d.content, metadata: d.metadata as Metadata, ...(d.withVector ? { embedding: vector((seed += 1)) } : {}) });

    /** Makes the call; returns how to check what it wrote. */
    const perform = async (call: Call): Promise<() => Promise<void>> => {
      const col = await open(call.target);
      if (call.kind === 'upsert') {
        await col.upsert(call.docs.map(toInput));
        // Repeated ids in one call: the last one wins.
        const last = new Map(call.docs.map((d) => [d.id, d]));
        return async () => {
          const back = await col.get([...last.keys()]);
          expect(back.map((d) => d.id)).toEqual([...last.keys()]);
          for (const stored of back) {
            const given = last.get(stored.id)!;
            expect(stored.content).toBe(given.content);
            expect(jsonEqual(stored.metadata, given.metadata ?? {})).toBe(true);
          }
        };
      }
      if (call.kind === 'update') {
        const base = { base: 1, shared: 'base' };
        await col.upsert([{ id: call.id, content: 'base content', metadata: base, embedding: vector((seed += 1)) }]);
        const patch = { id: call.id, ...(call.content === undefined ? {} : { content: call.content }), ...(call.metadata === undefined ? {} : { metadata: call.metadata as Metadata }) };
        expect(await col.update([patch], { mergeMetadata: call.merge })).toBe(1);
        return async () => {
          const [stored] = await col.get([call.id]);
          expect(stored!.content).toBe(call.content ?? 'base content');
          const given = call.metadata as Metadata | undefined;
          const expected = given === undefined ? base : call.merge ? { ...base, ...given } : given;
          expect(jsonEqual(stored!.metadata, expected)).toBe(true);
        };
      }
      if (call.kind === 'delete') {
        await col.upsert(call.ids.map((id) => ({ id, content: 'to delete', embedding: vector((seed += 1)) })));
        expect(await col.delete(call.ids)).toBe(new Set(call.ids).size);
        return async () => expect(await col.get(call.ids)).toEqual([]);
      }
      // The filter first (a value jsonb cannot hold is refused here, as an InvalidFilterError), then
      // a document whose metadata holds the value, deleted by the same equality filter.
      const where = { probe: call.value };
      await col.delete({ where });
      const id = `where-${(seed += 1)}`;
      await col.upsert([{ id, content: 'matched by its metadata', metadata: where, embedding: vector(seed) }]);
      expect(await col.delete({ where })).toBe(1);
      return async () => expect(await col.get([id])).toEqual([]);
    };

    Object.assign(outcomes, await fuzzRoundTrips(callArb, perform, { seed: 17_2026, numRuns: 200 }));
    // Both outcomes occur: the generators reach the rules from both sides.
    expect(outcomes.roundTrips).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
  }, 120_000);
});
