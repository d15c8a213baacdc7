// Random sequences of operations (fast-check, seeded) run on two stores, every answer compared.
// CairnStore against CairnMemoryStore over the whole domain: every operation kind, wildcards,
// maxDepth, filters, pages, TTL on one manual clock; answers equal, order and timestamps included.
// CairnStore against LangGraph's PostgresStore (its tables in a PostgreSQL schema of their own),
// over the domain where the two are meant to agree: labels that are no prefix of one another and
// hold no LIKE wildcard, values that always have the filtered keys, pages that hold every match
// (PostgresStore orders by created_at in batch() and by updated_at in search(), ties unordered), no
// maxDepth or wildcards (it drops deeper namespaces instead of cutting them, and has no `*`), no
// TTL. The README lists each difference this leaves out.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { BaseStore, Item } from '@langchain/langgraph-checkpoint';
import { PostgresStore } from '@langchain/langgraph-checkpoint-postgres/store';
import { ManualClock } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { CairnMemoryStore, CairnStore, MemoryStoreData, WordHashEmbeddings, type BaseCairnStore } from '../src/index.js';

let db: CairnDb;
let postgresStore: PostgresStore;
beforeAll(async () => {
  db = await createTestDb();
  postgresStore = new PostgresStore({ connectionOptions: db.connectionString(), schema: 'langgraph_store' });
  await postgresStore.setup();
});
afterAll(async () => {
  await postgresStore?.stop();
  await db?.close();
});

// Few namespaces and keys, so that operations meet the same items and pages hold ties.
const LABELS = ['x1', 'y1', 'y2'];
const label = fc.constantFrom(...LABELS);
const namespace = fc.array(label, { minLength: 1, maxLength: 2 });
const key = fc.constantFrom('k1', 'k2', 'k3');
const value = fc.record({ tag: fc.constantFrom('a', 'b', 'c'), n: fc.integer({ min: 0, max: 5 }), text: fc.constantFrom('red apple', 'green apple', 'blue sky', 'red sky') });
const filter = fc.oneof(
  fc.constant(undefined),
  fc.record({ tag: fc.constantFrom('a', 'b') }),
  fc.record({ n: fc.record({ $gt: fc.integer({ min: 0, max: 5 }) }) }),
  fc.record({ n: fc.record({ $lte: fc.integer({ min: 0, max: 5 }) }), tag: fc.record({ $ne: fc.constantFrom('a', 'c') }) }),
  fc.record({ tag: fc.record({ $in: fc.subarray(['a', 'b', 'c'], { minLength: 1 }) }) }),
);

type Op =
  | { kind: 'put'; namespace: string[]; key: string; value: Record<string, unknown>; ttl?: number | null }
  | { kind: 'delete'; namespace: string[]; key: string }
  | { kind: 'get'; namespace: string[]; key: string }
  | { kind: 'search'; prefix: string[]; filter: Record<string, unknown> | undefined; limit: number; offset: number; query?: string }
  | { kind: 'list'; prefix?: string[]; suffix?: string[]; maxDepth?: number; limit: number; offset: number }
  | { kind: 'advance'; minutes: number };

const put = fc.record({ kind: fc.constant('put' as const), namespace, key, value });
const del = fc.record({ kind: fc.constant('delete' as const), namespace, key });
const get = fc.record({ kind: fc.constant('get' as const), namespace, key });

async function apply(store: BaseCairnStore | PostgresStore, op: Op, clock?: ManualClock): Promise<unknown> {
  switch (op.kind) {
    case 'put':
      return op.ttl === undefined ? store.put(op.namespace, op.key, op.value) : (store as BaseCairnStore).put(op.namespace, op.key, op.value, undefined, { ttl: op.ttl });
    case 'delete':
      return store.delete(op.namespace, op.key);
    case 'get':
      return store.get(op.namespace, op.key);
    case 'search':
      return (store as BaseStore).search(op.prefix, { filter: op.filter, limit: op.limit, offset: op.offset, ...(op.query ? { query: op.query } : {}) });
    case 'list':
      return store.listNamespaces({ prefix: op.prefix, suffix: op.suffix, maxDepth: op.maxDepth, limit: op.limit, offset: op.offset });
    case 'advance':
      clock?.advance(op.minutes * 60_000);
      return undefined;
  }
}

let run = 0;

/** An answer as JSON without its scores, and the scores in order. */
function scoresApart(answer: unknown): { rest: unknown; scores: number[] } {
  const scores: number[] = [];
  const rest: unknown = answer === undefined ? undefined : JSON.parse(JSON.stringify(answer), (k: string, v: unknown) => {
    if (k !== 'score') return v;
    scores.push(Number(v));
    return undefined;
  });
  return { rest, scores };
}

describe('CairnStore and CairnMemoryStore', () => {
  it('answer every random sequence of operations alike, order, timestamps and scores included', async () => {
    const wildLabel = fc.constantFrom(...LABELS, '*');
    const ops = fc.array(
      fc.oneof(
        { arbitrary: put.chain((p) => fc.record({ ttl: fc.constantFrom(undefined, null, 1, 3) }).map((t) => ({ ...p, ...t }))), weight: 5 },
        { arbitrary: del, weight: 1 },
        { arbitrary: get, weight: 2 },
        {
          arbitrary: fc.record({
            kind: fc.constant('search' as const),
            prefix: fc.array(label, { maxLength: 1 }),
            filter,
            limit: fc.integer({ min: 0, max: 4 }),
            offset: fc.integer({ min: 0, max: 2 }),
            query: fc.constantFrom(undefined, 'red apple', 'sky'),
          }),
          weight: 3,
        },
        {
          arbitrary: fc.record(
            {
              kind: fc.constant('list' as const),
              prefix: fc.array(wildLabel, { maxLength: 2 }),
              suffix: fc.array(wildLabel, { maxLength: 2 }),
              maxDepth: fc.integer({ min: 1, max: 2 }),
              limit: fc.integer({ min: 0, max: 5 }),
              offset: fc.integer({ min: 0, max: 3 }),
            },
            { requiredKeys: ['kind', 'limit', 'offset'] },
          ),
          weight: 2,
        },
        { arbitrary: fc.record({ kind: fc.constant('advance' as const), minutes: fc.constantFrom(0.5, 1, 2) }), weight: 1 },
      ),
      { minLength: 10, maxLength: 60 },
    );
    await fc.assert(
      fc.asyncProperty(ops, async (sequence) => {
        run += 1;
        const clock = new ManualClock(Date.parse('2026-05-01T00:00:00.000Z'));
        const options = { tenantId: `diff-memory-${run}`, clock, ttl: { defaultTtl: 2 }, index: { dims: 16, embed: new WordHashEmbeddings(16), fields: ['text'] } };
        const pg = new CairnStore(db, options);
        const memory = new CairnMemoryStore(options, new MemoryStoreData());
        for (const op of sequence) {
          const [a, b] = [scoresApart(await apply(pg, op, clock)), scoresApart(await apply(memory, op))];
          expect(a.rest).toEqual(b.rest);
          // PostgreSQL computes the cosine in single precision.
          a.scores.forEach((score, i) => expect(score).toBeCloseTo(b.scores[i]!, 5));
        }
        expect(await pg.sweep()).toBe(await memory.sweep());
      }),
      { numRuns: 40, seed: 20261203 },
    );
  });
});

/** What both must agree on: items as sets of namespace, key and value. */
function contents(items: readonly Item[]): string[] {
  return items.map((i) => JSON.stringify([i.namespace, i.key, i.value])).sort();
}

describe('CairnStore and LangGraph’s PostgresStore', () => {
  it('answer random sequences alike where their semantics agree', async () => {
    const ops = fc.array(
      fc.oneof(
        { arbitrary: put, weight: 5 },
        { arbitrary: del, weight: 1 },
        { arbitrary: get, weight: 2 },
        { arbitrary: fc.record({ kind: fc.constant('search' as const), prefix: fc.array(label, { minLength: 1, maxLength: 1 }), filter, limit: fc.constant(100), offset: fc.constant(0) }), weight: 3 },
        {
          arbitrary: fc.record(
            { kind: fc.constant('list' as const), prefix: fc.array(label, { minLength: 1, maxLength: 2 }), suffix: fc.array(label, { minLength: 1, maxLength: 1 }), limit: fc.constant(100), offset: fc.constant(0) },
            { requiredKeys: ['kind', 'limit', 'offset'] },
          ),
          weight: 2,
        },
      ),
      { minLength: 10, maxLength: 40 },
    );
    await fc.assert(
      fc.asyncProperty(ops, async (sequence) => {
        run += 1;
        await db.pool.query('TRUNCATE langgraph_store.store CASCADE');
        const cairn = new CairnStore(db, { tenantId: `diff-pg-${run}` });
        for (const op of sequence) {
          const [a, b] = [await apply(cairn, op), await apply(postgresStore, op)];
          if (op.kind === 'get') {
            const [x, y] = [a as Item | null, b as Item | null];
            expect(x && { namespace: x.namespace, key: x.key, value: x.value }).toEqual(y && { namespace: y.namespace, key: y.key, value: y.value });
          } else if (op.kind === 'search') {
            expect(contents(a as Item[])).toEqual(contents(b as Item[]));
          } else if (op.kind === 'list') {
            expect(a).toEqual(b);
          }
        }
      }),
      { numRuns: 30, seed: 20261203 },
    );
  });
});

describe('differences from PostgresStore the README lists', () => {
  const cairn = () => new CairnStore(db, { tenantId: `diff-known-${(run += 1)}` });

  it('a prefix matches labels, not text: ["x"] does not reach ["x1"]', async () => {
    await db.pool.query('TRUNCATE langgraph_store.store CASCADE');
    const store = cairn();
    for (const s of [store, postgresStore]) await s.put(['x1'], 'k', { v: 1 });
    expect(await store.search(['x'])).toEqual([]);
    expect((await postgresStore.search(['x'])).map((i) => i.namespace)).toEqual([['x1']]);
  });

  it('maxDepth cuts namespaces to that depth instead of dropping the deeper ones', async () => {
    await db.pool.query('TRUNCATE langgraph_store.store CASCADE');
    const store = cairn();
    for (const s of [store, postgresStore]) await s.put(['a', 'b', 'c'], 'k', { v: 1 });
    expect(await store.listNamespaces({ maxDepth: 2 })).toEqual([['a', 'b']]);
    expect(await postgresStore.listNamespaces({ maxDepth: 2 })).toEqual([]);
  });

  it('equality compares JSON values, not their text', async () => {
    await db.pool.query('TRUNCATE langgraph_store.store CASCADE');
    const store = cairn();
    for (const s of [store, postgresStore]) {
      await s.put(['e'], 'number', { n: 1 });
      await s.put(['e'], 'string', { n: '1' });
    }
    expect((await store.search(['e'], { filter: { n: 1 } })).map((i) => i.key)).toEqual(['number']);
    expect((await postgresStore.search(['e'], { filter: { n: 1 } })).map((i) => i.key).sort()).toEqual(['number', 'string']);
  });
});
