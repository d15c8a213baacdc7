// @cairn/core's input rules as @cairn/objects applies them, on real PostgreSQL: every input the
// driver or the database would change or refuse (lone surrogates, NUL, ids too long in bytes, JSON
// nested 10,000 levels deep, __proto__ keys) is a ValidationError raised before the database,
// naming the path; and a seeded fuzz of the public write API finds only exact round trips or typed
// Cairn input errors (never a driver error, a RangeError, or a silently changed value).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { z } from 'zod';
import { InvalidFilterError, StorageError, ValidationError } from '@cairn/core';
import { fuzzRoundTrips, hostileId, hostileJson, hostileKey, hostileString, jsonEqual, objectFromEntries, rejection } from '@cairn/core/testing';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { createObjectStore, SessionManager, ThreadManager, type ObjectSnapshot, type ObjectStore } from '../src/index.js';

let db: CairnDb;
let store: ObjectStore;

beforeAll(async () => {
  db = await createTestDb();
  store = createObjectStore(db, { tenantId: 'rules' });
});

afterAll(async () => {
  await store.close();
  await db.close();
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** A ValidationError about the input, raised before PostgreSQL (not a mapped refusal of it). */
function expectInputError(error: unknown, path?: string | RegExp, code = 'VALIDATION_FAILED'): ValidationError {
  expect(error).toBeInstanceOf(ValidationError);
  expect(error).not.toBeInstanceOf(StorageError);
  const validation = error as ValidationError;
  expect(validation).toMatchObject({ code, category: 'invalid_input' });
  if (path !== undefined) expect(validation.issues.map((i) => i.path)).toContainEqual(typeof path === 'string' ? path : expect.stringMatching(path));
  return validation;
}

/** A bad filter: core's InvalidFilterError (a ValidationError with code INVALID_FILTER), raised before PostgreSQL. */
function expectFilterError(error: unknown, path?: string | RegExp): ValidationError {
  expect(error).toBeInstanceOf(InvalidFilterError);
  return expectInputError(error, path, 'INVALID_FILTER');
}

/** `{ d: { d: ... leaf } }`, `depth` levels. */
function nested(depth: number, leaf: unknown = 1, asArray = false): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i += 1) value = asArray ? [value] : { d: value };
  return value;
}

async function objectRows(tenantId: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM objects WHERE tenant_id = $1', [tenantId]);
  return rows[0]!.n;
}

describe('lone surrogates', () => {
  it('are sent by node-postgres as U+FFFD, so two such ids would be one key', async () => {
    // Why the rule exists: if this ever stops being true, the refusals below are still right.
    const { rows } = await db.pool.query<{ same: boolean }>('SELECT $1::text = $2::text AS same', ['a\uD800b', 'a\uDBFFb']);
    expect(rows[0]!.same).toBe(true);
  });

  it('in object ids are refused, so one object can never be read or overwritten as another', async () => {
    const docs = store.collection('Doc', z.object({ owner: z.string() }));
    expectInputError(await rejection(docs.save('a\uD800b', { owner: 'first' })));
    expectInputError(await rejection(docs.get('a\uDBFFb')));
    expectInputError(await rejection(docs.update('a\uDBFFb', () => ({ owner: 'second' }))));
    expectInputError(await rejection(docs.delete('a\uDC00')));
    // The same code units as a well-formed pair are an ordinary, distinct id.
    await docs.save('a\uD800\uDC00b', { owner: 'pair' });
    expect((await docs.get('a\uD800\uDC00b')).data).toEqual({ owner: 'pair' });
    expect(await docs.load('a\uFFFDb')).toBeNull();
  });

  it('in session, thread and user ids are refused, across tenants too', async () => {
    const sessions = new SessionManager(db, { tenantId: 'alias-a' });
    const threads = new ThreadManager(db, { tenantId: 'alias-a' });
    expectInputError(await rejection(sessions.create({ userId: 'u', id: 's\uD800' })), 'id');
    expectInputError(await rejection(sessions.create({ userId: 'u\uDBFF' })), 'userId');
    expectInputError(await rejection(sessions.forTenant('alias-b').get('s\uDBFF')));
    expectInputError(await rejection(threads.create({ userId: 'u', id: 't\uDFFF' })), 'id');
    expectInputError(await rejection(threads.forTenant('alias-b').listByUser('u\uD800')));
    for (const tenantId of ['tenant\uD800', 'tenant\uDBFF']) {
      expectInputError(thrown(() => new SessionManager(db, { tenantId })), 'tenantId');
      expectInputError(thrown(() => new ThreadManager(db, { tenantId })), 'tenantId');
      expectInputError(thrown(() => createObjectStore(db, { tenantId })), 'tenantId');
      expectInputError(thrown(() => store.forTenant(tenantId)));
    }
  });

  it('in data, metadata and find values are a ValidationError naming the path, never 22P02', async () => {
    const notes = store.collection('Note', z.object({ text: z.string(), tags: z.record(z.string(), z.number()).optional() }));
    expectInputError(await rejection(notes.save('n', { text: 'x\uD800' })), 'text');
    expectInputError(await rejection(notes.save('n', { text: 'ok', tags: { ['k\uDBFF']: 1 } })), /^tags\[/);
    expectFilterError(await rejection(notes.find({ where: { text: 'x\uDFFF' } })), 'where.text');
    expectFilterError(await rejection(notes.count({ equals: { text: 'x\uD800' } })), 'equals.text');
    const sessions = new SessionManager(db, { tenantId: 'surrogate-meta' });
    expectInputError(await rejection(sessions.create({ userId: 'u', metadata: { note: 'x\uD800' } })), 'metadata.note');
    const session = await sessions.create({ userId: 'u' });
    expectInputError(await rejection(sessions.update(session.id, { mergeMetadata: { note: 'x\uDBFF' } })), 'mergeMetadata.note');
    const threads = new ThreadManager(db, { tenantId: 'surrogate-meta' });
    expectInputError(await rejection(threads.create({ userId: 'u', metadata: { ['\uDC00']: 1 } })));
    // A lone surrogate in a title would be stored as U+FFFD: refused too.
    expectInputError(await rejection(threads.create({ userId: 'u', title: 'x\uD800' })), 'title');
    expect(await notes.exists('n')).toBe(false);
    expect((await sessions.require(session.id)).metadata).toEqual({});
  });
});

describe('NUL, which PostgreSQL text and jsonb cannot hold', () => {
  it('in object data (values and keys) is a ValidationError naming the path, not 22P05', async () => {
    const loose = store.collection('Loose', z.record(z.string(), z.unknown()));
    expectInputError(await rejection(loose.save('nul', { text: 'a\u0000b' })), 'text');
    expectInputError(await rejection(loose.save('nul', { list: [1, 'x\u0000'] })), 'list[1]');
    expectInputError(await rejection(loose.save('nul', { ['k\u0000']: 1 })));
    expectInputError(await rejection(loose.patch('nul', [{ op: 'add', path: '/text', value: 'a\u0000' }])));
    expect(await loose.exists('nul')).toBe(false);
  });

  it('in find and count values is an InvalidFilterError naming the path, not 22P05', async () => {
    const people = store.collection('Person', z.object({ name: z.string(), address: z.object({ city: z.string() }).optional() }));
    await people.save('p1', { name: 'Ada', address: { city: 'Paris' } });
    expectFilterError(await rejection(people.find({ where: { name: 'A\u0000' } })), 'where.name');
    expectFilterError(await rejection(people.find({ where: { address: { city: 'P\u0000' } } })), 'where.address.city');
    expectFilterError(await rejection(people.find({ where: { 'address.city': 'P\u0000' } })), /^where\["address\.city"\]$/);
    expectFilterError(await rejection(people.count({ equals: { name: 'A\u0000' } })), 'equals.name');
    expectFilterError(await rejection(people.find({ equals: { address: { city: 'P\u0000' } } })), 'equals.address.city');
    expect((await people.find({ where: { address: { city: 'Paris' } } })).items.map((r) => r.id)).toEqual(['p1']);
  });

  it('in session metadata and thread titles and metadata is a ValidationError, not 22P05 or 22021', async () => {
    const sessions = new SessionManager(db, { tenantId: 'nul' });
    const threads = new ThreadManager(db, { tenantId: 'nul' });
    expectInputError(await rejection(sessions.create({ userId: 'u', metadata: { note: 'a\u0000b' } })), 'metadata.note');
    const session = await sessions.create({ userId: 'u', metadata: { note: 'kept' } });
    expectInputError(await rejection(sessions.update(session.id, { mergeMetadata: { note: '\u0000' } })), 'mergeMetadata.note');
    expectInputError(await rejection(sessions.update(session.id, { metadata: { note: '\u0000' } })), 'metadata.note');
    expect((await sessions.require(session.id)).metadata).toEqual({ note: 'kept' });

    expectInputError(await rejection(threads.create({ userId: 'u', title: 'a\u0000b' })), 'title');
    expectInputError(await rejection(threads.create({ userId: 'u', metadata: { x: ['\u0000'] } })), 'metadata.x[0]');
    const thread = await threads.create({ userId: 'u', sessionId: session.id, title: 'tabs\tand\nnewlines are text' });
    expectInputError(await rejection(threads.update(thread.id, { title: '\u0000' })), 'title');
    expectInputError(await rejection(threads.update(thread.id, { mergeMetadata: { y: '\u0000' } })), 'mergeMetadata.y');
    expect(await threads.require(thread.id)).toMatchObject({ title: 'tabs\tand\nnewlines are text', metadata: {} });
    expectInputError(await rejection(sessions.create({ userId: 'u\u0000' })), 'userId');
  });
});

describe('ids longer than 512 UTF-8 bytes', () => {
  const wide = '東'.repeat(200); // 200 characters, 600 bytes
  const full = '東'.repeat(170) + 'ab'; // 512 bytes

  it('are refused even when they are under 512 characters, for objects, sessions, threads and users', async () => {
    const docs = store.collection('Wide', z.object({ n: z.number() }));
    expectInputError(await rejection(docs.save(wide, { n: 1 })));
    expectInputError(await rejection(docs.get('東'.repeat(512))));
    const sessions = new SessionManager(db, { tenantId: 'bytes' });
    const threads = new ThreadManager(db, { tenantId: 'bytes' });
    expectInputError(await rejection(sessions.create({ userId: 'u', id: wide })), 'id');
    expectInputError(await rejection(sessions.create({ userId: wide })), 'userId');
    expectInputError(await rejection(threads.create({ userId: 'u', id: wide })), 'id');
    expectInputError(await rejection(threads.create({ userId: 'u', sessionId: wide })), 'sessionId');
    expect(await docs.count()).toBe(0);
  });

  it('are accepted up to the bound, where every id of every key still fits a btree row', async () => {
    const docs = store.collection('Wide', z.object({ n: z.number() }));
    await docs.save(full, { n: 1 });
    expect((await docs.get(full)).data).toEqual({ n: 1 });
    const sessions = new SessionManager(db, { tenantId: 'bytes' });
    const threads = new ThreadManager(db, { tenantId: 'bytes' });
    const session = await sessions.create({ userId: full, id: full });
    const thread = await threads.create({ userId: full, id: `${full.slice(0, -1)}c`, sessionId: session.id });
    expect((await threads.listBySession(full)).items.map((t) => t.id)).toEqual([thread.id]);
    expect((await sessions.listByUser(full)).items.map((s) => s.id)).toEqual([full]);
  });
});

describe('JSON nested 10,000 levels deep', () => {
  const deep = nested(10_000);
  const deepArray = nested(10_000, 'leaf', true);

  it('is a ValidationError naming where (never a RangeError) in object data, even under a recursive schema', async () => {
    type Tree = number | Tree[];
    const Tree: z.ZodType<Tree> = z.lazy(() => z.union([z.number(), z.array(Tree)]));
    const trees = store.collection('Tree', Tree);
    const error = expectInputError(await rejection(trees.save('t', deepArray)));
    expect(error.issues[0]!.message).toMatch(/nested deeper than 256 levels/);
    expectInputError(await rejection(store.collection('Any', z.any()).save('deep', deep)));
    const entities = store.entities('Entity', { fromData: (data: unknown, id: string) => ({ id, toData: () => data }) });
    expectInputError(await rejection(entities.save({ id: 'e', toData: () => deep })));
    const docs = store.collection('Patched', z.any());
    await docs.save('p', { a: 1 });
    expectInputError(await rejection(docs.patch('p', [{ op: 'add', path: '/b', value: deep }])));
    // Values within the bound that nest the stored document past it: refused when the result is checked.
    await docs.save('q', nested(200));
    expectInputError(await rejection(docs.patch('q', [{ op: 'add', path: `${'/d'.repeat(150)}/x`, value: nested(150) }])));
    expect((await docs.get('q')).version).toBe(1);
    expect((await docs.get('p')).data).toEqual({ a: 1 });
  });

  it('is an InvalidFilterError in find filters', async () => {
    const docs = store.collection('Filtered', z.object({ extra: z.any() }));
    expectFilterError(await rejection(docs.find({ where: { extra: deep } })));
    expectFilterError(await rejection(docs.find({ where: { extra: deepArray } })));
    expectFilterError(await rejection(docs.count({ equals: { extra: deep as never } })));
  });

  it('is a ValidationError in session and thread metadata (create, replace and merge)', async () => {
    const sessions = new SessionManager(db, { tenantId: 'deep' });
    const threads = new ThreadManager(db, { tenantId: 'deep' });
    expectInputError(await rejection(sessions.create({ userId: 'u', metadata: { deep } as never })));
    const session = await sessions.create({ userId: 'u' });
    expectInputError(await rejection(sessions.update(session.id, { metadata: { deep } as never })));
    expectInputError(await rejection(sessions.update(session.id, { mergeMetadata: { deep } as never })));
    expectInputError(await rejection(threads.create({ userId: 'u', metadata: { deep } as never })));
    const thread = await threads.create({ userId: 'u' });
    expectInputError(await rejection(threads.update(thread.id, { mergeMetadata: { deepArray } as never })));
  });

  it('is a ValidationError in an imported snapshot, which imports nothing', async () => {
    const snapshot = {
      format: 'cairn.objects.snapshot/v1',
      tenantId: 'elsewhere',
      takenAt: '2026-01-01T00:00:00.000Z',
      types: null,
      objects: [
        { type: 'Doc', id: 'ok', version: 1, data: { fine: true }, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' },
        { type: 'Doc', id: 'deep', version: 1, data: deep, createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' },
      ],
    };
    const target = store.forTenant('snapshot-deep');
    expectInputError(await rejection(target.importSnapshot(snapshot as never)), /^objects\[1\]\.data/);
    expect(await objectRows('snapshot-deep')).toBe(0);
  });
});

describe('a snapshot edited by hand', () => {
  const at = '2026-01-01T00:00:00.000Z';
  const object = { type: 'Doc', id: 'x', version: 1, data: {}, createdAt: at, updatedAt: at };
  const snapshotWith = (patch: Record<string, unknown>): ObjectSnapshot =>
    ({ format: 'cairn.objects.snapshot/v1', tenantId: 't', takenAt: at, types: null, objects: [{ ...object, ...patch }] });

  it('is refused field by field before PostgreSQL would refuse it mid-import', async () => {
    const target = store.forTenant('snapshot-edited');
    for (const [patch, path] of [
      [{ id: 'a\uD800' }, 'objects[0].id'],
      [{ data: { text: 'a\u0000' } }, 'objects[0].data.text'],
      [{ data: JSON.parse('{"__proto__": {"admin": true}}') as unknown }, 'objects[0].data.__proto__'],
      [{ version: 2 ** 31 }, 'objects[0].version'],
      [{ createdAt: '0000-01-01T00:00:00.000Z' }, 'objects[0].createdAt'],
      [{ history: [{ version: 1, operation: 'save\u0000', createdAt: at, data: {} }] }, 'objects[0].history[0].operation'],
    ] as const) {
      expectInputError(await rejection(target.importSnapshot(snapshotWith(patch))), path);
    }
    expect(await objectRows('snapshot-edited')).toBe(0);
    expect(await target.importSnapshot(snapshotWith({ id: 'x\uD800\uDC00', data: { constructor: 'kept' } }))).toMatchObject({ imported: 1 });
    expect((await target.collection('Doc', z.any()).get('x\uD800\uDC00')).data).toEqual({ constructor: 'kept' });
  });
});

describe('a __proto__ key', () => {
  const proto = () => JSON.parse('{"__proto__": {"admin": true}, "name": "x"}') as Record<string, unknown>;

  it('in object data is refused (whatever the schema would do with it), never dropped', async () => {
    for (const [type, schema] of [
      ['ProtoRecord', z.record(z.string(), z.unknown())],
      ['ProtoObject', z.object({ name: z.string() })],
      ['ProtoLoose', z.looseObject({ name: z.string() })],
      ['ProtoAny', z.any()],
    ] as const) {
      const docs = store.collection(type, schema);
      const error = expectInputError(await rejection(docs.save('p', proto())), '__proto__');
      expect(error.issues[0]!.message).toMatch(/__proto__|prototype/);
      expect(await docs.exists('p')).toBe(false);
    }
    // `constructor` and `prototype` are ordinary keys, stored and read back.
    const kept = JSON.parse('{"constructor": {"prototype": {"x": [1]}}, "prototype": "p", "toString": 1}') as Record<string, unknown>;
    const docs = store.collection('ProtoKept', z.record(z.string(), z.unknown()));
    await docs.save('k', kept);
    expect(jsonEqual((await docs.get('k')).data, kept)).toBe(true);
    expect((await docs.find({ where: { constructor: { prototype: { x: [1] } } } })).items.map((r) => r.id)).toEqual(['k']);
    expect(await docs.count({ equals: { 'constructor.prototype.x.0': 1 } })).toBe(1);
  });

  it('in session and thread metadata (and a merge) is refused, never dropped', async () => {
    const sessions = new SessionManager(db, { tenantId: 'proto' });
    const threads = new ThreadManager(db, { tenantId: 'proto' });
    expectInputError(await rejection(sessions.create({ userId: 'u', metadata: proto() as never })), 'metadata.__proto__');
    const session = await sessions.create({ userId: 'u', metadata: { name: 'before' } });
    expectInputError(await rejection(sessions.update(session.id, { mergeMetadata: proto() as never })), 'mergeMetadata.__proto__');
    expectInputError(await rejection(sessions.update(session.id, { metadata: proto() as never })), 'metadata.__proto__');
    expect((await sessions.require(session.id)).metadata).toEqual({ name: 'before' });
    expectInputError(await rejection(threads.create({ userId: 'u', metadata: proto() as never })), 'metadata.__proto__');
    const thread = await threads.create({ userId: 'u', metadata: { name: 'before' } });
    expectInputError(await rejection(threads.update(thread.id, { mergeMetadata: proto() as never })), 'mergeMetadata.__proto__');
    expect((await threads.require(thread.id)).metadata).toEqual({ name: 'before' });
  });

  it('in a filter is refused, and no filter path reaches Object.prototype', async () => {
    const docs = store.collection('ProtoFilter', z.record(z.string(), z.any()));
    await docs.save('a', { name: 'a' });
    await docs.save('b', { name: 'b' });
    expectFilterError(await rejection(docs.find({ where: proto() as never })), 'where.__proto__');
    expectFilterError(await rejection(docs.find({ where: { 'name.__proto__.polluted': 1 } })));
    expectFilterError(await rejection(docs.find({ where: { name: JSON.parse('{"__proto__": {"polluted": 1}}') as never } })));
    expectFilterError(await rejection(docs.count({ equals: { '__proto__.polluted': 1 } })));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('other inputs that used to reach PostgreSQL', () => {
  it('a tampered cursor is a ValidationError, whatever it decodes to', async () => {
    const docs = store.collection('Paged', z.object({ n: z.number() }));
    for (let n = 0; n < 3; n += 1) await docs.save(`d${n}`, { n });
    const page = await docs.list({ limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    const forge = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    const [order, time] = JSON.parse(Buffer.from(page.nextCursor!, 'base64url').toString('utf8')) as [string, string, string];
    for (const cursor of [
      forge([order, time, 'd\u0000']), // NUL: 22021
      forge([order, time, 'd\uD800']), // would alias
      forge([order, time, '東'.repeat(200)]),
      forge([order, '1', 'd1']), // Date.parse reads it as 2001; timestamptz refuses it (22007)
      forge([order, '0000-01-01T00:00:00.000Z', 'd1']), // year 0: 22008
      forge([order, time]),
      'not a cursor at all',
      `${page.nextCursor!.slice(0, -2)}zz`,
    ]) {
      expectInputError(await rejection(docs.list({ limit: 1, cursor })), 'cursor');
    }
    const sessions = new SessionManager(db, { tenantId: 'cursor' });
    expectInputError(await rejection(sessions.listByUser('u', { cursor: forge(['session:createdAt:desc', time, 's\u0000']) })), 'cursor');
    const threads = new ThreadManager(db, { tenantId: 'cursor' });
    expectInputError(await rejection(threads.listByUser('u', { cursor: forge(['thread:createdAt:desc', '99999', 't']) })), 'cursor');
  });

  it('versions past int4, and expiries past timestamptz, are ValidationErrors', async () => {
    const docs = store.collection('Versioned', z.object({ n: z.number() }));
    await docs.save('v', { n: 1 });
    expectInputError(await rejection(docs.save('v', { n: 2 }, { expectedVersion: 2 ** 31 })), 'expectedVersion');
    expectInputError(await rejection(docs.loadVersion('v', 2 ** 31)));
    expectInputError(await rejection(docs.versions('v', { beforeVersion: 2 ** 40 })), 'beforeVersion');
    const sessions = new SessionManager(db, { tenantId: 'expiry' });
    expectInputError(await rejection(sessions.create({ userId: 'u', expiresAt: new Date(-8.64e15) })), 'expiresAt');
    expectInputError(await rejection(sessions.create({ userId: 'u', expiresAt: new Date(Number.NaN) })), 'expiresAt');
    expectInputError(await rejection(sessions.create({ userId: 'u', ttlSeconds: 1e300 })), 'ttlSeconds');
    const session = await sessions.create({ userId: 'u', expiresAt: new Date('9999-12-31T23:59:59.999Z') });
    expect((await sessions.require(session.id)).expiresAt).toEqual(new Date('9999-12-31T23:59:59.999Z'));
  });
});

// ---------------------------------------------------------------- the fuzz

/**
 * What objects promises to read back for `value`: the value itself, except for its two documented
 * leniencies (a Date reads back as its ISO string, a property whose value is undefined as absent).
 * Everything else (NaN, a Map, a class instance) is left as it is, so the oracle fails unless the
 * write was refused.
 */
function asStored(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(asStored);
  if (typeof value !== 'object' || value === null) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const entries = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => [key, asStored((value as Record<string, unknown>)[key])] as const);
  return objectFromEntries(entries);
}

/** Ids: a third hostile, the rest valid but unusual, so that calls with several ids still reach the database. */
const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: hostileId },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', ' ', "'", '"', '\\', '%', 'é', 'e\u0301', '東', '\u{1F680}', '\uFFFD', '\u00A0'), minLength: 1, maxLength: 12 }) },
);

const tenantArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: hostileId },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,20}$/) },
);

/** Data: JSON-like values (with what JSON cannot hold), sometimes nested past the bound. */
const dataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileJson() },
  { weight: 2, arbitrary: hostileJson({ nonJson: false }) },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 262 }).map((depth) => nested(depth, 'leaf', depth % 2 === 0)) },
);

/** Metadata: objects of hostile keys and JSON-ish values, sometimes nested past the bound. */
const metadataArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.tuple(hostileKey, hostileJson({ maxChain: 3 })), { maxLength: 4 }).map((entries) => objectFromEntries(entries)) },
  { weight: 3, arbitrary: fc.array(fc.tuple(hostileKey, hostileJson({ nonJson: false, maxChain: 3 })), { maxLength: 3 }).map((entries) => objectFromEntries(entries)) },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 260 }).map((depth) => ({ deep: nested(depth) })) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const titleArb: fc.Arbitrary<string | null | undefined> = fc.oneof(
  { weight: 4, arbitrary: hostileString({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined) },
  { weight: 1, arbitrary: fc.string({ minLength: 995, maxLength: 1005 }) },
);

type Call =
  | { kind: 'save'; tenant: string | undefined; id: string; data: unknown; create: boolean }
  | { kind: 'update'; id: string; data: unknown }
  | { kind: 'patch'; key: string; value: unknown }
  | { kind: 'find'; value: unknown; filter: 'where' | 'equals' }
  | { kind: 'import'; id: string; data: unknown }
  | { kind: 'session'; id: string | undefined; userId: string; metadata: unknown }
  | { kind: 'mergeMetadata'; merge: unknown }
  | { kind: 'thread'; id: string | undefined; userId: string; title: string | null | undefined; metadata: unknown }
  | { kind: 'rename'; title: string | null; merge: unknown };

const callArb: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ kind: fc.constant('save' as const), tenant: tenantArb, id: idArb, data: dataArb, create: fc.boolean() }),
  fc.record({ kind: fc.constant('update' as const), id: idArb, data: dataArb }),
  fc.record({ kind: fc.constant('patch' as const), key: hostileKey, value: dataArb }),
  fc.record({ kind: fc.constant('find' as const), value: dataArb, filter: fc.constantFrom('where' as const, 'equals' as const) }),
  fc.record({ kind: fc.constant('import' as const), id: idArb, data: dataArb }),
  fc.record({ kind: fc.constant('session' as const), id: fc.option(idArb, { nil: undefined }), userId: idArb, metadata: metadataArb }),
  fc.record({ kind: fc.constant('mergeMetadata' as const), merge: metadataArb.filter((m) => m !== undefined) }),
  fc.record({ kind: fc.constant('thread' as const), id: fc.option(idArb, { nil: undefined }), userId: idArb, title: titleArb, metadata: metadataArb }),
  fc.record({ kind: fc.constant('rename' as const), title: titleArb.map((t) => t ?? null), merge: metadataArb }),
);

/** A refusal must be Cairn's and about the input: typed, category invalid_input, not a mapped driver error. */
/** A JSON Pointer to the member `key` of the root (RFC 6901 escapes). */
const pointerTo = (key: string) => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

describe('the public write API, fuzzed on PostgreSQL', () => {
  it('round-trips every call exactly or refuses it with a typed Cairn input error', async () => {
    const fuzz = createObjectStore(db, { tenantId: 'fuzz' });
    const sessions = new SessionManager(db, { tenantId: 'fuzz' });
    const threads = new ThreadManager(db, { tenantId: 'fuzz' });
    const outcomes = { roundTrips: 0, refused: 0 };
    let run = 0;
    try {
      const anyData = fuzz.collection('Any', z.any());
      const probes = fuzz.collection('Probe', z.object({ v: z.any() }));
      // What mergeMetadata and rename change: one session and one thread, changed run after run.
      const session = await sessions.create({ userId: 'fuzz-user' });
      const thread = await threads.create({ userId: 'fuzz-user', sessionId: session.id });
      const merged = (before: object, merge: unknown) => objectFromEntries(Object.entries({ ...before, ...((merge as object | undefined) ?? {}) }));

      /** Makes one call (and the calls it needs first); returns how to read back and compare what it wrote. */
      const perform = async (call: Call): Promise<() => Promise<void>> => {
        // Ids of their own per run (the hostile part kept), so that runs cannot collide.
        const own = (id: string) => `${id}#${run}`;
        switch (call.kind) {
          case 'save': {
            const target = call.tenant === undefined ? fuzz : fuzz.forTenant(call.tenant);
            const docs = target.collection('Any', z.any());
            const id = call.create ? own(call.id) : call.id;
            if (call.create) await docs.create(id, call.data);
            else await docs.save(id, call.data);
            return async () => expect(jsonEqual((await docs.get(id)).data, asStored(call.data))).toBe(true);
          }
          case 'update': {
            const id = own(call.id);
            await anyData.create(id, { seed: true });
            await anyData.update(id, () => call.data);
            return async () => expect(jsonEqual((await anyData.get(id)).data, asStored(call.data))).toBe(true);
          }
          case 'patch': {
            const id = `patch#${run}`;
            await anyData.save(id, { base: 1 });
            await anyData.patch(id, [{ op: 'add', path: pointerTo(call.key), value: call.value }]);
            const expected = objectFromEntries([...(call.key === 'base' ? [] : [['base', 1] as const]), [call.key, asStored(call.value)]]);
            return async () => expect(jsonEqual((await anyData.get(id)).data, expected)).toBe(true);
          }
          case 'find': {
            // Stored first, then found by the same value: a filter value that is accepted must match what it stored.
            const id = `probe#${run}`;
            await probes.save(id, { v: call.value });
            const page = await probes.find({ [call.filter]: { v: call.value }, limit: 1000 });
            return async () => expect(page.items.map((r) => r.id)).toContain(id);
          }
          case 'import': {
            // Into a tenant of its own per run; snapshots hold plain JSON only (no Date, no undefined).
            const target = fuzz.forTenant(`fuzz-import-${run}`);
            const at = new Date().toISOString();
            const snapshot = { format: 'cairn.objects.snapshot/v1', tenantId: 'fuzz', takenAt: at, types: null, objects: [{ type: 'Any', id: call.id, version: 3, data: call.data, createdAt: at, updatedAt: at }] };
            await target.importSnapshot(snapshot as never);
            return async () => {
              const back = await target.collection('Any', z.any()).get(call.id);
              expect(back.version).toBe(3);
              expect(jsonEqual(back.data, call.data)).toBe(true);
            };
          }
          case 'session': {
            const created = await sessions.create({ userId: call.userId, ...(call.id === undefined ? {} : { id: own(call.id) }), ...(call.metadata === undefined ? {} : { metadata: call.metadata as never }) });
            return async () => {
              const back = await sessions.require(created.id);
              expect(back.userId).toBe(call.userId);
              if (call.id !== undefined) expect(back.id).toBe(own(call.id));
              expect(jsonEqual(back.metadata, call.metadata ?? {})).toBe(true);
            };
          }
          case 'mergeMetadata': {
            const expected = merged((await sessions.require(session.id)).metadata, call.merge);
            await sessions.update(session.id, { mergeMetadata: call.merge as never });
            return async () => expect(jsonEqual((await sessions.require(session.id)).metadata, expected)).toBe(true);
          }
          case 'thread': {
            const created = await threads.create({
              userId: call.userId,
              ...(call.id === undefined ? {} : { id: own(call.id) }),
              ...(call.title === undefined ? {} : { title: call.title }),
              ...(call.metadata === undefined ? {} : { metadata: call.metadata as never }),
            });
            return async () => {
              const back = await threads.require(created.id);
              expect(back.userId).toBe(call.userId);
              expect(back.title).toBe(call.title ?? null);
              expect(jsonEqual(back.metadata, call.metadata ?? {})).toBe(true);
            };
          }
          case 'rename': {
            const expected = merged((await threads.require(thread.id)).metadata, call.merge);
            await threads.update(thread.id, { title: call.title, ...(call.merge === undefined ? {} : { mergeMetadata: call.merge as never }) });
            return async () => {
              const back = await threads.require(thread.id);
              expect(back.title).toBe(call.title);
              expect(jsonEqual(back.metadata, expected)).toBe(true);
            };
          }
        }
      };

      const performNext = (call: Parameters<typeof perform>[0]) => {
        run += 1;
        return perform(call);
      };
      Object.assign(outcomes, await fuzzRoundTrips(callArb, performNext, { seed: 2026_12_03, numRuns: 200 }));
    } finally {
      await fuzz.close();
      await sessions.close();
    }
    // Both outcomes occur: the generators reach the rules from both sides.
    expect(outcomes.roundTrips).toBeGreaterThan(40);
    expect(outcomes.refused).toBeGreaterThan(40);
  });
});
