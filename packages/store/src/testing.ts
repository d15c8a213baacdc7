// `@cairn/store/testing`: the conformance suite every store runs (CairnMemoryStore, CairnStore on
// PostgreSQL and on the embedded PGlite), over the semantics LangGraph's BaseStore documents plus
// Cairn's (filters, TTL, tenants), and the deterministic embedder its semantic tests use. Jest only.
import { afterAll, describe, expect, it } from '@jest/globals';
import { InvalidNamespaceError, type Item, type Operation } from '@langchain/langgraph-checkpoint';
import { InvalidFilterError, ManualClock, ValidationError } from '@cairn/core';
import type { BaseCairnStore } from './base-cairn-store.js';
import type { StoreOptions } from './options.js';
import { WordHashEmbeddings } from './word-hash-embeddings.js';

export { WordHashEmbeddings };

/** How the suite creates and disposes of the store under test. */
export interface StoreSuiteOptions {
  /** Shown in test names. */
  name: string;
  /** A store with these options; stores of different tenants created here share storage. */
  create(options: StoreOptions): Promise<BaseCairnStore>;
  /** Releases one store. @defaultValue store.close() */
  destroy?(store: BaseCairnStore): Promise<void>;
}

/** Cosine similarity, for checking reported scores. */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    dot += x * b[i]!;
    na += x * x;
    nb += b[i]! * b[i]!;
  });
  return dot / Math.sqrt(na * nb);
}

let counter = 0;
/** A tenant id no other test uses, so every test starts from an empty store. */
function freshTenant(): string {
  counter += 1;
  return `suite-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

const keysOf = (items: readonly { key: string }[]) => items.map((i) => i.key);

/** Registers the conformance tests for one store implementation. */
export function describeStore(suite: StoreSuiteOptions): void {
  describe(`${suite.name} conformance`, () => {
    const created: BaseCairnStore[] = [];
    const open = async (options: StoreOptions = {}) => {
      const store = await suite.create({ tenantId: freshTenant(), ...options });
      created.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of created) await (suite.destroy ? suite.destroy(store) : store.close());
    });

    describe('put, get and delete', () => {
      it('reads back what was put, with createdAt kept and updatedAt moved by an update', async () => {
        const clock = new ManualClock(Date.parse('2026-01-01T00:00:00.000Z'));
        const store = await open({ clock });
        await store.put(['users', 'u1'], 'prefs', { theme: 'dark', nested: { size: 3 } });
        const first = await store.get(['users', 'u1'], 'prefs');
        expect(first).toEqual({ namespace: ['users', 'u1'], key: 'prefs', value: { theme: 'dark', nested: { size: 3 } }, createdAt: new Date(clock.now()), updatedAt: new Date(clock.now()) });
        clock.advance(5000);
        await store.put(['users', 'u1'], 'prefs', { theme: 'light' });
        const second = await store.get(['users', 'u1'], 'prefs');
        expect(second?.value).toEqual({ theme: 'light' });
        expect(second?.createdAt).toEqual(first?.createdAt);
        expect(second?.updatedAt).toEqual(new Date(clock.now()));
      });

      it('answers null for a missing item and forgets a deleted one', async () => {
        const store = await open();
        expect(await store.get(['a'], 'missing')).toBeNull();
        await store.put(['a'], 'k', { v: 1 });
        await store.delete(['a'], 'k');
        expect(await store.get(['a'], 'k')).toBeNull();
        await store.delete(['a'], 'never-existed');
      });

      it('returns copies: changing a value after put or get changes nothing stored', async () => {
        const store = await open();
        const value = { list: [1] };
        await store.put(['a'], 'k', value);
        value.list.push(2);
        const got = await store.get(['a'], 'k');
        (got?.value as { list: number[] }).list.push(3);
        expect((await store.get(['a'], 'k'))?.value).toEqual({ list: [1] });
      });

      it('refuses invalid namespaces, keys and values before storing anything', async () => {
        const store = await open();
        await expect(store.put(['a.b'], 'k', { v: 1 })).rejects.toThrow(InvalidNamespaceError);
        await expect(store.put([], 'k', { v: 1 })).rejects.toThrow(InvalidNamespaceError);
        await expect(store.put(['a', ''], 'k', { v: 1 })).rejects.toThrow(InvalidNamespaceError);
        await expect(store.put(['langgraph'], 'k', { v: 1 })).rejects.toThrow(InvalidNamespaceError);
        await expect(store.batch([{ namespace: ['a\u0000'], key: 'k', value: { v: 1 } }])).rejects.toThrow(InvalidNamespaceError);
        await expect(store.put(['a'], 'k\u0000', { v: 1 })).rejects.toThrow(ValidationError);
        await expect(store.put(['a'], 'k', { when: new Date() })).rejects.toThrow(ValidationError);
        await expect(store.put(['a'], 'k', { bad: '\ud800' })).rejects.toThrow(ValidationError);
        await expect(store.batch([{ namespace: ['a'], key: 'k', value: { v: 1 } }, { namespace: ['a.b'], key: 'k' }])).rejects.toThrow(InvalidNamespaceError);
        expect(await store.search([])).toEqual([]);
      });
    });

    describe('batch', () => {
      it('answers one result per operation, in order, each seeing the operations before it', async () => {
        const store = await open();
        await store.put(['docs'], 'old', { n: 0 });
        const results: unknown[] = await store.batch<Operation[]>([
          { namespace: ['docs'], key: 'a', value: { n: 1 } },
          { namespace: ['docs'], key: 'a' },
          { namespacePrefix: ['docs'], limit: 10, offset: 0 },
          { namespace: ['docs'], key: 'old', value: null },
          { namespace: ['docs'], key: 'old' },
          { matchConditions: [{ matchType: 'prefix', path: ['docs'] }], limit: 10, offset: 0 },
          { namespace: ['docs'], key: 'missing' },
        ]);
        expect(results).toHaveLength(7);
        expect(results[0]).toBeUndefined();
        expect((results[1] as Item).value).toEqual({ n: 1 });
        expect(keysOf(results[2] as Item[]).sort()).toEqual(['a', 'old']);
        expect(results[4]).toBeNull();
        expect(results[5]).toEqual([['docs']]);
        expect(results[6]).toBeNull();
      });

      it('keeps the last of several puts of one key in a batch', async () => {
        const store = await open();
        await store.batch([
          { namespace: ['x'], key: 'k', value: { v: 1 } },
          { namespace: ['x'], key: 'k', value: { v: 2 } },
        ]);
        expect((await store.get(['x'], 'k'))?.value).toEqual({ v: 2 });
      });
    });

    describe('namespaces', () => {
      it('matches a search prefix label by label, never by text', async () => {
        const store = await open();
        const spaces = [['a'], ['a', 'b'], ['a', 'b', 'c'], ['ab'], ['a_b'], ['a%'], ['a-b'], ['a', 'bc'], ['b', 'a']];
        for (const ns of spaces) await store.put(ns, 'k', { ns: ns.join('/') });
        const found = async (prefix: string[]) => (await store.search(prefix, { limit: 100 })).map((i) => i.namespace.join('/')).sort();
        expect(await found(['a'])).toEqual(['a', 'a/b', 'a/b/c', 'a/bc']);
        expect(await found(['a', 'b'])).toEqual(['a/b', 'a/b/c']);
        expect(await found(['a_b'])).toEqual(['a_b']);
        expect(await found(['a%'])).toEqual(['a%']);
        expect(await found(['a', 'b', 'c', 'd'])).toEqual([]);
        expect(await found([])).toHaveLength(spaces.length);
      });

      it('lists namespaces with prefix, suffix, wildcards, maxDepth and pages, in code-point order', async () => {
        const store = await open();
        const spaces = [
          ['users', 'u1', 'memories'],
          ['users', 'u1', 'prefs'],
          ['users', 'u2', 'memories'],
          ['users', 'u10', 'memories'],
          ['teams', 't1', 'memories'],
          ['users'],
          ['usersx', 'u1'],
        ];
        for (const ns of spaces) await store.put(ns, 'k', { v: 1 });
        await store.put(['users', 'u1', 'memories'], 'k2', { v: 2 });
        const all = await store.listNamespaces({ limit: 100 });
        expect(all).toEqual([['teams', 't1', 'memories'], ['users'], ['users', 'u1', 'memories'], ['users', 'u1', 'prefs'], ['users', 'u10', 'memories'], ['users', 'u2', 'memories'], ['usersx', 'u1']]);
        expect(await store.listNamespaces({ prefix: ['users'] })).toEqual([['users'], ['users', 'u1', 'memories'], ['users', 'u1', 'prefs'], ['users', 'u10', 'memories'], ['users', 'u2', 'memories']]);
        expect(await store.listNamespaces({ suffix: ['memories'] })).toEqual([['teams', 't1', 'memories'], ['users', 'u1', 'memories'], ['users', 'u10', 'memories'], ['users', 'u2', 'memories']]);
        expect(await store.listNamespaces({ prefix: ['users', '*', 'memories'] })).toEqual([['users', 'u1', 'memories'], ['users', 'u10', 'memories'], ['users', 'u2', 'memories']]);
        expect(await store.listNamespaces({ suffix: ['u1', '*'] })).toEqual([['users', 'u1', 'memories'], ['users', 'u1', 'prefs']]);
        expect(await store.listNamespaces({ prefix: ['users'], suffix: ['prefs'] })).toEqual([['users', 'u1', 'prefs']]);
        expect(await store.listNamespaces({ maxDepth: 2 })).toEqual([['teams', 't1'], ['users'], ['users', 'u1'], ['users', 'u10'], ['users', 'u2'], ['usersx', 'u1']]);
        expect(await store.listNamespaces({ prefix: ['users'], maxDepth: 1 })).toEqual([['users']]);
        expect(await store.listNamespaces({ limit: 2, offset: 1 })).toEqual([['users'], ['users', 'u1', 'memories']]);
        expect(await store.listNamespaces({ limit: 5, offset: 10 })).toEqual([]);
      });
    });

    describe('filters', () => {
      const rows = [
        { key: 'a', value: { kind: 'fact', score: 5, tags: ['x'], author: { name: 'ada', age: 36 }, note: null } },
        { key: 'b', value: { kind: 'fact', score: 9, author: { name: 'bob', age: 20 } } },
        { key: 'c', value: { kind: 'episode', score: 2, author: { name: 'cy' }, when: '2026-03-01' } },
        { key: 'd', value: { kind: 'episode', score: 'high', when: '2025-12-31' } },
      ];
      let store: BaseCairnStore;
      const keys = async (filter: Record<string, unknown>) => keysOf(await store.search(['f'], { filter, limit: 50 })).sort();

      it('answers equality and every operator on nested paths', async () => {
        store = await open();
        for (const r of rows) await store.put(['f'], r.key, r.value);
        await store.put(['other'], 'z', { kind: 'fact' });
        expect(await keys({ kind: 'fact' })).toEqual(['a', 'b']);
        expect(await keys({ kind: { $eq: 'episode' } })).toEqual(['c', 'd']);
        expect(await keys({ kind: { $ne: 'fact' } })).toEqual(['c', 'd']);
        expect(await keys({ 'author.name': { $ne: 'ada' } })).toEqual(['b', 'c', 'd']);
        expect(await keys({ score: { $gt: 5 } })).toEqual(['b']);
        expect(await keys({ score: { $gte: 5 } })).toEqual(['a', 'b']);
        expect(await keys({ score: { $lt: 5 } })).toEqual(['c']);
        expect(await keys({ score: { $lte: 5 } })).toEqual(['a', 'c']);
        expect(await keys({ score: { $gte: 2, $lt: 9 } })).toEqual(['a', 'c']);
        expect(await keys({ when: { $gte: '2026-01-01' } })).toEqual(['c']);
        expect(await keys({ 'author.name': { $in: ['ada', 'cy', 'zed'] } })).toEqual(['a', 'c']);
        expect(await keys({ 'author.name': { $nin: ['ada', 'cy'] } })).toEqual(['b', 'd']);
        expect(await keys({ 'author.age': { $exists: true } })).toEqual(['a', 'b']);
        expect(await keys({ 'author.age': { $exists: false } })).toEqual(['c', 'd']);
        expect(await keys({ note: { $exists: true } })).toEqual(['a']);
        expect(await keys({ note: null })).toEqual(['a']);
        expect(await keys({ author: { name: 'bob' } })).toEqual(['b']);
        expect(await keys({ kind: 'fact', 'author.age': { $lt: 30 } })).toEqual(['b']);
        expect(await keys({ tags: { $contains: 'x' } })).toEqual(['a']);
        expect(await keys({ $or: [{ kind: 'episode' }, { score: 9 }] })).toEqual(['b', 'c', 'd']);
      });

      it('refuses a malformed filter with InvalidFilterError', async () => {
        const s = await open();
        await expect(s.search(['f'], { filter: { score: { $between: [1, 2] } } })).rejects.toThrow(InvalidFilterError);
        await expect(s.search(['f'], { filter: { 'bad key!': 1 } })).rejects.toThrow(InvalidFilterError);
      });
    });

    describe('pagination', () => {
      it('pages through items newest update first, ties in key order', async () => {
        const clock = new ManualClock(Date.parse('2026-02-01T00:00:00.000Z'));
        const store = await open({ clock });
        for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) {
          await store.put(['p'], key, { key });
          clock.advance(1000);
        }
        await store.put(['p'], 'tie-b', { t: 1 });
        await store.put(['p'], 'tie-a', { t: 1 });
        expect(keysOf(await store.search(['p'], { limit: 3 }))).toEqual(['tie-a', 'tie-b', 'k5']);
        expect(keysOf(await store.search(['p'], { limit: 3, offset: 3 }))).toEqual(['k4', 'k3', 'k2']);
        expect(keysOf(await store.search(['p'], { limit: 3, offset: 6 }))).toEqual(['k1']);
        expect(keysOf(await store.search(['p'], {}))).toHaveLength(7);
        await expect(store.search(['p'], { limit: -1 })).rejects.toThrow(ValidationError);
      });
    });

    describe('semantic search', () => {
      const memories = [
        { key: 'coffee', value: { text: 'the user drinks espresso coffee every morning', kind: 'preference' } },
        { key: 'tea', value: { text: 'green tea in the afternoon', kind: 'preference' } },
        { key: 'tennis', value: { text: 'plays tennis on sundays with friends', kind: 'hobby' } },
        { key: 'paris', value: { text: 'flew to paris for a coffee tasting', kind: 'episode' } },
      ];

      it('ranks by similarity to the query and reports the cosine similarity as score', async () => {
        const embeddings = new WordHashEmbeddings(64);
        const store = await open({ index: { dims: 64, embed: embeddings, fields: ['text'] } });
        await store.start();
        for (const m of memories) await store.put(['mem'], m.key, m.value);
        const results = await store.search(['mem'], { query: 'espresso coffee', limit: 2 });
        expect(keysOf(results)).toEqual(['coffee', 'paris']);
        const q = embeddings.vector('espresso coffee');
        expect(results[0]!.score).toBeCloseTo(cosineSimilarity(q, embeddings.vector(memories[0]!.value.text)), 5);
        expect(results[1]!.score).toBeCloseTo(cosineSimilarity(q, embeddings.vector(memories[3]!.value.text)), 5);
        expect(keysOf(await store.search(['mem'], { query: 'espresso coffee', limit: 2, offset: 1 }))[0]).toBe('paris');
        expect((await store.search(['mem'], { limit: 10 }))[0]!.score).toBeUndefined();
      });

      it('returns `limit` results under a filter the nearest items fail', async () => {
        const store = await open({ index: { dims: 64, embed: new WordHashEmbeddings(64), fields: ['text'] } });
        for (let i = 0; i < 30; i++) await store.put(['mem'], `near-${i}`, { text: `coffee espresso morning ${i}`, kind: 'other' });
        for (let i = 0; i < 5; i++) await store.put(['mem'], `far-${i}`, { text: `coffee notes ${i} about something else entirely`, kind: 'wanted' });
        const results = await store.search(['mem'], { query: 'coffee espresso morning', filter: { kind: 'wanted' }, limit: 5 });
        expect(keysOf(results).sort()).toEqual(['far-0', 'far-1', 'far-2', 'far-3', 'far-4']);
        expect(await store.search(['other'], { query: 'coffee' })).toEqual([]);
      });

      it('embeds only the configured fields, or the put’s own, and none with index: false', async () => {
        const embeddings = new WordHashEmbeddings(32);
        const store = await open({ index: { dims: 32, embed: embeddings, fields: ['title', 'chapters[*].text'] } });
        await store.put(['b'], 'book', { title: 'gardening', body: 'volcano lava', chapters: [{ text: 'roses' }, { text: 'tulips' }] });
        expect(embeddings.calls).toBe(3);
        expect(keysOf(await store.search(['b'], { query: 'tulips' }))).toEqual(['book']);
        expect(await store.search(['b'], { query: 'tulips' })).toHaveLength(1);
        const lava = await store.search(['b'], { query: 'volcano lava' });
        expect(lava[0]!.score).toBeLessThan(0.5);
        await store.put(['b'], 'other', { title: 'x', body: 'volcano lava' }, ['body']);
        expect(keysOf(await store.search(['b'], { query: 'volcano lava', limit: 1 }))).toEqual(['other']);
        await store.put(['b'], 'hidden', { title: 'volcano lava' }, false);
        expect(keysOf(await store.search(['b'], { query: 'volcano lava' }))).not.toContain('hidden');
        expect(keysOf(await store.search(['b'], {}))).toContain('hidden');
      });

      it('re-embeds an updated item and drops the vectors of fields it no longer has', async () => {
        const store = await open({ index: { dims: 32, embed: new WordHashEmbeddings(32), fields: ['notes[*]'] } });
        await store.put(['n'], 'k', { notes: ['alpha', 'beta', 'gamma'] });
        await store.put(['n'], 'other', { notes: ['gamma'] });
        await store.put(['n'], 'k', { notes: ['delta'] });
        expect(keysOf(await store.search(['n'], { query: 'gamma', limit: 1 }))).toEqual(['other']);
        const [best] = await store.search(['n'], { query: 'delta', limit: 1 });
        expect(best?.key).toBe('k');
        expect(best?.score).toBeCloseTo(1, 5);
      });

      it('embeds the whole value for `$`', async () => {
        const store = await open({ index: { dims: 32, embed: new WordHashEmbeddings(32) } });
        await store.put(['w'], 'k', { a: 'zebra', b: { c: 'giraffe' } });
        await store.put(['w'], 'j', { a: 'otter' });
        expect(keysOf(await store.search(['w'], { query: 'giraffe zebra', limit: 1 }))).toEqual(['k']);
      });
    });

    describe('TTL', () => {
      it('expires items after defaultTtl or their own ttl, hides them before a sweep, and sweeps them', async () => {
        const clock = new ManualClock(Date.parse('2026-03-01T00:00:00.000Z'));
        const store = await open({ clock, ttl: { defaultTtl: 10, refreshOnRead: false }, index: { dims: 16, embed: new WordHashEmbeddings(16), fields: ['text'] } });
        await store.put(['t'], 'default', { text: 'apple' });
        await store.put(['t'], 'short', { text: 'apple' }, undefined, { ttl: 1 });
        await store.put(['t'], 'forever', { text: 'apple' }, undefined, { ttl: null });
        clock.advance(60_000);
        expect(await store.get(['t'], 'short')).toBeNull();
        expect(keysOf(await store.search(['t'], {})).sort()).toEqual(['default', 'forever']);
        clock.advance(9 * 60_000);
        expect(await store.get(['t'], 'default')).toBeNull();
        expect(keysOf(await store.search(['t'], { query: 'apple' }))).toEqual(['forever']);
        expect(await store.listNamespaces()).toEqual([['t']]);
        expect(await store.sweep()).toBe(2);
        expect(await store.sweep()).toBe(0);
        expect(keysOf(await store.search(['t'], {}))).toEqual(['forever']);
      });

      it('moves the expiry of what get and search read when refreshOnRead is on, unless the read says not to', async () => {
        const clock = new ManualClock(Date.parse('2026-03-01T00:00:00.000Z'));
        const store = await open({ clock, ttl: { defaultTtl: 10 } });
        await store.put(['r'], 'read', { v: 1 });
        await store.put(['r'], 'searched', { v: 2 });
        await store.put(['r'], 'untouched', { v: 3 });
        clock.advance(8 * 60_000);
        expect(await store.get(['r'], 'read')).not.toBeNull();
        expect(keysOf(await store.search(['r'], { filter: { v: 2 } }))).toEqual(['searched']);
        expect(await store.get(['r'], 'untouched', { refreshTtl: false })).not.toBeNull();
        clock.advance(4 * 60_000);
        expect(await store.get(['r'], 'untouched')).toBeNull();
        expect(await store.get(['r'], 'read')).not.toBeNull();
        expect(await store.get(['r'], 'searched')).not.toBeNull();
        expect(await store.sweep()).toBe(1);
      });

      it('sweeps in batches of sweepBatchSize until none is left', async () => {
        const clock = new ManualClock(Date.parse('2026-03-01T00:00:00.000Z'));
        const store = await open({ clock, ttl: { defaultTtl: 1, sweepBatchSize: 3 } });
        await store.batch(Array.from({ length: 10 }, (_, i) => ({ namespace: ['s'], key: `k${i}`, value: { i } })));
        clock.advance(60_000);
        expect(await store.sweep()).toBe(10);
      });

      it('restarts createdAt when an expired item is put again', async () => {
        const clock = new ManualClock(Date.parse('2026-03-01T00:00:00.000Z'));
        const store = await open({ clock });
        await store.put(['c'], 'k', { v: 1 }, undefined, { ttl: 1 });
        clock.advance(120_000);
        await store.put(['c'], 'k', { v: 2 });
        expect((await store.get(['c'], 'k'))?.createdAt).toEqual(new Date(clock.now()));
      });
    });

    describe('tenants', () => {
      it('keeps every tenant’s items, namespaces, searches and sweeps apart', async () => {
        const clock = new ManualClock(Date.parse('2026-04-01T00:00:00.000Z'));
        const index = { dims: 16, embed: new WordHashEmbeddings(16), fields: ['text'] };
        const a = await open({ clock, index });
        const b = await open({ clock, index });
        await a.put(['shared'], 'k', { text: 'from a', owner: 'a' }, undefined, { ttl: 1 });
        await b.put(['shared'], 'k', { text: 'from b', owner: 'b' });
        await b.put(['only-b'], 'k', { text: 'b again' });
        expect((await a.get(['shared'], 'k'))?.value).toEqual({ text: 'from a', owner: 'a' });
        expect((await b.get(['shared'], 'k'))?.value).toEqual({ text: 'from b', owner: 'b' });
        expect(await a.listNamespaces()).toEqual([['shared']]);
        expect(keysOf(await a.search([], { query: 'b again' }))).toEqual(['k']);
        expect((await a.search([], { query: 'b again' }))[0]!.value).toEqual({ text: 'from a', owner: 'a' });
        await a.delete(['shared'], 'k');
        expect(await b.get(['shared'], 'k')).not.toBeNull();
        await a.put(['shared'], 'k', { text: 'from a', owner: 'a' }, undefined, { ttl: 1 });
        await b.put(['b-expiring'], 'k', { v: 1 }, undefined, { ttl: 1 });
        clock.advance(60_000);
        expect(await a.sweep()).toBe(1);
        expect(await b.sweep()).toBe(1);
      });
    });
  });
}
