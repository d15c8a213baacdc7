// `@cairn/checkpointer/testing`: the conformance suite every Checkpointer implementation runs
// (the memory and PostgreSQL backends here; any other backend someone writes). Jest only.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SerializationError, ValidationError } from '@cairn/core';
import { BaseCheckpointer } from './base-checkpointer.js';
import { CheckpointNotFoundError, ConflictError } from './errors.js';
import { exportThreads, importThreads } from './export-import.js';
import { MemoryCheckpointer } from './memory-checkpointer.js';
import type { CheckpointerOptions } from './schemas.js';
import type { CheckpointEvent } from './types.js';
import type { Checkpointer } from './contract.js';

/** How the suite creates and disposes of the implementation under test. */
export interface CheckpointerSuiteOptions {
  /** Shown in test names. */
  name: string;
  /** A fresh checkpointer; instances created with different `tenantId`s share storage where the backend can. */
  create(options?: CheckpointerOptions): Promise<Checkpointer>;
  /** Releases one checkpointer (close it, drop what it created). */
  destroy?(checkpointer: Checkpointer): Promise<void>;
}

let counter = 0;
/** A thread id no other test uses. */
function thread(label: string): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now()}-${counter}`;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

/** Registers the conformance tests for one Checkpointer implementation. */
export function describeCheckpointer(suite: CheckpointerSuiteOptions): void {
  describe(`${suite.name} conformance`, () => {
    let cp: Checkpointer;
    const created: Checkpointer[] = [];
    const make = async (options?: CheckpointerOptions) => {
      const instance = await suite.create(options);
      created.push(instance);
      return instance;
    };

    beforeAll(async () => {
      cp = await make();
    });
    afterAll(async () => {
      for (const instance of created) await (suite.destroy ? suite.destroy(instance) : instance.close());
    });

    describe('put and get', () => {
      it('round-trips the types agent state holds', async () => {
        const t = thread('types');
        const state = {
          when: new Date('2026-01-02T03:04:05.678Z'),
          big: 12345678901234567890n,
          map: new Map<unknown, unknown>([['a', 1], [2, new Set([1, 2])]]),
          set: new Set(['x']),
          bytes: new Uint8Array([0, 1, 255]),
          buffer: Buffer.from('hi'),
          missing: undefined,
          nan: Number.NaN,
          list: [1, undefined, null, -Infinity],
          point: new Point(3, 4),
          unicode: 'naïve ☃ 𝄞',
        };
        const id = await cp.put(t, state);
        const got = await cp.get(t);
        expect(got?.checkpointId).toBe(id);
        const s = got?.state as typeof state;
        expect(s.when).toEqual(state.when);
        expect(s.big).toBe(state.big);
        expect(s.map).toEqual(state.map);
        expect(s.set).toEqual(state.set);
        expect(Buffer.from(s.bytes)).toEqual(Buffer.from([0, 1, 255]));
        expect(Buffer.from(s.buffer).toString()).toBe('hi');
        expect('missing' in s).toBe(true);
        expect(s.nan).toBeNaN();
        expect(s.list).toEqual([1, undefined, null, -Infinity]);
        expect(s.point).toEqual({ x: 3, y: 4 });
        expect(s.unicode).toBe(state.unicode);
      });

      it('returns copies: mutating a state after put or get changes nothing stored', async () => {
        const t = thread('copies');
        const state = { items: [1] };
        await cp.put(t, state);
        state.items.push(2);
        const first = await cp.get(t);
        (first?.state as { items: number[] }).items.push(3);
        expect((await cp.get(t))?.state).toEqual({ items: [1] });
      });

      it('returns undefined for an unknown thread or checkpoint id', async () => {
        const t = thread('unknown');
        expect(await cp.get(t)).toBeUndefined();
        await cp.put(t, { a: 1 });
        expect(await cp.get(t, '00000000-0000-7000-8000-000000000000')).toBeUndefined();
      });

      it('gives time-ordered ids, so the latest is the last put even within one millisecond', async () => {
        const t = thread('order');
        const ids: string[] = [];
        for (let i = 0; i < 25; i += 1) ids.push(await cp.put(t, { i }));
        expect([...ids].sort()).toEqual(ids);
        expect((await cp.get(t))?.state).toEqual({ i: 24 });
        expect((await cp.list(t)).map((c) => c.checkpointId)).toEqual([...ids].reverse());
      });

      it('chains each put to the latest checkpoint and counts steps', async () => {
        const t = thread('chain');
        const a = await cp.put(t, 1);
        const b = await cp.put(t, 2);
        const c = await cp.put(t, 3, { parentId: a });
        const root = await cp.put(t, 4, { parentId: null });
        const [ga, gb, gc, groot] = await Promise.all([a, b, c, root].map((id) => cp.get(t, id)));
        expect([ga?.parentId, gb?.parentId, gc?.parentId, groot?.parentId]).toEqual([null, a, a, null]);
        expect([ga?.step, gb?.step, gc?.step, groot?.step]).toEqual([0, 1, 1, 0]);
        expect((await cp.get(t, a))?.createdAt).toBeInstanceOf(Date);
      });

      it('rejects a missing explicit parent and writes nothing', async () => {
        const t = thread('missing-parent');
        await expect(cp.put(t, 1, { parentId: 'no-such-checkpoint' })).rejects.toBeInstanceOf(CheckpointNotFoundError);
        expect(await cp.get(t)).toBeUndefined();
      });

      it('rejects an explicit checkpoint id that exists with ConflictError', async () => {
        const t = thread('conflict');
        const id = await cp.put(t, 1);
        await expect(cp.put(t, 2, { checkpointId: id })).rejects.toBeInstanceOf(ConflictError);
        expect((await cp.get(t))?.state).toBe(1);
      });

      it('supports optimistic concurrency with expectedLatestId', async () => {
        const t = thread('cas');
        const a = await cp.put(t, 'a', { expectedLatestId: null });
        await expect(cp.put(t, 'x', { expectedLatestId: null })).rejects.toBeInstanceOf(ConflictError);
        const b = await cp.put(t, 'b', { expectedLatestId: a });
        const error = await cp.put(t, 'c', { expectedLatestId: a }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).details).toMatchObject({ expectedLatestId: a, actualLatestId: b });
        expect((await cp.list(t)).map((c) => c.state)).toEqual(['b', 'a']);
      });

      it('never lets an optimistic put land below the latest, where it would be orphaned', async () => {
        const t = thread('cas-order');
        // The latest was written by a host whose clock runs a minute ahead of this one.
        const ahead = new Date(Date.now() + 60_000).getTime().toString(16).padStart(12, '0');
        const latest = `${ahead.slice(0, 8)}-${ahead.slice(8)}-7000-8000-000000000000`;
        await cp.put(t, 'ahead', { checkpointId: latest });
        const earlier = `${'0'.repeat(8)}-0000-7000-8000-000000000001`;
        const refused = await cp.put(t, 'x', { checkpointId: earlier, expectedLatestId: latest }).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(ConflictError);
        expect((refused as ConflictError).details).toMatchObject({ reason: 'ID_NOT_AFTER_LATEST' });
        const generated = await cp.put(t, 'next', { expectedLatestId: latest });
        expect(generated > latest).toBe(true);
        expect((await cp.get(t))?.state).toBe('next');
        expect((await cp.list(t)).map((c) => c.state)).toEqual(['next', 'ahead']);
      });

      it('keeps namespaces apart', async () => {
        const t = thread('ns');
        await cp.put(t, 'root');
        await cp.put(t, 'sub', { namespace: 'child:1' });
        expect((await cp.get(t))?.state).toBe('root');
        expect((await cp.get(t, undefined, { namespace: 'child:1' }))?.state).toBe('sub');
        expect((await cp.list(t)).map((c) => c.state)).toEqual(['root']);
        expect((await cp.list(t, { allNamespaces: true })).map((c) => c.state).sort()).toEqual(['root', 'sub']);
      });

      it('compresses large states transparently', async () => {
        const t = thread('large');
        const state = { text: 'lorem ipsum dolor sit amet '.repeat(4000), n: Array.from({ length: 2000 }, (_, i) => i) };
        await cp.put(t, state);
        expect((await cp.get(t))?.state).toEqual(state);
        const raw = await cp.getRaw(t);
        expect(raw?.state.format).toBe('json-v1');
      });
    });

    describe('list', () => {
      it('filters by limit, before, after and metadata containment', async () => {
        const t = thread('list');
        const ids: string[] = [];
        for (let i = 0; i < 6; i += 1) {
          ids.push(await cp.put(t, i, { metadata: { source: i % 2 === 0 ? 'loop' : 'input', step: i, tags: ['a', `t${i}`], nested: { k: i % 3 } } }));
        }
        expect((await cp.list(t, { limit: 2 })).map((c) => c.state)).toEqual([5, 4]);
        expect((await cp.list(t, { before: ids[3] })).map((c) => c.state)).toEqual([2, 1, 0]);
        expect((await cp.list(t, { after: ids[3] })).map((c) => c.state)).toEqual([5, 4]);
        expect((await cp.list(t, { after: ids[0], before: ids[3] })).map((c) => c.state)).toEqual([2, 1]);
        expect((await cp.list(t, { metadata: { source: 'loop' } })).map((c) => c.state)).toEqual([4, 2, 0]);
        expect((await cp.list(t, { metadata: { tags: ['t3'] } })).map((c) => c.state)).toEqual([3]);
        expect((await cp.list(t, { metadata: { nested: { k: 0 } } })).map((c) => c.state)).toEqual([3, 0]);
        expect((await cp.list(t, { metadata: {} })).length).toBe(6);
        expect(await cp.list(t, { metadata: { source: 'nope' } })).toEqual([]);
        expect((await cp.list(t))[0]?.metadata).toEqual({ source: 'input', step: 5, tags: ['a', 't5'], nested: { k: 2 } });
      });

      it('pages through a thread with listRaw', async () => {
        const t = thread('raw');
        for (let i = 0; i < 7; i += 1) await cp.put(t, i);
        const seen: unknown[] = [];
        for await (const raw of cp.listRaw({ threadId: t, namespace: '', order: 'asc' })) seen.push(cp.decode(raw.state));
        expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
      });

      it('lists thread ids in order', async () => {
        const other = await make({ tenantId: `threads-${Date.now()}` });
        for (const t of ['b', 'a', 'c']) await other.put(t, 1);
        expect(await other.listThreadIds()).toEqual(['a', 'b', 'c']);
        expect(await other.listThreadIds({ after: 'a', limit: 1 })).toEqual(['b']);
      });
    });

    describe('history, delete and fork', () => {
      it('walks the parent chain newest first', async () => {
        const t = thread('history');
        const a = await cp.put(t, 'a');
        const b = await cp.put(t, 'b');
        await cp.put(t, 'side', { parentId: a });
        const c = await cp.put(t, 'c', { parentId: b });
        expect((await cp.history(t, c)).map((x) => x.state)).toEqual(['c', 'b', 'a']);
        expect((await cp.history(t)).map((x) => x.checkpointId)).toEqual([c, b, a]);
        expect((await cp.history(t, c, { limit: 2 })).map((x) => x.state)).toEqual(['c', 'b']);
        await expect(cp.history(t, 'missing')).rejects.toBeInstanceOf(CheckpointNotFoundError);
      });

      it('deletes one checkpoint or a whole thread', async () => {
        const t = thread('delete');
        const a = await cp.put(t, 'a');
        const b = await cp.put(t, 'b', { pendingWrites: [{ taskId: 'x', channel: 'c', value: 1 }] });
        await cp.put(t, 'sub', { namespace: 'n' });
        expect(await cp.delete(t, b)).toBe(true);
        expect(await cp.delete(t, b)).toBe(false);
        expect((await cp.get(t))?.checkpointId).toBe(a);
        // The next put's parent is the latest that is left.
        const c = await cp.put(t, 'c');
        expect((await cp.get(t, c))?.parentId).toBe(a);
        expect(await cp.delete(t, c)).toBe(true);
        expect(await cp.deleteThread(t)).toBe(2);
        expect(await cp.get(t)).toBeUndefined();
        expect(await cp.get(t, undefined, { namespace: 'n' })).toBeUndefined();
        // A checkpoint put again under the deleted id starts with no stale writes.
        await cp.put(t, 'again', { checkpointId: b, parentId: null });
        expect((await cp.get(t, b))?.pendingWrites).toEqual([]);
      });

      it('forks a thread from an earlier checkpoint (time travel)', async () => {
        const t = thread('fork');
        const a = await cp.put(t, { v: 1 }, { metadata: { who: 'me' } });
        await cp.put(t, { v: 2 });
        const fork = await cp.fork(t, a, { newThreadId: thread('forked') });
        const first = await cp.get(fork.threadId);
        expect(first).toMatchObject({ checkpointId: fork.checkpointId, parentId: a, state: { v: 1 }, step: 1 });
        expect(first?.metadata).toEqual({ who: 'me', forkedFrom: { threadId: t, namespace: '', checkpointId: a } });
        const next = await cp.put(fork.threadId, { v: 3 });
        expect((await cp.history(fork.threadId, next)).map((x) => x.state)).toEqual([{ v: 3 }, { v: 1 }, { v: 1 }]);
        expect((await cp.get(t))?.state).toEqual({ v: 2 });
        await expect(cp.fork(t, a, { newThreadId: fork.threadId })).rejects.toBeInstanceOf(ConflictError);
        await expect(cp.fork(t, 'missing')).rejects.toBeInstanceOf(CheckpointNotFoundError);
        const generated = await cp.fork(t, a);
        expect(generated.threadId).toMatch(/^[0-9a-f-]{36}$/);
      });

      it('refuses a forkedFrom link in put metadata, so history cannot be led into another thread', async () => {
        const victim = thread('victim');
        const secret = await cp.put(victim, { secret: 1 });
        const t = thread('crafted');
        const forkedFrom = { threadId: victim, namespace: '', checkpointId: secret };
        await expect(cp.put(t, { mine: 1 }, { parentId: secret, metadata: { forkedFrom } })).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.putMany([{ threadId: t, state: { mine: 1 }, parentId: secret, metadata: { forkedFrom } }])).rejects.toBeInstanceOf(ValidationError);
        const own = await cp.put(t, { mine: 1 });
        expect((await cp.history(t, own)).map((x) => x.state)).toEqual([{ mine: 1 }]);
      });
    });

    describe('pending writes', () => {
      it('stores writes with their checkpoint and returns them in (taskPath, taskId, idx) order', async () => {
        const t = thread('writes');
        const id = await cp.put(t, 's', { pendingWrites: [{ taskId: 'b', channel: 'x', value: 1 }, { taskId: 'a', channel: 'y', value: new Date(0), taskPath: '~z' }] });
        await cp.putWrites(t, id, 'a', [{ channel: 'c1', value: 'v1' }, { channel: 'c2', value: { deep: [1n] } }], { taskPath: '~a' });
        await cp.putWrites(t, id, 'special', [{ channel: '__error__', value: 'boom', idx: -1 }]);
        const got = await cp.get(t, id);
        expect(got?.pendingWrites.map((w) => [w.taskPath, w.taskId, w.idx, w.channel, w.value])).toEqual([
          ['', 'b', 0, 'x', 1],
          ['', 'special', -1, '__error__', 'boom'],
          ['~a', 'a', 0, 'c1', 'v1'],
          ['~a', 'a', 1, 'c2', { deep: [1n] }],
        ]);
      });

      it('replaces a task writes by default, or keeps or upserts them when asked', async () => {
        const t = thread('writes-modes');
        const id = await cp.put(t, 's');
        const values = async () => (await cp.get(t, id))?.pendingWrites.map((w) => `${w.idx}:${String(w.value)}`);
        await cp.putWrites(t, id, 'task', [{ channel: 'c', value: 'a' }, { channel: 'c', value: 'b' }]);
        await cp.putWrites(t, id, 'task', [{ channel: 'c', value: 'z' }]);
        expect(await values()).toEqual(['0:z']);
        await cp.putWrites(t, id, 'task', [{ channel: 'c', value: 'ignored' }, { channel: 'c', value: 'new' }], { onConflict: 'ignore' });
        expect(await values()).toEqual(['0:z', '1:new']);
        await cp.putWrites(t, id, 'task', [{ channel: 'c', value: 'up' }], { onConflict: 'upsert' });
        expect(await values()).toEqual(['0:up', '1:new']);
      });

      it('rejects writes for a missing checkpoint unless told otherwise', async () => {
        const t = thread('writes-missing');
        await expect(cp.putWrites(t, 'nope', 'task', [{ channel: 'c', value: 1 }])).rejects.toBeInstanceOf(CheckpointNotFoundError);
        await cp.putWrites(t, 'later', 'task', [{ channel: 'c', value: 1 }], { requireCheckpoint: false });
        await cp.put(t, 's', { checkpointId: 'later' });
        expect((await cp.get(t, 'later'))?.pendingWrites.map((w) => w.value)).toEqual([1]);
      });
    });

    describe('putMany', () => {
      it('stores a batch in order, chaining items of one thread', async () => {
        const t1 = thread('many1');
        const t2 = thread('many2');
        const before = await cp.put(t1, 'before');
        const ids = await cp.putMany([
          { threadId: t1, state: 'a' },
          { threadId: t2, state: 'x', metadata: { m: 1 } },
          { threadId: t1, state: 'b', pendingWrites: [{ taskId: 't', channel: 'c', value: 1 }] },
        ]);
        expect(ids).toHaveLength(3);
        const history = await cp.history(t1);
        expect(history.map((c) => c.state)).toEqual(['b', 'a', 'before']);
        expect(history.map((c) => c.step)).toEqual([2, 1, 0]);
        expect(history[1]?.parentId).toBe(before);
        expect(history[0]?.pendingWrites.map((w) => w.value)).toEqual([1]);
        expect((await cp.get(t2))?.metadata).toEqual({ m: 1 });
        expect(await cp.putMany([])).toEqual([]);
      });

      it('writes nothing when one item fails', async () => {
        const t = thread('many-atomic');
        const existing = await cp.put(t, 'kept');
        const circular: Record<string, unknown> = {};
        circular.self = circular;
        await expect(cp.putMany([{ threadId: t, state: 'a' }, { threadId: t, state: circular }])).rejects.toBeInstanceOf(SerializationError);
        await expect(cp.putMany([{ threadId: t, state: 'a' }, { threadId: t, state: 'b', checkpointId: existing }])).rejects.toBeInstanceOf(ConflictError);
        await expect(cp.putMany([{ threadId: t, state: 'a' }, { threadId: t, state: 'b', parentId: 'missing' }])).rejects.toBeInstanceOf(CheckpointNotFoundError);
        expect((await cp.list(t)).map((c) => c.state)).toEqual(['kept']);
      });
    });

    describe('retention', () => {
      const DAY = 86_400_000;
      it('keeps a linear thread whole unless ancestors may go, and always keeps the latest', async () => {
        const t = thread('keep-last');
        for (let i = 0; i < 5; i += 1) await cp.put(t, i);
        expect((await cp.prune({ threadId: t, keepLast: 2 })).deleted).toBe(0);
        const result = await cp.prune({ threadId: t, keepLast: 2, keepAncestors: false });
        expect(result).toEqual({ deleted: 3, threads: { [t]: 3 } });
        expect((await cp.list(t)).map((c) => c.state)).toEqual([4, 3]);
        await cp.prune({ threadId: t, keepLast: 1, maxAgeDays: 0.000001, keepAncestors: false });
        expect((await cp.list(t)).map((c) => c.state)).toEqual([4]);
      });

      it('drops abandoned branches but not the ancestors of kept checkpoints', async () => {
        const t = thread('branches');
        const a = await cp.put(t, 'a');
        const dead = await cp.put(t, 'dead', { parentId: a });
        await cp.put(t, 'dead-child', { parentId: dead });
        const b = await cp.put(t, 'b', { parentId: a });
        await cp.put(t, 'c', { parentId: b });
        expect((await cp.prune({ threadId: t, keepLast: 2 })).deleted).toBe(2);
        expect((await cp.list(t)).map((c) => c.state)).toEqual(['c', 'b', 'a']);
      });

      it('drops checkpoints older than maxAgeDays', async () => {
        const t = thread('age');
        const state = { format: 'json-v1', data: new TextEncoder().encode('"old"') };
        await cp.putRaw([
          { threadId: t, state, createdAt: new Date(Date.now() - 10 * DAY), parentId: null },
          { threadId: t, state, createdAt: new Date(Date.now() - 9 * DAY) },
        ]);
        await cp.put(t, 'new', { parentId: null });
        const other = thread('age-other');
        await cp.putRaw([{ threadId: other, state, createdAt: new Date(Date.now() - 10 * DAY) }]);
        await cp.prune({ maxAgeDays: 5 });
        expect((await cp.list(t)).map((c) => c.state)).toEqual(['new']);
        // The only (so latest) checkpoint of a thread stays, however old.
        expect((await cp.list(other)).map((c) => c.state)).toEqual(['old']);
      });

      it('runs the configured policy on an interval', async () => {
        const scoped = await make({ tenantId: `interval-${Date.now()}`, retention: { keepLast: 1, keepAncestors: false, intervalMs: 1000 } });
        const t = thread('interval');
        for (let i = 0; i < 3; i += 1) await scoped.put(t, i);
        expect((await scoped.prune()).deleted).toBe(2);
        await scoped.put(t, 'more');
        // The timer ran when nothing is left to prune after a new put.
        const started = Date.now();
        while ((await scoped.list(t)).length !== 1 && Date.now() - started <= 5000) {
          await new Promise<void>((resolve) => setTimeout(resolve, 100));
        }
        expect((await scoped.list(t)).map((c) => c.state)).toEqual(['more']);
      });
    });

    describe('bad input', () => {
      it('rejects empty and oversized thread ids and writes nothing', async () => {
        await expect(cp.put('', 1)).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.put('x'.repeat(10_240), 1)).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.get('x'.repeat(10_240))).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.put('nul\u0000id', 1)).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.put(42 as unknown as string, 1)).rejects.toBeInstanceOf(ValidationError);
        expect(await cp.listThreadIds({ limit: 100_000 })).not.toContain('');
      });

      it('stores SQL-looking thread ids literally', async () => {
        const evil = `'; DROP TABLE checkpoints; -- ${thread('sql')}`;
        const victim = thread('victim');
        await cp.put(victim, 'safe');
        await cp.put(evil, { evil: true }, { metadata: { q: "' OR 1=1 --" }, namespace: '") OR true --' });
        expect((await cp.get(evil, undefined, { namespace: '") OR true --' }))?.state).toEqual({ evil: true });
        expect((await cp.get(victim))?.state).toBe('safe');
        expect(await cp.list(victim, { metadata: { q: "' OR 1=1 --" } })).toEqual([]);
      });

      it('rejects NaN where a number is expected and in metadata', async () => {
        const t = thread('nan');
        await expect(cp.put(t, 1, { metadata: { score: Number.NaN } })).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.list(t, { limit: Number.NaN })).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.put(t, 1, { step: Number.NaN })).rejects.toBeInstanceOf(ValidationError);
        await expect(cp.put(t, 1, { metadata: { when: new Date() } as never })).rejects.toBeInstanceOf(ValidationError);
        expect(await cp.get(t)).toBeUndefined();
      });

      it('rejects circular and non-serialisable state with a clear error and writes nothing', async () => {
        const t = thread('circular');
        const state: Record<string, unknown> = { a: { b: {} } };
        (state.a as { b: Record<string, unknown> }).b.loop = state;
        const error = await cp.put(t, state).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SerializationError);
        expect((error as Error).message).toMatch(/circular reference at \$\.a\.b\.loop/);
        await expect(cp.put(t, { f: () => 1 })).rejects.toThrow(/function at \$\.f/);
        expect(await cp.get(t)).toBeUndefined();
      });

      it('lists every validation problem at once', async () => {
        const error = (await cp.list('', { limit: -1, before: '' }).catch((e: unknown) => e)) as ValidationError;
        expect(error).toBeInstanceOf(ValidationError);
        const bad = (await cp.list('t', { limit: -1, before: '', bogus: 1 } as never).catch((e: unknown) => e)) as ValidationError;
        expect(bad.issues.length).toBeGreaterThanOrEqual(2);
      });
    });

    describe('tenants, events, export, lifecycle', () => {
      it('keeps tenants apart', async () => {
        const t = thread('tenant');
        const a = await make({ tenantId: `tenant-a-${Date.now()}` });
        const b = await make({ tenantId: `tenant-b-${Date.now()}` });
        await a.put(t, 'a');
        expect(await b.get(t)).toBeUndefined();
        expect(await b.deleteThread(t)).toBe(0);
        expect((await a.get(t))?.state).toBe('a');
      });

      it('notifies subscribers of changes to their thread', async () => {
        const t = thread('events');
        const events: CheckpointEvent[] = [];
        const unsubscribe = await cp.subscribe(t, (e) => events.push(e));
        const id = await cp.put(t, 1);
        await cp.put(thread('other'), 1);
        await cp.deleteThread(t);
        await unsubscribe();
        await cp.put(t, 2);
        expect(events).toEqual([
          { type: 'checkpoint.saved', tenantId: cp.tenantId, threadId: t, namespace: '', checkpointId: id },
          { type: 'checkpoint.deleted', tenantId: cp.tenantId, threadId: t },
        ]);
      });

      it('exports threads as JSONL and imports them into another checkpointer', async () => {
        const t = thread('export');
        const a = await cp.put(t, { when: new Date(0), big: 1n }, { metadata: { m: 1 } });
        await cp.put(t, 'sub', { namespace: 'child', pendingWrites: [{ taskId: 'x', channel: 'c', value: new Set([1]) }] });
        const b = await cp.put(t, 'second');
        await cp.putWrites(t, b, 'task', [{ channel: 'c', value: 'w' }]);
        const lines: string[] = [];
        for await (const line of exportThreads(cp, [t])) lines.push(line);
        expect(lines[0]).toMatch(/"cairn-checkpoints"/);
        const target = new MemoryCheckpointer();
        const summary = await importThreads(target, lines);
        expect(summary).toEqual({ threads: 1, checkpoints: 3, writes: 2 });
        expect(await target.list(t, { allNamespaces: true })).toEqual(await cp.list(t, { allNamespaces: true }));
        expect((await target.get(t, a))?.state).toEqual({ when: new Date(0), big: 1n });
        await expect(importThreads(target, lines)).rejects.toBeInstanceOf(ConflictError);
        expect((await importThreads(target, lines, { onConflict: 'skip' })).checkpoints).toBe(0);
        // And back the other way, under a new thread id.
        const renamed = thread('renamed');
        const back: string[] = [];
        for await (const line of exportThreads(target, [t])) back.push(line);
        await importThreads(cp, back, { renameThreads: { [t]: renamed } });
        expect((await cp.list(renamed, { allNamespaces: true })).map((c) => c.state)).toEqual((await cp.list(t, { allNamespaces: true })).map((c) => c.state));
        await target.close();
      });

      // Metrics are BaseCheckpointer's (prom-client stays out of the Checkpointer interface).
      it('exposes metrics in Prometheus format', async () => {
        if (!(cp instanceof BaseCheckpointer)) return;
        await cp.put(thread('metrics'), 1);
        const text = await cp.metricsRegistry.metrics();
        expect(text).toMatch(/cairn_checkpointer_operations_total\{operation="put",backend="\w+",outcome="ok"\} \d+/);
        expect(text).toMatch(/cairn_checkpointer_operation_duration_seconds_bucket/);
      });

      it('reports health and refuses calls once closed', async () => {
        const scoped = await suite.create({ tenantId: `closing-${Date.now()}` });
        expect((await scoped.healthCheck()).ok).toBe(true);
        await (suite.destroy ? suite.destroy(scoped) : scoped.close());
        await expect(scoped.put('t', 1)).rejects.toMatchObject({ name: 'ClosedError', code: 'CLOSED', component: 'checkpointer' });
        expect((await scoped.healthCheck()).ok).toBe(false);
        await scoped.close();
      });
    });
  });
}
