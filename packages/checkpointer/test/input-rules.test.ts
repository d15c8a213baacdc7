// The input rules on real PostgreSQL: strings the driver would change are refused before they can
// alias another thread's or tenant's rows, and a seeded fuzz of the public write API finds only
// exact round trips or typed Cairn errors raised before the database (never a driver error, never
// a RangeError).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ValidationError } from '@cairn/core';
import { fuzzRoundTrips, hostileId, hostileJson, hostileKey, isInputRefusal, jsonEqual, objectFromEntries, rejection } from '@cairn/core/testing';
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import { CheckpointNotFoundError, PostgresCheckpointer } from '../src/index.js';

// JSON, jsonb and the serializer all write -0 as 0 (so a cache and the database agree): compare
// numbers as JSON does. Everything else keeps jest's equality.
expect.addEqualityTesters([(a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && a === 0 && b === 0 ? true : undefined)]);

let db: CairnDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.close();
});

describe('lone surrogates', () => {
  it('are sent by node-postgres as U+FFFD, so two such strings are one key to PostgreSQL', async () => {
    // Why the rule exists: if this ever stops being true, the refusal below is still right, but say so.
    const { rows } = await db.pool.query<{ same: boolean; stored: string }>('SELECT $1::text = $2::text AS same, $1::text AS stored', ['a\uD800b', 'a\uDBFFb']);
    expect(rows[0]).toEqual({ same: true, stored: 'a\uFFFDb' });
  });

  it('in thread ids are refused, so one thread can never read another thread’s state', async () => {
    const cp = new PostgresCheckpointer(db, { tenantId: 'alias-threads' });
    try {
      expect(await rejection(cp.put('a\uD800b', { owner: 'first' }))).toBeInstanceOf(ValidationError);
      expect(await rejection(cp.get('a\uDBFFb'))).toBeInstanceOf(ValidationError);
      expect(await rejection(cp.get('a\uD800b'))).toBeInstanceOf(ValidationError);
      expect(await rejection(cp.putMany([{ threadId: 'ok', state: 1, checkpointId: 'c\uDBFF' }]))).toBeInstanceOf(ValidationError);
      expect(await rejection(cp.putWrites('ok', 'c1', 't\uDC00', [{ channel: 'x', value: 1 }]))).toBeInstanceOf(ValidationError);
      // The same characters as a well-formed pair are an ordinary, distinct id.
      await cp.put('a\uD800\uDC00b', { owner: 'pair' });
      expect((await cp.get('a\uD800\uDC00b'))?.state).toEqual({ owner: 'pair' });
      expect(await cp.get('a\uFFFDb')).toBeUndefined();
      expect(await cp.listThreadIds()).toEqual(['a\uD800\uDC00b']);
    } finally {
      await cp.close();
    }
  });

  it('in tenant ids are refused, so one tenant can never read another tenant’s data', async () => {
    for (const tenantId of ['tenant\uD800', 'tenant\uDBFF']) {
      let error: unknown;
      try {
        new PostgresCheckpointer(db, { tenantId });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([{ path: 'tenantId', message: expect.stringMatching(/lone surrogate \(U\+D(800|BFF) at index 6\)/) }]);
    }
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM checkpoints WHERE tenant_id = 'tenant\uFFFD'`);
    expect(rows[0]!.n).toBe(0);
  });

  it('in metadata are a ValidationError before PostgreSQL sees them (it would answer 22P02)', async () => {
    const cp = new PostgresCheckpointer(db, { tenantId: 'alias-metadata' });
    try {
      const error = (await rejection(cp.put('t', 1, { metadata: { note: 'x\uD800' } }))) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues).toEqual([{ path: 'metadata.note', message: expect.stringMatching(/lone surrogate/) }]);
      expect(await rejection(cp.list('t', { metadata: { ['k\uDBFF']: 1 } }))).toBeInstanceOf(ValidationError);
      expect(await cp.get('t')).toBeUndefined();
    } finally {
      await cp.close();
    }
  });
});

describe('ids, metadata and states the database or the stack would refuse', () => {
  it('refuses ids over 512 UTF-8 bytes even when they are under 512 characters', async () => {
    const cp = new PostgresCheckpointer(db, { tenantId: 'bytes' });
    try {
      const wide = '東'.repeat(200); // 200 characters, 600 bytes
      expect(await rejection(cp.put(wide, 1))).toBeInstanceOf(ValidationError);
      expect(await rejection(cp.put('t', 1, { namespace: wide }))).toBeInstanceOf(ValidationError);
      // At the bound, every id of the widest key (checkpoint_writes) fits the btree row limit.
      const full = '東'.repeat(170) + 'ab'; // 512 bytes
      const id = await cp.put(full, { ok: true }, { namespace: full, checkpointId: full });
      await cp.putWrites(full, id, full, [{ channel: full, value: 'w' }], { namespace: full, taskPath: full });
      const back = await cp.get(full, id, { namespace: full });
      expect(back?.state).toEqual({ ok: true });
      expect(back?.pendingWrites.map((w) => [w.taskId, w.channel, w.value])).toEqual([[full, full, 'w']]);
    } finally {
      await cp.close();
    }
  });

  it('refuses metadata nested 10,000 levels deep with a ValidationError naming the path, and keeps a __proto__-free copy exact', async () => {
    const cp = new PostgresCheckpointer(db, { tenantId: 'deep' });
    try {
      let deep: unknown = 1;
      for (let i = 0; i < 10_000; i += 1) deep = { d: deep };
      const error = (await rejection(cp.put('t', 1, { metadata: { deep } as never }))) as ValidationError;
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.issues[0]!.message).toMatch(/nested deeper than 256 levels/);
      let state: unknown = 'leaf';
      for (let i = 0; i < 10_000; i += 1) state = [state];
      expect((await rejection(cp.put('t', state))) as Error).toMatchObject({ name: 'SerializationError' });
      const proto = JSON.parse('{"__proto__":{"admin":true}}') as Record<string, never>;
      expect(await rejection(cp.put('t', 1, { metadata: proto }))).toBeInstanceOf(ValidationError);
      // In state (bytes, not jsonb) an own __proto__ key is kept exactly.
      const id = await cp.put('t', proto);
      const back = (await cp.get('t', id))!.state as object;
      expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ admin: true });
      const kept = JSON.parse('{"constructor":{"prototype":{"x":[1]}},"prototype":"p"}') as Record<string, never>;
      const withKeys = await cp.put('t', 1, { metadata: kept });
      expect((await cp.get('t', withKeys))?.metadata).toEqual(kept);
      expect(await cp.list('t', { metadata: { prototype: 'p' } })).toHaveLength(1);
    } finally {
      await cp.close();
    }
  });
});

/**
 * Ids: a third hostile, the rest valid but unusual (quotes, spaces, astral and combining characters, U+FFFD),
 * so that calls with several ids still reach the database often enough to test the round trip.
 */
const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: hostileId },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', ' ', "'", '"', '\\', 'é', 'e\u0301', '東', '\u{1F680}', '\uFFFD', '\u00A0'), minLength: 1, maxLength: 12 }) },
);

/** States: JSON-like values plus what the serializer carries (Map, Set, Date, bigint, bytes, undefined, NaN, -0), and deep chains. */
const stateArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: hostileJson() },
  {
    weight: 2,
    arbitrary: fc.tuple(hostileJson({ nonJson: false, maxChain: 2 }), hostileKey, fc.bigInt(), fc.date({ noInvalidDate: true }), fc.uint8Array({ maxLength: 8 })).map(
      ([json, key, big, date, bytes]) => ({ map: new Map<unknown, unknown>([[key, json]]), set: new Set([key]), big, date, bytes, u: undefined, nan: Number.NaN, negZero: -0, json }),
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 990, max: 1010 }).map((depth) => Array.from({ length: depth }).reduce<unknown>((inner) => [inner], 'leaf')) },
);

/** Metadata: an object of hostile keys and JSON-ish values, sometimes nested past the default depth. */
const metadataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.tuple(hostileKey, hostileJson({ maxChain: 3 })), { maxLength: 4 }).map((entries) => objectFromEntries(entries)) },
  { weight: 3, arbitrary: fc.array(fc.tuple(hostileKey, hostileJson({ nonJson: false, maxChain: 3 })), { maxLength: 3 }).map((entries) => objectFromEntries(entries)) },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 260 }).map((depth) => ({ deep: Array.from({ length: depth }).reduce<unknown>((inner) => ({ d: inner }), 1) })) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const namespaceArb = fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: idArb });

type Call =
  | { kind: 'put'; threadId: string; state: unknown; metadata: unknown; namespace: string; checkpointId: string | undefined }
  | { kind: 'putMany'; items: { threadId: string; state: unknown; metadata: unknown; namespace: string }[] }
  | { kind: 'putWrites'; threadId: string; taskId: string; writes: { channel: string; value: unknown }[]; namespace: string; onExisting: boolean };

const callArb: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), threadId: idArb, state: stateArb, metadata: metadataArb, namespace: namespaceArb, checkpointId: fc.option(idArb, { nil: undefined }) }),
  fc.record({
    kind: fc.constant('putMany' as const),
    items: fc.array(fc.record({ threadId: idArb, state: stateArb, metadata: metadataArb, namespace: namespaceArb }), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('putWrites' as const),
    threadId: idArb,
    taskId: idArb,
    writes: fc.array(fc.record({ channel: idArb, value: stateArb }), { minLength: 1, maxLength: 3 }),
    namespace: namespaceArb,
    onExisting: fc.constantFrom(true, true, true, false),
  }),
);

/** The error must be Cairn's, and about the input: caught before PostgreSQL, not mapped from its refusal. */
describe('the public write API, fuzzed on PostgreSQL', () => {
  it('round-trips every call exactly or refuses it with a typed Cairn error', async () => {
    const cp = new PostgresCheckpointer(db, { tenantId: 'fuzz', compression: { algorithm: 'none', thresholdBytes: 0 } });
    const outcomes = { roundTrips: 0, refused: 0 };
    let run = 0;
    try {
      // A checkpoint that putWrites can target when `onExisting` is set.
      const anchor = await cp.put('anchor', 'anchor state');

      /** Makes the call; returns how to read back what it wrote. */
      const perform = async (call: Call): Promise<() => Promise<void>> => {
        if (call.kind === 'put') {
          const opts = { metadata: call.metadata as never, namespace: call.namespace, ...(call.checkpointId === undefined ? {} : { checkpointId: call.checkpointId }) };
          const id = await cp.put(call.threadId, call.state, opts);
          return async () => {
            const back = await cp.get(call.threadId, id, { namespace: call.namespace });
            expect(back?.state).toEqual(call.state);
            expect(jsonEqual(back?.metadata, call.metadata ?? {})).toBe(true);
          };
        }
        if (call.kind === 'putMany') {
          const ids = await cp.putMany(call.items.map((item) => ({ ...item, metadata: item.metadata as never })));
          return async () => {
            for (const [i, item] of call.items.entries()) {
              const back = await cp.get(item.threadId, ids[i], { namespace: item.namespace });
              expect(back?.state).toEqual(item.state);
              expect(jsonEqual(back?.metadata, item.metadata ?? {})).toBe(true);
            }
          };
        }
        const [threadId, checkpointId, namespace] = call.onExisting ? ['anchor', anchor, ''] : [call.threadId, 'missing', call.namespace];
        // A task id of its own per run (the hostile part kept), so earlier runs' writes cannot mix in.
        const taskId = `${call.taskId}#${run}`;
        await cp.putWrites(threadId, checkpointId, taskId, call.writes, { namespace });
        return async () => {
          const back = await cp.get(threadId, checkpointId, { namespace });
          const mine = back!.pendingWrites.filter((w) => w.taskId === taskId).sort((a, b) => a.idx - b.idx);
          expect(mine.map((w) => [w.channel, w.value])).toEqual(call.writes.map((w) => [w.channel, w.value]));
        };
      };

      const performNext = (call: Parameters<typeof perform>[0]) => {
        run += 1;
        return perform(call);
      };
      // A write to a checkpoint the generated call never made is refused as not found, by design.
      const isRefusal = (error: unknown) => isInputRefusal(error) || error instanceof CheckpointNotFoundError;
      Object.assign(outcomes, await fuzzRoundTrips(callArb, performNext, { seed: 15_2026, numRuns: 200, isRefusal }));
    } finally {
      await cp.close();
    }
    // Both outcomes occur: the generators reach the rules from both sides.
    expect(outcomes.roundTrips).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
  });
});
