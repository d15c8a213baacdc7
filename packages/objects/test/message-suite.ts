// The MessageStore suite, run on PostgreSQL (messages.test.ts) and on the embedded PGlite
// (messages-pglite.test.ts): append and its order, idempotency, pages, edits, truncation, thread
// deletion, tenants and hostile input.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ValidationError } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { MessageNotFoundError, MessageStore, StoredObjectInvalidError, ThreadManager, ThreadNotFoundError, type MessageRecord } from '../src/index.js';

export interface MessageSuiteTarget {
  name: string;
  open(): Promise<CairnDb>;
}

const ids = (records: readonly MessageRecord[]) => records.map((m) => m.id);

export function describeMessageSuite(target: MessageSuiteTarget): void {
  describe(`messages on ${target.name}`, () => {
    let db: CairnDb;
    let threads: ThreadManager;
    let messages: MessageStore;
    let threadNumber = 0;

    beforeAll(async () => {
      db = await target.open();
      threads = new ThreadManager(db);
      messages = new MessageStore(db);
    });
    afterAll(async () => {
      await db.close();
    });

    async function newThread(manager = threads): Promise<string> {
      return (await manager.create({ userId: 'u1', id: `thread-${(threadNumber += 1)}` })).id;
    }

    it('appends in order, with positions, parts and derived text', async () => {
      const t = await newThread();
      const stored = await messages.append(t, [
        { id: 'm1', role: 'user', content: 'What is a cairn?' },
        { id: 'm2', role: 'assistant', parts: [{ type: 'reasoning', text: 'recall' }, { type: 'text', text: 'A pile of stones.' }, { type: 'text', text: 'It marks a trail.' }] },
      ]);
      expect(ids(stored)).toEqual(['m1', 'm2']);
      expect(stored[0]).toMatchObject({ tenantId: 'default', threadId: t, role: 'user', parts: [{ type: 'text', text: 'What is a cairn?' }], content: 'What is a cairn?' });
      expect(stored[1]!.content).toBe('A pile of stones.\n\nIt marks a trail.');
      expect(stored[1]!.seq).toBeGreaterThan(stored[0]!.seq);
      const [generated] = await messages.append(t, [{ role: 'user', content: 'And who builds them?' }]);
      expect(generated!.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(generated!.seq).toBeGreaterThan(stored[1]!.seq);
      expect(ids(await messages.list(t))).toEqual(['m1', 'm2', generated!.id]);
      expect(await messages.count(t)).toBe(3);
      expect(await messages.get(t, 'm2')).toEqual(stored[1]);
      expect(await messages.get(t, 'nope')).toBeNull();
    });

    it('is idempotent by id: a repeated append stores nothing twice and returns what is stored', async () => {
      const t = await newThread();
      const [first] = await messages.append(t, [{ id: 'a', role: 'user', content: 'first' }]);
      const again = await messages.append(t, [
        { id: 'a', role: 'user', content: 'changed on the way' },
        { id: 'b', role: 'assistant', content: 'second' },
      ]);
      expect(again[0]).toEqual(first);
      expect(again[1]!.content).toBe('second');
      expect(await messages.append(t, [{ id: 'a', role: 'user', content: 'x' }, { id: 'b', role: 'assistant', content: 'y' }])).toEqual(again);
      expect(await messages.count(t)).toBe(2);
    });

    it('pages oldest first or newest first, before and after a message', async () => {
      const t = await newThread();
      await messages.append(t, Array.from({ length: 10 }, (_, i) => ({ id: `p${i}`, role: 'user' as const, content: `message ${i}` })));
      expect(ids(await messages.list(t, { limit: 3 }))).toEqual(['p0', 'p1', 'p2']);
      expect(ids(await messages.list(t, { limit: 3, order: 'desc' }))).toEqual(['p9', 'p8', 'p7']);
      expect(ids(await messages.list(t, { limit: 3, order: 'desc', before: 'p7' }))).toEqual(['p6', 'p5', 'p4']);
      expect(ids(await messages.list(t, { limit: 3, after: 'p7' }))).toEqual(['p8', 'p9']);
      expect(ids(await messages.list(t, { after: 'p2', before: 'p5' }))).toEqual(['p3', 'p4']);
      expect(await messages.list(t, { after: 'p9' })).toEqual([]);
      await expect(messages.list(t, { before: 'missing' })).rejects.toBeInstanceOf(MessageNotFoundError);
      expect(await messages.list('no-such-thread')).toEqual([]);
    });

    it('edits a message in place and truncates after a point (regenerate)', async () => {
      const t = await newThread();
      await messages.append(t, ['q1', 'a1', 'q2', 'a2', 'q3'].map((id) => ({ id, role: id.startsWith('q') ? ('user' as const) : ('assistant' as const), content: id })));
      const before = await messages.get(t, 'q2');
      const edited = await messages.update(t, 'q2', { parts: [{ type: 'text', text: 'q2, edited' }], metadata: { edited: true } });
      expect(edited).toMatchObject({ id: 'q2', seq: before!.seq, content: 'q2, edited', metadata: { edited: true }, createdAt: before!.createdAt });
      expect(edited.updatedAt.getTime()).toBeGreaterThanOrEqual(before!.updatedAt.getTime());
      expect(await messages.deleteAfter(t, 'q2')).toBe(2);
      expect(ids(await messages.list(t))).toEqual(['q1', 'a1', 'q2']);
      expect(await messages.deleteAfter(t, 'a1', { inclusive: true })).toBe(2);
      expect(ids(await messages.list(t))).toEqual(['q1']);
      // Appends after a truncation continue after the highest position ever handed out.
      const [next] = await messages.append(t, [{ id: 'a1', role: 'assistant', content: 'regenerated' }]);
      expect(next!.seq).toBeGreaterThan(edited.seq);
      expect(ids(await messages.list(t))).toEqual(['q1', 'a1']);
      await expect(messages.deleteAfter(t, 'gone')).rejects.toBeInstanceOf(MessageNotFoundError);
      await expect(messages.update(t, 'gone', { content: 'x' })).rejects.toBeInstanceOf(MessageNotFoundError);
      expect(await messages.delete(t, 'a1')).toBe(true);
      expect(await messages.delete(t, 'a1')).toBe(false);
    });

    it('applies edits, a truncation and appends all together or not at all', async () => {
      const t = await newThread();
      await messages.append(t, ['q1', 'a1', 'q2', 'a2'].map((id) => ({ id, role: 'user' as const, content: id })));
      const result = await messages.applyChanges(t, {
        update: [{ id: 'q1', changes: { content: 'q1 edited' } }],
        deleteFrom: 'q2',
        append: [{ id: 'q2b', role: 'user', content: 'asked again' }],
      });
      expect(result.updated.map((m) => m.content)).toEqual(['q1 edited']);
      expect(result.deleted).toBe(2);
      expect(ids(result.appended)).toEqual(['q2b']);
      expect(ids(await messages.list(t))).toEqual(['q1', 'a1', 'q2b']);
      const unchanged = await messages.list(t);
      // Refused before any statement: a bad message among the appends.
      await expect(messages.applyChanges(t, { deleteFrom: 'q1', append: [{ role: 'user', content: 'nul \u0000' }] })).rejects.toBeInstanceOf(ValidationError);
      // Rolled back: the truncation ran, then an edit of a message that is not there failed.
      await expect(messages.applyChanges(t, { update: [{ id: 'q1', changes: { content: 'lost' } }, { id: 'nope', changes: { content: 'x' } }], deleteFrom: 'a1' })).rejects.toBeInstanceOf(
        MessageNotFoundError,
      );
      await expect(messages.applyChanges(t, { deleteFrom: 'nope', append: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(MessageNotFoundError);
      expect(await messages.list(t)).toEqual(unchanged);
    });

    it('keeps a total order under concurrent appends to one thread', async () => {
      const t = await newThread();
      const writers = Array.from({ length: 8 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 15; i++) await messages.append(t, [{ id: `w${w}-${i}`, role: 'user', content: `${w}/${i}` }, { id: `shared-${i}`, role: 'assistant', content: `shared ${i}` }]);
        })(),
      );
      await Promise.all(writers);
      const all = await messages.list(t, { limit: 1000 });
      expect(all).toHaveLength(8 * 15 + 15);
      expect(new Set(ids(all)).size).toBe(all.length);
      const seqs = all.map((m) => m.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      for (let w = 0; w < 8; w++) {
        const mine = ids(all).filter((id) => id.startsWith(`w${w}-`));
        expect(mine).toEqual(Array.from({ length: 15 }, (_, i) => `w${w}-${i}`));
      }
    });

    it('refuses a missing thread and deletes messages with their thread', async () => {
      await expect(messages.append('no-such-thread', [{ role: 'user', content: 'hello' }])).rejects.toBeInstanceOf(ThreadNotFoundError);
      await expect(messages.append('no-such-thread', [])).rejects.toBeInstanceOf(ThreadNotFoundError);
      const t = await newThread();
      await messages.append(t, [{ id: 'x', role: 'user', content: 'bye' }]);
      expect(await threads.delete(t)).toBe(true);
      expect(await messages.count(t)).toBe(0);
      expect(await messages.get(t, 'x')).toBeNull();
    });

    it('keeps tenants apart', async () => {
      const t = await newThread();
      await messages.append(t, [{ id: 'secret', role: 'user', content: 'tenant default only' }]);
      const other = messages.forTenant('other');
      expect(await other.list(t)).toEqual([]);
      expect(await other.get(t, 'secret')).toBeNull();
      await expect(other.append(t, [{ role: 'user', content: 'intruder' }])).rejects.toBeInstanceOf(ThreadNotFoundError);
      await expect(other.update(t, 'secret', { content: 'changed' })).rejects.toBeInstanceOf(MessageNotFoundError);
      await expect(other.deleteAfter(t, 'secret', { inclusive: true })).rejects.toBeInstanceOf(MessageNotFoundError);
      // The same thread id in the other tenant is another thread.
      await threads.forTenant('other').create({ userId: 'u2', id: t });
      await other.append(t, [{ id: 'secret', role: 'user', content: 'the other tenant' }]);
      expect((await messages.get(t, 'secret'))!.content).toBe('tenant default only');
      expect((await other.get(t, 'secret'))!.content).toBe('the other tenant');
    });

    it('validates metadata with the application schema on write and read', async () => {
      const typed = new MessageStore(db, { metadataSchema: z.object({ model: z.string() }).strict() });
      const t = await newThread();
      await typed.append(t, [{ id: 'ok', role: 'assistant', content: 'hi', metadata: { model: 'offline' } }]);
      await expect(typed.append(t, [{ role: 'assistant', content: 'hi', metadata: { model: 42 } as never }])).rejects.toBeInstanceOf(ValidationError);
      await messages.append(t, [{ id: 'untyped', role: 'assistant', content: 'hi', metadata: { other: true } }]);
      await expect(typed.get(t, 'untyped')).rejects.toBeInstanceOf(StoredObjectInvalidError);
    });

    it('refuses hostile input with a ValidationError and writes nothing', async () => {
      const t = await newThread();
      const refused = async (call: () => Promise<unknown>) => expect(call()).rejects.toBeInstanceOf(ValidationError);
      await refused(() => messages.append(t, [{ id: 'a\u0000b', role: 'user', content: 'x' }]));
      await refused(() => messages.append(t, [{ id: '', role: 'user', content: 'x' }]));
      await refused(() => messages.append(t, [{ role: 'root' as never, content: 'x' }]));
      await refused(() => messages.append(t, [{ role: 'user', content: 'nul \u0000 inside' }]));
      await refused(() => messages.append(t, [{ role: 'user', content: 'lone \uD800 surrogate' }]));
      await refused(() => messages.append(t, [{ role: 'user', parts: [{ text: 'no type' }] }]));
      await refused(() => messages.append(t, [{ role: 'user', parts: ['text' as never] }]));
      await refused(() => messages.append(t, [{ role: 'user', parts: [JSON.parse('{"type":"text","__proto__":{"polluted":true}}') as never] }]));
      await refused(() => messages.append(t, [{ role: 'user', parts: [{ type: 'data', data: { n: Number.NaN } }] }]));
      await refused(() => messages.append(t, [{ id: 'twice', role: 'user' }, { id: 'twice', role: 'user' }]));
      await refused(() => messages.append(t, Array.from({ length: 1001 }, () => ({ role: 'user' as const }))));
      await refused(() => messages.append(t, [{ role: 'user', extra: 1 } as never]));
      await refused(() => messages.list(t, { limit: 0 }));
      await refused(() => messages.list('bad\u0000thread'));
      await refused(() => messages.update(t, 'x', { parts: 'no' as never }));
      expect(await messages.count(t)).toBe(0);
      // SQL-looking ids are stored literally.
      const [literal] = await messages.append(t, [{ id: "'; DROP TABLE messages; --", role: 'user', content: 'ok' }]);
      expect((await messages.get(t, literal!.id))!.content).toBe('ok');
    });
  });
}
