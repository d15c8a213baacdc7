// Typed collections against a real PostgreSQL: CRUD, validation on write and on read, listing,
// filters, and hostile ids / filter paths.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ValidationError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { createObjectStore, ObjectNotFoundError, StoredObjectInvalidError, VersionConflictError, type ObjectStore } from '../src/index.js';

const Profile = z.object({
  name: z.string().min(1),
  age: z.number().int().nonnegative(),
  address: z.object({ city: z.string(), zip: z.string().optional() }).optional(),
  tags: z.array(z.string()).default([]),
  joined: z.coerce.date().optional(),
});

let db: CairnDb;
let store: ObjectStore;

beforeAll(async () => {
  db = await createTestDb();
  store = createObjectStore(db);
});

afterAll(async () => {
  await store.close();
  await db.close();
});

describe('a typed collection', () => {
  it('saves, loads, checks existence and deletes an object', async () => {
    const profiles = store.collection('Profile', Profile);
    const saved = await profiles.save('u1', { name: 'Ada', age: 36 });
    expect(saved).toMatchObject({ type: 'Profile', id: 'u1', version: 1, data: { name: 'Ada', age: 36, tags: [] } });
    expect(saved.createdAt).toBeInstanceOf(Date);

    const loaded = await profiles.load('u1');
    expect(loaded).toEqual(saved);
    expect(await profiles.exists('u1')).toBe(true);

    const second = await profiles.save('u1', { name: 'Ada', age: 37 });
    expect(second.version).toBe(2);
    expect(second.createdAt).toEqual(saved.createdAt);

    expect(await profiles.delete('u1')).toBe(true);
    expect(await profiles.delete('u1')).toBe(false);
    expect(await profiles.load('u1')).toBeNull();
    expect(await profiles.exists('u1')).toBe(false);
    await expect(profiles.get('u1')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('round-trips dates through z.coerce.date() as ISO strings', async () => {
    const profiles = store.collection('Profile', Profile);
    const joined = new Date('2024-02-29T12:34:56.789Z');
    await profiles.save('dated', { name: 'Grace', age: 40, joined });
    expect((await profiles.get('dated')).data.joined).toEqual(joined);
    const { rows } = await db.pool.query<{ j: string }>(`SELECT data->>'joined' AS j FROM objects WHERE tenant_id = 'default' AND type = 'Profile' AND id = 'dated'`);
    expect(rows[0]?.j).toBe('2024-02-29T12:34:56.789Z');
  });

  it('rejects invalid data on write with every failing path, and writes nothing', async () => {
    const profiles = store.collection('Profile', Profile);
    const error = await profiles.save('bad', { name: '', age: -1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path).sort()).toEqual(['age', 'name']);
    expect(await profiles.exists('bad')).toBe(false);
  });

  it('refuses data that JSON would silently change (NaN, Map, undefined in arrays)', async () => {
    const loose = store.collection('Loose', z.any());
    await expect(loose.save('x', { n: Number.NaN })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: 'n' }] });
    await expect(loose.save('x', { m: new Map() })).rejects.toBeInstanceOf(ValidationError);
    await expect(loose.save('x', { a: [1, undefined] })).rejects.toMatchObject({ issues: [{ path: 'a[1]' }] });
    expect(await loose.exists('x')).toBe(false);
  });

  it('raises a typed error naming the object and the failing path when a stored row no longer matches', async () => {
    const profiles = store.collection('Profile', Profile);
    await profiles.save('drifted', { name: 'Linus', age: 50, address: { city: 'Helsinki' } });
    await db.pool.query(
      `UPDATE objects SET data = jsonb_set(data, '{address,city}', '42') WHERE tenant_id = 'default' AND type = 'Profile' AND id = 'drifted'`,
    );
    const error = await profiles.load('drifted').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoredObjectInvalidError);
    expect(error).toMatchObject({ code: 'STORED_OBJECT_INVALID', type: 'Profile', id: 'drifted', version: 1, path: 'address.city' });
    // A listing that meets the row fails the same way instead of returning a wrong object.
    await expect(profiles.find({ where: { name: 'Linus' } })).rejects.toBeInstanceOf(StoredObjectInvalidError);
    await profiles.delete('drifted');
  });

  it('enforces expectedVersion on save and delete', async () => {
    const profiles = store.collection('Profile', Profile);
    const created = await profiles.create('cv', { name: 'Edsger', age: 72 });
    expect(created.version).toBe(1);
    await expect(profiles.create('cv', { name: 'Other', age: 1 })).rejects.toMatchObject({ code: 'VERSION_CONFLICT', expectedVersion: 0, actualVersion: 1 });
    await profiles.save('cv', { name: 'Edsger', age: 73 }, { expectedVersion: 1 });
    const stale = await profiles.save('cv', { name: 'Stale', age: 0 }, { expectedVersion: 1 }).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(VersionConflictError);
    expect(stale).toMatchObject({ expectedVersion: 1, actualVersion: 2 });
    expect((await profiles.get('cv')).data.name).toBe('Edsger');
    await expect(profiles.save('missing', { name: 'M', age: 1 }, { expectedVersion: 3 })).rejects.toMatchObject({ actualVersion: 0 });
    expect(await profiles.exists('missing')).toBe(false);
    await expect(profiles.delete('cv', { expectedVersion: 1 })).rejects.toBeInstanceOf(VersionConflictError);
    expect(await profiles.delete('cv', { expectedVersion: 2 })).toBe(true);
  });

  it('lists newest first with stable keyset pagination in every ordering', async () => {
    const items = store.collection('Item', z.object({ n: z.number() }));
    for (let i = 0; i < 7; i++) await items.save(`item-${i}`, { n: i });
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof items.list>> = await items.list({ limit: 3, cursor });
      seen.push(...page.items.map((r) => r.data.n));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([6, 5, 4, 3, 2, 1, 0]);

    const byId = await items.list({ orderBy: { field: 'id' }, limit: 4 });
    expect(byId.items.map((r) => r.id)).toEqual(['item-0', 'item-1', 'item-2', 'item-3']);
    const rest = await items.list({ orderBy: { field: 'id' }, limit: 4, cursor: byId.nextCursor });
    expect(rest.items.map((r) => r.id)).toEqual(['item-4', 'item-5', 'item-6']);
    expect(rest.nextCursor).toBeNull();

    const oldest = await items.list({ orderBy: { field: 'createdAt', direction: 'asc' }, limit: 2 });
    expect(oldest.items.map((r) => r.data.n)).toEqual([0, 1]);
    // A cursor made for one ordering is refused by another rather than skipping rows.
    await expect(items.list({ cursor: byId.nextCursor })).rejects.toBeInstanceOf(ValidationError);
    await expect(items.list({ cursor: 'garbage' })).rejects.toBeInstanceOf(ValidationError);
    expect(await items.count()).toBe(7);
    const all: number[] = [];
    for await (const record of items.iterate({ orderBy: { field: 'id' }, limit: 2 })) all.push(record.data.n);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('finds by JSON containment and by exact values at paths', async () => {
    const people = store.collection('Person', Profile);
    await people.save('p1', { name: 'Ana', age: 30, address: { city: 'Paris' }, tags: ['admin', 'dev'] });
    await people.save('p2', { name: 'Bo', age: 30, address: { city: 'Oslo' }, tags: ['dev'] });
    await people.save('p3', { name: 'Cy', age: 41, address: { city: 'Paris', zip: '75001' }, tags: [] });

    const ids = async (p: Promise<{ items: { id: string }[] }>) => (await p).items.map((r) => r.id).sort();
    expect(await ids(people.find({ where: { address: { city: 'Paris' } } }))).toEqual(['p1', 'p3']);
    expect(await ids(people.find({ where: { 'address.city': 'Paris', age: 41 } }))).toEqual(['p3']);
    expect(await ids(people.find({ where: { tags: ['dev'] } }))).toEqual(['p1', 'p2']);
    expect(await ids(people.find({ equals: { tags: ['dev'] } }))).toEqual(['p2']);
    expect(await ids(people.find({ equals: { 'tags.0': 'admin' } }))).toEqual(['p1']);
    expect(await people.count({ where: { age: 30 } })).toBe(2);
    expect(await people.count({ where: { age: 99 } })).toBe(0);
  });

  it('refuses filter paths the schema does not have, and keys outside the strict pattern', async () => {
    const people = store.collection('Person', Profile);
    await expect(people.find({ where: { nope: 1 } as never })).rejects.toMatchObject({ issues: [{ path: 'where.nope' }] });
    await expect(people.find({ where: { 'address.street': 'x' } })).rejects.toBeInstanceOf(ValidationError);
    await expect(people.find({ equals: { 'name.first': 'x' } })).rejects.toBeInstanceOf(ValidationError);
    await expect(people.count({ where: { "name') OR 1=1 --": 'x' } as never })).rejects.toBeInstanceOf(ValidationError);
    await expect(people.find({ equals: { "a'); DROP TABLE objects; --": 1 } })).rejects.toBeInstanceOf(ValidationError);
    await expect(people.find({ orderBy: { field: 'data; DROP TABLE objects' as never } })).rejects.toBeInstanceOf(ValidationError);
    await expect(people.find({ limit: 0 })).rejects.toBeInstanceOf(ValidationError);
  });

  it('stores hostile ids and filter values verbatim as data, never as SQL', async () => {
    const notes = store.collection('Note', z.object({ text: z.string() }));
    const hostile = [
      "x'; DROP TABLE objects; --",
      "' OR '1'='1",
      'Robert"); DELETE FROM object_versions; --',
      '$1 $2 \\ %_ ${injection}',
      '🙂 ünïcode e\u0301 東 \u{1F680}',
    ];
    for (const id of hostile) await notes.save(id, { text: id });
    for (const id of hostile) expect((await notes.get(id)).data.text).toBe(id);
    const found = await notes.find({ where: { text: "' OR '1'='1" } });
    expect(found.items.map((r) => r.id)).toEqual(["' OR '1'='1"]);
    expect(await notes.count({ equals: { text: "x'; DROP TABLE objects; --" } })).toBe(1);
    expect(await notes.count()).toBe(hostile.length);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM object_versions WHERE tenant_id = 'default' AND type = 'Note'`);
    expect(rows[0]?.n).toBe(hostile.length);
    await expect(notes.save('', { text: 'empty id' })).rejects.toBeInstanceOf(ValidationError);
    await expect(notes.save('nul\u0000byte', { text: 'x' })).rejects.toBeInstanceOf(ValidationError);
    // Core's id rule: ids appear in keys, logs and URLs, so control characters are refused (text keeps them).
    await expect(notes.save('line\nbreak\ttab', { text: 'x' })).rejects.toBeInstanceOf(ValidationError);
    expect((await notes.save('as-text', { text: 'line\nbreak\ttab' })).data.text).toBe('line\nbreak\ttab');
    expect(() => store.collection("Bad'Type", z.any())).toThrow(ValidationError);
    expect(() => store.forTenant("t'; --")).toThrow(ValidationError);
  });
});
