// Transactions across objects and the checkpointer's tables, snapshots (point in time, exact round
// trip), and the class-based style, against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import {
  createObjectStore,
  ObjectsError,
  SnapshotConflictError,
  VersionConflictError,
  type ObjectSnapshot,
  type ObjectStore,
} from '../src/index.js';

const Account = z.object({ owner: z.string(), balance: z.number().int().nonnegative() });

let db: CairnDb;
let other: CairnDb;
let store: ObjectStore;

beforeAll(async () => {
  [db, other] = await Promise.all([createTestDb(), createTestDb()]);
  store = createObjectStore(db);
});

afterAll(async () => {
  await store.close();
  await Promise.all([db.close(), other.close()]);
});

async function insertCheckpoint(client: { query: (text: string, values: unknown[]) => Promise<unknown> }, tenantId: string, threadId: string, checkpointId: string) {
  await client.query(`INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_id, state) VALUES ($1, $2, $3, '\\x7b7d')`, [tenantId, threadId, checkpointId]);
}

describe('store.transaction', () => {
  it('commits writes to several objects and to the checkpoint tables together', async () => {
    const accounts = store.collection('Account', Account);
    await accounts.save('alice', { owner: 'Alice', balance: 100 });
    await accounts.save('bob', { owner: 'Bob', balance: 0 });
    await store.transaction(async (tx) => {
      const a = tx.collection(accounts);
      await a.update('alice', (d) => ({ ...d, balance: d.balance - 30 }));
      await a.update('bob', (d) => ({ ...d, balance: d.balance + 30 }));
      await insertCheckpoint(tx, 'default', 'thread-tx', 'cp-1');
    });
    expect((await accounts.get('alice')).data.balance).toBe(70);
    expect((await accounts.get('bob')).data.balance).toBe(30);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM checkpoints WHERE tenant_id = 'default' AND thread_id = 'thread-tx'`);
    expect(rows[0]?.n).toBe(1);
  });

  it('rolls everything back, history and checkpoints included, when the callback throws', async () => {
    const accounts = store.collection('Account', Account);
    const before = await accounts.get('alice');
    const error = await store
      .transaction(async (tx) => {
        const a = tx.collection(accounts);
        await a.update('alice', (d) => ({ ...d, balance: d.balance - 10 }));
        await a.save('carol', { owner: 'Carol', balance: 10 });
        await insertCheckpoint(tx, 'default', 'thread-rollback', 'cp-1');
        // Overdraft: the schema refuses a negative balance, so the whole transfer is undone.
        await a.update('bob', (d) => ({ ...d, balance: d.balance - 1000 }));
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(await accounts.get('alice')).toEqual(before);
    expect(await accounts.exists('carol')).toBe(false);
    expect((await accounts.versions('alice')).length).toBe(before.version);
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM checkpoints WHERE thread_id = 'thread-rollback'`);
    expect(rows[0]?.n).toBe(0);
  });

  it('serialises concurrent read-modify-write transactions on the same object with row locks', async () => {
    const accounts = store.collection('Account', Account);
    await accounts.save('shared', { owner: 'S', balance: 0 });
    await Promise.all(
      Array.from({ length: 8 }, () =>
        store.transaction(async (tx) => {
          await tx.collection(accounts).update('shared', (d) => ({ ...d, balance: d.balance + 1 }), { maxAttempts: 1 });
        }),
      ),
    );
    expect((await accounts.get('shared')).data.balance).toBe(8);
  });

  it('refuses to run a bound collection after its transaction ended', async () => {
    const accounts = store.collection('Account', Account);
    const bound = await store.transaction(async (tx) => tx.collection(accounts));
    await expect(bound.load('alice')).rejects.toMatchObject({ code: 'TRANSACTION_CLOSED' });
    await expect(bound.save('alice', { owner: 'A', balance: 1 })).rejects.toBeInstanceOf(ObjectsError);
  });

  it('raises VersionConflictError inside a transaction without retrying when expectedVersion is stale', async () => {
    const accounts = store.collection('Account', Account);
    const current = await accounts.get('bob');
    await expect(
      store.transaction(async (tx) => {
        await tx.collection(accounts).save('bob', { owner: 'Bob', balance: 1 }, { expectedVersion: current.version - 1 });
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
  });
});

describe('snapshots', () => {
  it('exports a consistent point in time while writes continue, and round-trips exactly into another database and tenant', async () => {
    const source = store.forTenant('snap-source');
    const notes = source.collection('Note', z.object({ text: z.string(), n: z.number() }));
    const tasks = source.collection('Task', z.object({ done: z.boolean() }));
    for (let i = 0; i < 25; i++) await notes.save(`n${String(i).padStart(2, '0')}`, { text: `note ${i}`, n: i });
    await notes.update('n03', (d) => ({ ...d, text: 'edited' }));
    await tasks.save('t1', { done: false });
    await tasks.patch('t1', [{ op: 'replace', path: '/done', value: true }]);

    const accounts = source.collection('Account', Account);
    await accounts.save('acc-a', { owner: 'A', balance: 100 });
    await accounts.save('acc-b', { owner: 'B', balance: 0 });

    // Writers keep going while the export runs: transfers between two accounts (the sum stays 100)
    // and edits of the notes. A point-in-time export never mixes before and after.
    let writing = true;
    const writers = [
      (async () => {
        for (let i = 0; writing; i++) {
          await source.transaction(async (tx) => {
            const a = tx.collection(accounts);
            const [from, to] = i % 2 === 0 ? ['acc-a', 'acc-b'] : ['acc-b', 'acc-a'];
            const moved = (await a.get(from)).data.balance;
            await a.update(from, (d) => ({ ...d, balance: d.balance - moved }));
            await a.update(to, (d) => ({ ...d, balance: d.balance + moved }));
          });
        }
      })(),
      (async () => {
        for (let i = 0; writing; i++) await notes.update(`n${String(i % 25).padStart(2, '0')}`, (d) => ({ ...d, n: d.n + 100 }));
      })(),
    ];
    await new Promise((resolve) => setTimeout(resolve, 20));
    const snapshot = await source.exportSnapshot();
    writing = false;
    await Promise.all(writers);
    const balances = snapshot.objects.filter((o) => o.type === 'Account').map((o) => (o.data as { balance: number }).balance);
    expect(balances.reduce((a, b) => a + b, 0)).toBe(100);
    for (const object of snapshot.objects) {
      expect(object.history!.map((h) => h.version)).toEqual(Array.from({ length: object.version }, (_, i) => i + 1));
      expect(object.history!.at(-1)!.data).toEqual(object.data);
    }

    const expectedIds = snapshot.objects.map((o) => `${o.type}/${o.id}`);
    expect(expectedIds).toEqual([...expectedIds].sort());
    const n03 = snapshot.objects.find((o) => o.id === 'n03')!;
    expect(n03.history!.slice(0, 2).map((h) => [h.version, h.operation])).toEqual([
      [1, 'save'],
      [2, 'update'],
    ]);

    const target = createObjectStore(other, { tenantId: 'snap-target' });
    const roundTripped = JSON.parse(JSON.stringify(snapshot)) as ObjectSnapshot;
    const result = await target.importSnapshot(roundTripped);
    expect(result).toEqual({ imported: snapshot.objects.length, skipped: 0, versions: snapshot.objects.reduce((s, o) => s + o.history!.length, 0) });
    const again = await target.exportSnapshot();
    expect({ ...again, takenAt: '', tenantId: '' }).toEqual({ ...snapshot, takenAt: '', tenantId: '' });
    // The imported objects are live objects: typed reads, history and further versions work.
    const imported = target.collection('Note', z.object({ text: z.string(), n: z.number() }));
    expect((await imported.get('n03')).version).toBe(n03.version);
    expect((await imported.save('n03', { text: 'after import', n: 3 })).version).toBe(n03.version + 1);
    await target.close();
  });

  it('exports selected types, and imports with onConflict error, skip or overwrite', async () => {
    const source = store.forTenant('snap-types');
    await source.collection('A', z.object({ v: z.number() })).save('x', { v: 1 });
    await source.collection('B', z.object({ v: z.number() })).save('y', { v: 2 });
    const onlyA = await source.exportSnapshot({ types: ['A'], includeHistory: false });
    expect(onlyA.objects.map((o) => o.type)).toEqual(['A']);
    expect(onlyA.objects[0]!.history).toBeUndefined();

    const target = store.forTenant('snap-types-target');
    expect(await target.importSnapshot(onlyA)).toEqual({ imported: 1, skipped: 0, versions: 1 });
    const a = target.collection('A', z.object({ v: z.number() }));
    expect((await a.versions('x')).map((v) => v.operation)).toEqual(['import']);
    await a.save('x', { v: 99 });
    await expect(target.importSnapshot(onlyA)).rejects.toBeInstanceOf(SnapshotConflictError);
    expect(await target.importSnapshot(onlyA, { onConflict: 'skip' })).toEqual({ imported: 0, skipped: 1, versions: 0 });
    expect((await a.get('x')).data.v).toBe(99);
    expect(await target.importSnapshot(onlyA, { onConflict: 'overwrite' })).toEqual({ imported: 1, skipped: 0, versions: 1 });
    expect(await a.get('x')).toMatchObject({ version: 1, data: { v: 1 } });
  });

  it('refuses a malformed snapshot before writing anything', async () => {
    const target = store.forTenant('snap-bad');
    const snapshot = await store.forTenant('snap-types').exportSnapshot();
    const duplicated = { ...snapshot, objects: [...snapshot.objects, snapshot.objects[0]!] };
    await expect(target.importSnapshot(duplicated)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(target.importSnapshot({ ...snapshot, format: 'other' } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    const hostile = { ...snapshot, objects: [{ ...snapshot.objects[0]!, type: "A'; DROP TABLE objects; --" }] };
    await expect(target.importSnapshot(hostile)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await target.exportSnapshot()).objects).toEqual([]);
  });
});

describe('the class-based style', () => {
  const CartData = z.object({ owner: z.string(), items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })) });
  type CartData = z.infer<typeof CartData>;

  class Cart {
    constructor(
      readonly id: string,
      readonly owner: string,
      private items: Map<string, number> = new Map(),
    ) {}

    add(sku: string, qty = 1): void {
      this.items.set(sku, (this.items.get(sku) ?? 0) + qty);
    }

    get size(): number {
      return [...this.items.values()].reduce((a, b) => a + b, 0);
    }

    toData(): CartData {
      return { owner: this.owner, items: [...this.items].map(([sku, qty]) => ({ sku, qty })) };
    }

    static fromData(data: CartData, id: string): Cart {
      return new Cart(id, data.owner, new Map(data.items.map((i) => [i.sku, i.qty])));
    }
  }

  it('saves instances with toData(), loads them back through fromData(), by type and id', async () => {
    const carts = store.entities('Cart', Cart, CartData);
    const cart = new Cart('cart-1', 'ada');
    cart.add('apple', 2);
    cart.add('pear');
    await carts.save(cart);
    const loaded = await carts.get('cart-1');
    expect(loaded).toBeInstanceOf(Cart);
    expect(loaded.size).toBe(3);
    expect(carts.versionOf(loaded)).toBe(1);
    expect(await carts.load('nope')).toBeNull();
    const page = await carts.find({ where: { owner: 'ada' } });
    expect(page.items.map((c) => c.id)).toEqual(['cart-1']);
  });

  it('saves a loaded instance at the version it was loaded at (optimistic locking)', async () => {
    const carts = store.entities('Cart', Cart, CartData);
    const first = await carts.get('cart-1');
    const second = await carts.get('cart-1');
    first.add('plum');
    await carts.save(first);
    second.add('kiwi');
    await expect(carts.save(second)).rejects.toBeInstanceOf(VersionConflictError);
    const updated = await carts.update('cart-1', (c) => c.add('kiwi'));
    expect(updated.size).toBe(5);
    expect(carts.versionOf(updated)).toBe(3);
    // Deleting a stale instance is refused too; deleting by id is not conditional.
    await expect(carts.delete(second)).rejects.toBeInstanceOf(VersionConflictError);
    expect(await carts.delete('cart-1')).toBe(true);
  });

  it('rejects an instance whose data breaks the schema', async () => {
    const carts = store.entities('Cart', Cart, CartData);
    const bad = new Cart('cart-bad', 'x');
    bad.add('zero', 0);
    await expect(carts.save(bad)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
