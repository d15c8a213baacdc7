// Optimistic concurrency, update(fn) with retries (in one process and across two), history,
// restore, retention and JSON Patch, against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ValidationError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import {
  createObjectStore,
  InvalidPatchError,
  ObjectNotFoundError,
  PatchTestFailedError,
  StoredObjectInvalidError,
  VersionConflictError,
  type ObjectStore,
} from '../src/index.js';
import { spawnFixture } from './fixtures/spawn.js';

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

const Doc = z.object({ title: z.string(), count: z.number().int(), tags: z.array(z.string()) });
const Counter = z.object({ n: z.number().int(), by: z.record(z.string(), z.number().int()) });

let db: CairnDb;
let store: ObjectStore;

beforeAll(async () => {
  db = await createTestDb({ pool: { max: 10 } });
  store = createObjectStore(db);
});

afterAll(async () => {
  await store.close();
  await db.close();
});

describe('update(fn)', () => {
  it('applies every increment from many concurrent callers, retrying on conflicts', async () => {
    const counters = store.collection('Counter', Counter);
    await counters.create('c1', { n: 0, by: {} });
    await Promise.all(Array.from({ length: 40 }, () => counters.update('c1', (d) => ({ ...d, n: d.n + 1 }))));
    const final = await counters.get('c1');
    expect(final.data.n).toBe(40);
    expect(final.version).toBe(41);
    const history = await counters.versions('c1', { limit: 1000 });
    expect(history.map((v) => v.version)).toEqual(Array.from({ length: 41 }, (_, i) => 41 - i));
  });

  it('raises ObjectNotFoundError for a missing object, and upsert() creates it', async () => {
    const counters = store.collection('Counter', Counter);
    await expect(counters.update('absent', (d) => d)).rejects.toBeInstanceOf(ObjectNotFoundError);
    const created = await counters.upsert('absent', (d) => ({ n: (d?.n ?? 0) + 1, by: {} }));
    expect(created).toMatchObject({ version: 1, data: { n: 1 } });
    const again = await counters.upsert('absent', (d) => ({ n: (d?.n ?? 0) + 1, by: {} }));
    expect(again).toMatchObject({ version: 2, data: { n: 2 } });
  });

  it('gives up with VersionConflictError (expected vs actual, attempts) when conflicts outlast maxAttempts', async () => {
    const counters = store.collection('Counter', Counter);
    await counters.create('contended', { n: 0, by: {} });
    // Every attempt's fn sneaks in a competing write, so every conditional write conflicts.
    const error = await counters
      .update('contended', async (d) => {
        await counters.save('contended', { n: 100, by: {} });
        return { ...d, n: d.n + 1 };
      }, { maxAttempts: 3 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ code: 'VERSION_CONFLICT', expectedVersion: 3, actualVersion: 4, details: { attempts: 3 } });
    expect((await counters.get('contended')).data.n).toBe(100);
  });

  it('locks the row after repeated conflicts, so a caller that keeps losing the race is served', async () => {
    const counters = store.collection('Counter', Counter);
    await counters.create('starved', { n: 0, by: {} });
    let calls = 0;
    let competitor: Promise<unknown> | undefined;
    const result = await counters.update('starved', async (d) => {
      calls += 1;
      if (calls <= 3) {
        // An optimistic attempt: a competing write lands first and this attempt conflicts.
        await counters.save('starved', { n: 1000 + calls, by: {} });
      } else {
        // The locked attempt: a competing write now has to wait for this one to commit.
        competitor = counters.save('starved', { n: -1, by: {} });
        await until(async () => {
          const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
          return rows[0]!.n > 0;
        });
      }
      return { ...d, n: d.n + 1 };
    });
    expect(calls).toBe(4);
    expect(result).toMatchObject({ version: 5, data: { n: 1004 } });
    expect(await competitor).toMatchObject({ version: 6, data: { n: -1 } });
  });

  it('loses no increment when two processes hammer the same object', async () => {
    const tenantId = `hammer-${randomUUID().slice(0, 8)}`;
    const counters = store.forTenant(tenantId).collection('Counter', Counter);
    await counters.create('shared', { n: 0, by: {} });
    const perProcess = 150;
    const url = db.connectionString();
    const children = [0, 1].map(() => spawnFixture('./hammer.ts', [url, tenantId, 'shared', String(perProcess), '4']));
    try {
      await Promise.all(children.map((c) => c.waitForLine((l) => l === 'ready')));
      for (const child of children) child.process.stdin!.write('go\n');
      const results = await Promise.all(children.map(async (c) => JSON.parse(await c.waitForLine((l) => l.startsWith('{'))) as { done: number; me: string }));
      const exits = await Promise.all(children.map((c) => c.exited));
      expect(exits.map((e) => e.code)).toEqual([0, 0]);
      const final = await counters.get('shared');
      expect(final.data.n).toBe(2 * perProcess);
      expect(final.version).toBe(1 + 2 * perProcess);
      expect(Object.fromEntries(results.map((r) => [r.me, final.data.by[r.me]]))).toEqual(Object.fromEntries(results.map((r) => [r.me, perProcess])));
      // Every write left exactly one version behind it, with no gaps.
      const { rows } = await db.pool.query<{ n: number; max: number }>(
        `SELECT count(*)::int AS n, max(version) AS max FROM object_versions WHERE tenant_id = $1 AND type = 'Counter' AND object_id = 'shared'`,
        [tenantId],
      );
      expect(rows[0]).toEqual({ n: 1 + 2 * perProcess, max: 1 + 2 * perProcess });
    } finally {
      for (const child of children) child.kill();
    }
  }, 60_000);
});

describe('history', () => {
  it('keeps every version with its operation; loadVersion and restore bring old data back', async () => {
    const docs = store.collection('Doc', Doc);
    await docs.save('d1', { title: 'one', count: 1, tags: [] });
    await docs.save('d1', { title: 'two', count: 2, tags: [] });
    await docs.update('d1', (d) => ({ ...d, title: 'three', count: 3 }));
    await docs.patch('d1', [{ op: 'replace', path: '/title', value: 'four' }]);
    const v1 = await docs.loadVersion('d1', 1);
    expect(v1).toMatchObject({ version: 1, operation: 'save', data: { title: 'one' } });
    const restored = await docs.restore('d1', 2);
    expect(restored).toMatchObject({ version: 5, data: { title: 'two', count: 2 } });
    expect((await docs.get('d1')).data.title).toBe('two');
    const history = await docs.versions('d1');
    expect(history.map((v) => [v.version, v.operation])).toEqual([
      [5, 'restore'],
      [4, 'patch'],
      [3, 'update'],
      [2, 'save'],
      [1, 'save'],
    ]);
    expect((await docs.versions('d1', { limit: 2, beforeVersion: 4 })).map((v) => v.version)).toEqual([3, 2]);
    await expect(docs.loadVersion('d1', 99)).rejects.toMatchObject({ code: 'OBJECT_NOT_FOUND', version: 99 });
    await expect(docs.restore('d1', 1, { expectedVersion: 4 })).rejects.toBeInstanceOf(VersionConflictError);
  });

  it('validates old versions against the current schema when loading or restoring them', async () => {
    const loose = store.collection('Evolving', z.object({ title: z.string() }));
    await loose.save('e1', { title: 'old shape' });
    const strict = store.collection('Evolving', z.object({ title: z.string(), priority: z.number() }));
    await strict.save('e1', { title: 'new shape', priority: 1 });
    await expect(strict.loadVersion('e1', 1)).rejects.toMatchObject({ code: 'STORED_OBJECT_INVALID', version: 1, path: 'priority' });
    await expect(strict.restore('e1', 1)).rejects.toBeInstanceOf(StoredObjectInvalidError);
    expect((await strict.get('e1')).version).toBe(2);
  });

  it('keeps only the last N versions when retention is configured, in the same statement as the write', async () => {
    const docs = store.collection('Retained', Doc, { keepVersions: 3 });
    for (let i = 1; i <= 6; i++) await docs.save('r1', { title: `v${i}`, count: i, tags: [] });
    expect((await docs.versions('r1')).map((v) => v.version)).toEqual([6, 5, 4]);
    await expect(docs.loadVersion('r1', 3)).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect((await docs.loadVersion('r1', 4)).data.title).toBe('v4');
    await docs.patch('r1', [{ op: 'replace', path: '/count', value: 7 }]);
    expect((await docs.versions('r1')).map((v) => v.version)).toEqual([7, 6, 5]);
  });

  it('deletes the history with the object', async () => {
    const docs = store.collection('Doc', Doc);
    await docs.save('gone', { title: 'x', count: 0, tags: [] });
    await docs.save('gone', { title: 'y', count: 0, tags: [] });
    await docs.delete('gone');
    expect(await docs.versions('gone')).toEqual([]);
  });
});

describe('JSON Patch', () => {
  it('applies add, remove, replace, move, copy and test atomically', async () => {
    const docs = store.collection('Doc', Doc);
    await docs.save('p1', { title: 'hello', count: 1, tags: ['a', 'b'] });
    const patched = await docs.patch(
      'p1',
      [
        { op: 'test', path: '/count', value: 1 },
        { op: 'add', path: '/tags/-', value: 'c' },
        { op: 'remove', path: '/tags/0' },
        { op: 'replace', path: '/count', value: 2 },
        { op: 'copy', from: '/title', path: '/tags/0' },
        { op: 'move', from: '/tags/1', path: '/tags/0' },
      ],
      { expectedVersion: 1 },
    );
    expect(patched).toMatchObject({ version: 2, data: { title: 'hello', count: 2, tags: ['b', 'hello', 'c'] } });
  });

  it('applies nothing when a test fails, when an operation cannot apply, or when the result breaks the schema', async () => {
    const docs = store.collection('Doc', Doc);
    await docs.save('p2', { title: 'keep', count: 1, tags: [] });
    const failedTest = await docs
      .patch('p2', [
        { op: 'replace', path: '/title', value: 'changed' },
        { op: 'test', path: '/count', value: 99 },
      ])
      .catch((e: unknown) => e);
    expect(failedTest).toBeInstanceOf(PatchTestFailedError);
    expect(failedTest).toMatchObject({ code: 'PATCH_TEST_FAILED', operationIndex: 1 });
    await expect(docs.patch('p2', [{ op: 'remove', path: '/nothing/here' }])).rejects.toBeInstanceOf(InvalidPatchError);
    await expect(docs.patch('p2', [{ op: 'replace', path: '/count', value: 'not a number' }])).rejects.toBeInstanceOf(ValidationError);
    await expect(docs.patch('p2', [{ op: 'add', path: '/__proto__/polluted', value: true }])).rejects.toBeInstanceOf(InvalidPatchError);
    await expect(docs.patch('p2', [{ op: 'jump', path: '/x' } as never])).rejects.toBeInstanceOf(ValidationError);
    await expect(docs.patch('p2', [{ op: 'replace', path: 'no-slash', value: 1 }])).rejects.toBeInstanceOf(ValidationError);
    const current = await docs.get('p2');
    expect(current).toMatchObject({ version: 1, data: { title: 'keep', count: 1 } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a stale expectedVersion, and re-applies to the newest version without one', async () => {
    const docs = store.collection('Doc', Doc);
    await docs.save('p3', { title: 't', count: 0, tags: [] });
    await docs.save('p3', { title: 't', count: 5, tags: [] });
    await expect(docs.patch('p3', [{ op: 'replace', path: '/title', value: 'x' }], { expectedVersion: 1 })).rejects.toMatchObject({
      expectedVersion: 1,
      actualVersion: 2,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => docs.patch('p3', [{ op: 'add', path: '/tags/-', value: `t${i}` }])));
    const final = await docs.get('p3');
    expect(final.version).toBe(12);
    expect([...final.data.tags].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`).sort());
    await expect(docs.patch('missing', [{ op: 'add', path: '/tags/-', value: 'x' }])).rejects.toBeInstanceOf(ObjectNotFoundError);
  });
});
